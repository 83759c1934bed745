"""The soak's handler (tests/soak): event {"i": N, "do": ACTION, "pad": TEXT}."""
import sys
import zlib


def handler(event, context):
    action = event["do"]
    i = event["i"]
    if action == "ok":
        if i % 100 == 0:
            print("soak: invocation", i)
        return {"i": i, "len": len(event["pad"]), "crc": zlib.crc32(event["pad"].encode()),
                "request_id": context.aws_request_id}
    if action == "raise":
        raise ValueError("soak failure %d" % i)
    if action == "marshal":
        return {"i": i, "set": {1, 2}}
    if action == "too_big":
        return "b" * (7 * 1024 * 1024)
    if action == "exit":
        sys.exit(2)
    raise KeyError(action)
