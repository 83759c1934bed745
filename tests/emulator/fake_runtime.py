#!/usr/bin/env python3
"""A tiny Lambda runtime for the emulator's own tests (standard library only).

Usage (as the emulator runs it): fake_runtime.py BEHAVIOUR
BEHAVIOUR (also _HANDLER) sets what happens at init and the default per event:

  at init:   init_error   POST /runtime/init/error, then exit 1
             init_crash   exit 2 before the first /next
             init_hang    sleep 60 s before the first /next
             manual       never talk to the Runtime API (the test drives it)
             anything else: loop on /next

  per event: the event's JSON {"do": ACTION, ...} wins over BEHAVIOUR.
    echo                      respond with the event bytes and its Content-Type
    headers                   respond with {"headers": /next headers, "env": env}
    error                     POST /error; "error_type" = header, "message"
    sleep      seconds        sleep, then echo
    exit       code           exit mid-invoke
    signal     signo          kill itself with a signal mid-invoke
    respond_then_exit code    post the response, then exit
    huge       size           respond with `size` bytes; answer with the status
                              of that POST on the next event if "exit" is not set
    chunked                   respond with a chunked (Transfer-Encoding) body
    slow_next  seconds        respond, then wait before the next /next
    last_post                 respond with the status/body of the previous POST
    stream     parts, delay, content_type, error_type, error_body
                              a streaming response (raw chunked POST): the parts
                              `delay` s apart, then the error trailers if given
    stream_die parts          stream the parts, then exit 1 mid-body

FAKE_MARKER=<file>: append "start <pid>" to it at process start.
FAKE_IGNORE_TERM=1: ignore SIGTERM (to see the emulator's SIGKILL fallback).
"""

import http.client
import json
import os
import signal
import socket
import sys
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BEHAVIOUR = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER", "echo")
BASE = "/2018-06-01/runtime"

host, _, port = API.rpartition(":")
conn = http.client.HTTPConnection(host, int(port), timeout=600)
last_post = {"status": None, "body": None}


def call(method, path, body=None, headers=None, chunked=False):
    conn.request(method, BASE + path, body=body, headers=headers or {}, encode_chunked=chunked)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def post(path, body, headers=None, chunked=False):
    status, _, data = call("POST", path, body, headers, chunked)
    last_post["status"] = status
    last_post["body"] = data.decode("utf-8", "replace")
    return status


def stream_post(rid, parts, delay=0.0, ctype="text/plain", trailers=None, die=False):
    """A streaming response, written by hand: http.client cannot send trailers."""
    sock = socket.create_connection((host, int(port)))
    head = ("POST %s/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
            "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
            "Transfer-Encoding: chunked\r\nContent-Type: %s\r\n" % (BASE, rid, API, ctype))
    if trailers:
        head += "Trailer: %s\r\n" % ", ".join(trailers)
    sock.sendall((head + "\r\n").encode())
    for i, part in enumerate(parts):
        if i and delay:
            time.sleep(delay)
        data = part.encode()
        sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
    if die:
        time.sleep(0.1)
        os._exit(1)
    tail = "0\r\n" + "".join("%s: %s\r\n" % kv for kv in (trailers or {}).items()) + "\r\n"
    sock.sendall(tail.encode())
    reply = sock.makefile("rb")
    status = int(reply.readline().split()[1])
    length = 0
    while True:
        line = reply.readline().strip()
        if not line:
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    last_post["status"] = status
    last_post["body"] = reply.read(length).decode()
    sock.close()


def main():
    if os.environ.get("FAKE_IGNORE_TERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    marker = os.environ.get("FAKE_MARKER")
    if marker:
        with open(marker, "a") as f:
            f.write("start %d\n" % os.getpid())
    if BEHAVIOUR == "manual":
        while True:
            time.sleep(60)
    if BEHAVIOUR == "init_error":
        body = json.dumps({"errorMessage": "Unable to import module 'app'", "errorType":
                           "Runtime.ImportModuleError", "requestId": "", "stackTrace": []})
        post("/init/error", body, {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError",
                                   "Content-Type": "application/json"})
        sys.exit(1)
    if BEHAVIOUR == "init_hang":
        time.sleep(60)
    if BEHAVIOUR == "init_crash":
        print("fake runtime: crashing during init", file=sys.stderr, flush=True)
        sys.exit(2)

    while True:
        status, headers, event = call("GET", "/invocation/next")
        if status != 200:
            print("fake runtime: /next returned %d" % status, file=sys.stderr, flush=True)
            sys.exit(3)
        rid = headers["lambda-runtime-aws-request-id"]
        try:
            doc = json.loads(event)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            doc = {}
        action = doc.get("do", BEHAVIOUR)
        respond = "/invocation/%s/response" % rid
        ctype = headers.get("content-type", "application/json")

        if action == "echo":
            post(respond, event, {"Content-Type": ctype})
        elif action == "headers":
            post(respond, json.dumps({"headers": headers, "env": dict(os.environ)}),
                 {"Content-Type": "application/json"})
        elif action == "error":
            body = json.dumps({"errorMessage": doc.get("message", "boom"), "errorType": "ValueError",
                               "requestId": rid, "stackTrace": []})
            hdrs = {"Content-Type": doc.get("content_type", "application/json")}
            if "error_type" in doc:
                hdrs["Lambda-Runtime-Function-Error-Type"] = doc["error_type"]
            post("/invocation/%s/error" % rid, doc.get("raw_body", body), hdrs)
        elif action == "sleep":
            time.sleep(float(doc.get("seconds", 1)))
            post(respond, event, {"Content-Type": ctype})
        elif action == "exit":
            sys.stdout.flush()
            os._exit(int(doc.get("code", 1)))
        elif action == "signal":
            os.kill(os.getpid(), int(doc.get("signo", signal.SIGKILL)))
            time.sleep(5)
        elif action == "respond_then_exit":
            post(respond, event, {"Content-Type": ctype})
            os._exit(int(doc.get("code", 0)))
        elif action == "huge":
            status = post(respond, b"x" * int(doc["size"]), {"Content-Type": "application/octet-stream"})
            if status != 202 and doc.get("exit"):
                sys.exit(1)
        elif action == "chunked":
            parts = [p.encode() for p in doc.get("parts", ["a", "b", "c"])]
            post(respond, iter(parts), {"Content-Type": "text/plain"}, chunked=True)
        elif action == "slow_next":
            post(respond, event, {"Content-Type": ctype})
            time.sleep(float(doc.get("seconds", 1)))
        elif action in ("stream", "stream_die"):
            trailers = {}
            if "error_type" in doc:
                trailers["Lambda-Runtime-Function-Error-Type"] = doc["error_type"]
                trailers["Lambda-Runtime-Function-Error-Body"] = doc.get("error_body", "")
            stream_post(rid, doc.get("parts", ["a", "b", "c"]), float(doc.get("delay", 0)),
                        doc.get("content_type", "text/plain"), trailers, die=action == "stream_die")
        elif action == "last_post":
            post(respond, json.dumps(last_post), {"Content-Type": "application/json"})
        else:
            post("/invocation/%s/error" % rid, json.dumps({"errorMessage": "unknown action %r" % action,
                                                         "errorType": "FakeRuntimeError"}),
                 {"Lambda-Runtime-Function-Error-Type": "Runtime.UnknownAction"})


if __name__ == "__main__":
    main()
