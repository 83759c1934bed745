# syntax=docker/dockerfile:1
#
# The release zips, built by the same make target as on a Debian 12 machine (`make dist`: zig cc
# at glibc 2.26, both CPUs from one x86_64 host, CPython and the stdlib's libraries from Debian's
# source packages), then served by the Lambda Runtime Interface Emulator inside the Lambda base
# image they are for. NOT RUN by this project: its machines have no Docker engine. What is tested
# is the Docker-free path: `make dist` then `make check-dist` (doctor, readelf scan, integration
# suite, and a run under an older real glibc: README "Supported matrix").
#
#   docker build --target dist --output type=local,dest=dist .               # dist/*.zip
#   docker build --target check --platform linux/amd64 --build-arg IMAGE=al2 --build-arg PYTHON=3.9 .
#   docker build --target check --platform linux/arm64 --build-arg IMAGE=al2023 --build-arg PYTHON=3.14 .
#
# The build stage needs the network (apt, PyPI) and, for the arm64 layer checks that run arm64
# code under qemu-user, a binfmt_misc registration the container can use (scripts/qemu-arm64.sh
# registers one itself on a Debian machine; inside Docker, register it on the host, e.g. with
# `docker run --privileged --rm tonistiigi/binfmt --install arm64`). A cold build takes as long
# as `make dist` on a fresh machine (README: "Supported matrix").

ARG IMAGE=al2023

FROM --platform=linux/amd64 debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends make ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make dist

FROM scratch AS dist
COPY --from=build /src/dist/ /

# One runtime zip unpacked as Lambda unpacks a layer, the old-glibc run's handler as the function.
FROM build AS unpacked
ARG PYTHON=3.14
ARG TARGETARCH
RUN set -eux; arch=$([ "$TARGETARCH" = arm64 ] && echo arm64 || echo x86_64); \
    mkdir -p /check/opt /check/task/tls; \
    unzip -q "dist/runtime-py$PYTHON-$arch.zip" -d /check/opt; \
    cp tests/dist/functions/*.py tests/dist/image-check.sh /check/task/; \
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
      -addext subjectAltName=DNS:localhost -keyout /check/task/tls/key.pem -out /check/task/tls/cert.pem

FROM public.ecr.aws/lambda/provided:${IMAGE} AS check
ARG IMAGE
ARG PYTHON=3.14
COPY --from=unpacked /check/opt/ /opt/
COPY --from=unpacked /check/task/ /var/task/
RUN bash /var/task/image-check.sh "$PYTHON" "$([ "$IMAGE" = al2 ] && echo 2.26 || echo 2.34)"
