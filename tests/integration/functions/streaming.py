"""Handlers that stream their response by returning an iterator (a generator)."""
import os
import time


def _vm_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ticks(event, context):
    """`count` chunks `interval` seconds apart, each with the time it was produced."""
    context.set_stream_content_type("text/plain; charset=utf-8")
    for i in range(event.get("count", 3)):
        if i:
            time.sleep(event.get("interval", 0.3))
        yield "tick %d %.6f\n" % (i, time.time())


def big(event, context):
    """`mb` MiB in `chunk_kb` KiB chunks; every `report_every` MiB, the process's VmRSS goes to
    the log, so a test can see that the runtime does not hold on to what it sent."""
    chunk = os.urandom(1024) * event.get("chunk_kb", 64)
    total = event.get("mb", 50) * 1024 * 1024
    every = event.get("report_every", 5) * 1024 * 1024
    sent = 0
    print("rss-start %d" % _vm_rss_kb(), flush=True)
    while sent < total:
        yield chunk
        sent += len(chunk)
        if sent % every < len(chunk):
            print("rss %d %d" % (sent, _vm_rss_kb()), flush=True)
    print("rss-end %d" % _vm_rss_kb(), flush=True)


def fails_midway(event, context):
    yield b"first part\n"
    yield "second part\n"
    raise ValueError("the source went away after two chunks")


def fails_before_first_chunk(event, context):
    raise KeyError("nothing to stream")
    yield b"never"  # noqa: unreachable - makes this a generator


def bad_chunk(event, context):
    yield b"ok\n"
    yield {"not": "bytes"}


def exits_midway(event, context):
    yield b"before exit\n"
    raise SystemExit(3)


def http_response(event, context):
    context.set_stream_http_response(
        status_code=201,
        headers={"Content-Type": "text/html", "X-Custom": "yes"},
        cookies=["session=abc; Secure", "theme=dark"],
    )
    yield "<html><body>"
    yield "<p>streamed</p>"
    yield "</body></html>"


def http_default(event, context):
    context.set_stream_content_type("text/csv")
    context.set_stream_http_response()
    yield "a,b\n1,2\n"


def late_content_type(event, context):
    yield b"x"
    context.set_stream_content_type("text/plain")


def empty(event, context):
    return iter(())


def returns_iterator(event, context):
    return iter([b"a", "b", bytearray(b"c"), b"", memoryview(b"d")])


def plain_values(event, context):
    """Never streams: whatever `kind` names is returned as is."""
    return {"str": "text", "bytes": b"raw", "dict": {"a": 1}, "list": [1, 2], "tuple": (1, 2)}[event["kind"]]


def closes(event, context):
    """Records whether the generator was closed (its finally ran)."""
    try:
        for i in range(event.get("count", 1000000)):
            yield b"%d\n" % i
    finally:
        print("generator closed", flush=True)
