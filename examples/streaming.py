"""Response streaming: a handler that returns a generator (or any iterator) of str or bytes has
each piece sent to the caller as soon as it is yielded, instead of one buffered response.

    make run RUN_HANDLER=streaming.handler
    curl -N http://127.0.0.1:9000/2015-03-31/functions/function/invocations -d '{"count": 5}'

A result that is a str, bytes, dict or list is never streamed: returning one works as always.
"""
import time


def handler(event, context):
    """A plain stream (InvokeWithResponseStream, or a Function URL without HTTP metadata):
    a line every half second."""
    count = event.get("count", 5) if isinstance(event, dict) else 5
    context.set_stream_content_type("text/plain; charset=utf-8")  # default: application/octet-stream
    for i in range(count):
        if i:
            time.sleep(0.5)  # stands in for real work: a query, a model producing tokens, ...
        yield f"line {i + 1} of {count} ({context.get_remaining_time_in_millis()} ms left)\n"


def http_handler(event, context):
    """For a Function URL in RESPONSE_STREAM mode: status, headers and cookies first, then the
    body as it is produced."""
    context.set_stream_http_response(
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
        cookies=["visited=1; Path=/; Secure"],
    )
    yield "<!doctype html><title>streamed</title><ul>"
    for i in range(3):
        time.sleep(0.5)
        yield f"<li>item {i + 1}</li>"
    yield "</ul>"


def failing_handler(event, context):
    """An exception after the first bytes cannot change the status any more: the caller gets
    what was sent and the error in the trailers (X-Amz-Function-Error-Type / -Body)."""
    yield "partial output\n"
    raise RuntimeError("the data source went away")
