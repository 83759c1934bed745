#!/bin/bash
# tests/dist/image-check.sh PYTHON GLIBC: run inside a Lambda base image (Dockerfile, stage `check`;
# NOT RUN by this project, which has no Docker engine), with a release zip unpacked in /opt and
# tests/dist/functions in /var/task. Starts the image's Runtime Interface Emulator on /opt/bootstrap
# with stdlib_check.handler (tests/dist/test_oldglibc.py's handler), invokes it once, and checks
# that it answered from Python PYTHON on the image's own glibc (GLIBC: 2.26 on al2, 2.34 on al2023).
# bash's /dev/tcp does the HTTP request: the base images have no curl we can count on.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PYTHON GLIBC" >&2; exit 2; }
python=$1 glibc=$2
/usr/local/bin/aws-lambda-rie /opt/bootstrap stdlib_check.handler &
rie=$!
trap 'kill "$rie" 2>/dev/null || true' EXIT
body='{"cert": "/var/task/tls/cert.pem", "key": "/var/task/tls/key.pem"}'
for _ in $(seq 100); do
  if exec 3<>/dev/tcp/127.0.0.1/8080; then break; fi 2>/dev/null
  sleep 0.1
done
printf 'POST /2015-03-31/functions/function/invocations HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
  "${#body}" "$body" >&3
response=$(cat <&3)
echo "$response"
grep -q "\"glibc\": \"glibc $glibc\"" <<<"$response" || { echo "image-check: not served on glibc $glibc" >&2; exit 1; }
grep -q "\"python\": \"$python\"" <<<"$response" || { echo "image-check: not Python $python" >&2; exit 1; }
grep -q '"answer": "pong"' <<<"$response" || { echo "image-check: no TLS round trip" >&2; exit 1; }
echo "image-check: Python $python served on glibc $glibc"
