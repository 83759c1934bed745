#!/usr/bin/env python3
"""A tiny Lambda extension for the emulator's tests (standard library only).

Usage: fake_extension.py NAME. It registers as NAME for FAKE_EXT_EVENTS (default
"INVOKE,SHUTDOWN") and appends every event it gets, as a JSON line, to
FAKE_EXT_LOG. It exits 0 after SHUTDOWN.
FAKE_EXT_SLOW=<s>: take that long after each INVOKE before asking for the next event.
FAKE_EXT_CRASH=1: exit 1 at once, without registering.
"""

import http.client
import json
import os
import sys
import time

NAME = sys.argv[1]
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
LOG = os.environ.get("FAKE_EXT_LOG")


def record(doc):
    if LOG:
        with open(LOG, "a") as f:
            f.write(json.dumps(doc) + "\n")


def main():
    if os.environ.get("FAKE_EXT_CRASH"):
        sys.exit(1)
    host, _, port = API.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=600)
    events = [e for e in os.environ.get("FAKE_EXT_EVENTS", "INVOKE,SHUTDOWN").split(",") if e]
    conn.request("POST", "/2020-01-01/extension/register", body=json.dumps({"events": events}),
                 headers={"Lambda-Extension-Name": NAME})
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    if resp.status != 200:
        record({"register_failed": resp.status, "answer": answer})
        sys.exit(2)
    ext_id = resp.getheader("Lambda-Extension-Identifier")
    record({"registered": NAME, "answer": answer})
    while True:
        conn.request("GET", "/2020-01-01/extension/event/next",
                     headers={"Lambda-Extension-Identifier": ext_id})
        resp = conn.getresponse()
        event = json.loads(resp.read())
        record(event)
        if event.get("eventType") == "SHUTDOWN":
            sys.exit(0)
        time.sleep(float(os.environ.get("FAKE_EXT_SLOW", "0")))


if __name__ == "__main__":
    main()
