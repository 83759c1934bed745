"""Response streaming: a handler that returns an iterator has its chunks sent as they come,
through the emulator to the invoke client, with error trailers and the HTTP-integration form."""

import base64
import json
import socket
import threading
import time

import pytest

from conftest import TIME_SCALE

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"


class Streamed:
    """A streamed answer as the client saw it: each piece of body with its arrival time."""

    def __init__(self):
        self.status = None
        self.headers = {}
        self.pieces = []  # (monotonic-free wall time, bytes)
        self.trailers = {}

    @property
    def body(self):
        return b"".join(data for _, data in self.pieces)

    def error_document(self):
        return json.loads(base64.b64decode(self.trailers["x-amz-function-error-body"]))


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed mid-answer")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n, on_piece=None):
        """n bytes; on_piece(bytes) sees them as they arrive."""
        out = []
        while n:
            if not self.buf:
                self.fill()
            take, self.buf = self.buf[:n], self.buf[n:]
            n -= len(take)
            if on_piece:
                on_piece(take)
            else:
                out.append(take)
        return b"".join(out)


def _read_fields(r, into):
    """Header (or trailer) lines up to the empty line, lower-cased names."""
    while True:
        line = r.line()
        if not line:
            return
        name, _, value = line.decode("latin-1").partition(":")
        into[name.strip().lower()] = value.strip()


def stream_invoke(port, payload=None, pause_after=None, pause=0.0, during_pause=None, timeout=60):
    """POSTs an invoke and reads the chunked answer by hand (http.client drops trailers).
    With pause_after=N, stops reading for `pause` seconds once N bytes of body have arrived
    (a slow reader) and calls during_pause() meanwhile."""
    result = Streamed()
    body = json.dumps(payload or {}).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout * TIME_SCALE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # keep the slow reader's buffer small
    try:
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (INVOKE_PATH.encode(), len(body), body))
        r = _Reader(sock)
        result.status = int(r.line().split()[1])
        _read_fields(r, result.headers)
        if "chunked" not in result.headers.get("transfer-encoding", ""):
            length = int(result.headers.get("content-length", 0))
            result.pieces.append((time.time(), r.exactly(length)))
            return result
        state = {"received": 0, "paused": pause_after is None}

        def on_piece(data):
            result.pieces.append((time.time(), data))
            state["received"] += len(data)
            if not state["paused"] and state["received"] >= pause_after:
                state["paused"] = True
                if during_pause:
                    during_pause()
                time.sleep(pause)

        while True:
            size = int(r.line().split(b";")[0], 16)
            if size == 0:
                break
            r.exactly(size, on_piece)
            r.exactly(2)
        _read_fields(r, result.trailers)
        return result
    finally:
        sock.close()


def _get_json(port, path):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * TIME_SCALE)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def test_chunks_reach_the_client_before_the_handler_finishes(function):
    fn = function("streaming.ticks")
    interval = 0.4 * TIME_SCALE
    got = stream_invoke(fn.port, {"count": 4, "interval": interval})
    assert got.status == 200
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    assert got.headers["x-amz-function-response-mode"] == "streaming"
    assert not got.trailers
    # Each line says when the handler produced it; the client's clock is the same clock.
    arrivals = {}
    text = b""
    for when, data in got.pieces:
        text += data
        while b"\n" in text:
            line, text = text.split(b"\n", 1)
            _, index, produced = line.split()
            arrivals[int(index)] = (float(produced), when)
    assert sorted(arrivals) == [0, 1, 2, 3]
    last_produced = arrivals[3][0]
    for index in range(3):
        produced, arrived = arrivals[index]
        assert arrived < last_produced, (index, arrivals)
        assert arrived - produced < interval, (index, arrivals)


def test_50_mb_stream_keeps_the_runtime_rss_flat_with_a_slow_reader(function):
    fn = function("streaming.big")
    fn.invoke({"mb": 1, "report_every": 1})  # warm: the generator code and buffers exist once
    pid = _get_json(fn.port, "/_emulator/status")["runtime"]["pid"]
    before = vm_rss_kb(pid)
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                samples.append(vm_rss_kb(pid))
            except (OSError, AssertionError):
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    seen_at_pause = {}

    def during_pause():
        time.sleep(1.0 * TIME_SCALE)  # let the producer run into the back-pressure
        seen_at_pause["log"] = fn.output()
        seen_at_pause["rss"] = vm_rss_kb(pid)

    try:
        got = stream_invoke(fn.port, {"mb": 50, "chunk_kb": 64, "report_every": 1},
                            pause_after=2 * 1024 * 1024, pause=0.5 * TIME_SCALE, during_pause=during_pause,
                            timeout=120)
    finally:
        stop.set()
        sampler.join()
    after = vm_rss_kb(pid)
    assert got.status == 200 and not got.trailers, got.trailers
    assert len(got.body) == 50 * 1024 * 1024
    # While the reader stood still, the generator was held back: it had produced nowhere near
    # the 50 MB (what sits in the emulator's queue and the socket buffers is the rest).
    produced = [int(line.split()[1]) for line in seen_at_pause["log"].splitlines()
                if line.startswith("rss ") and len(line.split()) == 3]
    assert produced and produced[-1] < 40 * 1024 * 1024, produced[-5:]
    # The runtime's resident memory stays flat: a buffered response would add 50 MB.
    peak = max(samples + [seen_at_pause["rss"], after])
    assert peak - before < 10 * 1024, (before, peak, after)
    assert after - before < 10 * 1024, (before, after)


def test_error_mid_stream_is_reported_in_the_trailers(function):
    fn = function("streaming.fails_midway")
    got = stream_invoke(fn.port)
    assert got.status == 200
    assert got.body == b"first part\nsecond part\n"
    assert got.trailers["x-amz-function-error"] == "Unhandled"
    assert got.trailers["x-amz-function-error-type"] == "Function.ValueError"
    doc = got.error_document()
    assert doc["errorType"] == "ValueError"
    assert doc["errorMessage"] == "the source went away after two chunks"
    assert doc["requestId"] == got.headers["x-amzn-requestid"]
    assert any("streaming.py" in frame and "fails_midway" in frame for frame in doc["stackTrace"]), doc
    assert fn.wait_for_output("[ERROR] ValueError: the source went away after two chunks")
    # The process goes on.
    again = stream_invoke(fn.port)
    assert again.body == b"first part\nsecond part\n"
    assert _get_json(fn.port, "/_emulator/status")["inits"] == 1


def test_bad_chunk_type_is_a_mid_stream_type_error(function):
    fn = function("streaming.bad_chunk")
    got = stream_invoke(fn.port)
    assert got.body == b"ok\n"
    assert got.trailers["x-amz-function-error-type"] == "Function.TypeError"
    assert "not dict" in got.error_document()["errorMessage"]


def test_content_type_after_the_first_chunk_is_an_error(function):
    fn = function("streaming.late_content_type")
    got = stream_invoke(fn.port)
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.body == b"x"
    assert got.trailers["x-amz-function-error-type"] == "Function.RuntimeError"


def test_failure_before_the_first_chunk_is_an_ordinary_error(function):
    fn = function("streaming.fails_before_first_chunk")
    r = fn.invoke({})
    assert r.status == 200
    assert "x-amz-function-response-mode" not in r.headers
    assert r.headers["x-amz-function-error"] == "Unhandled"
    assert r.json()["errorType"] == "KeyError"
    assert r.json()["errorMessage"] == "'nothing to stream'"


def test_sys_exit_mid_stream_reports_and_exits(function):
    fn = function("streaming.exits_midway")
    got = stream_invoke(fn.port)
    assert got.body == b"before exit\n"
    assert got.trailers["x-amz-function-error-type"] == "Runtime.ExitError"
    assert "exit status 3" in got.error_document()["errorMessage"]
    got = stream_invoke(fn.port)  # a new runtime
    assert got.body == b"before exit\n"
    assert _get_json(fn.port, "/_emulator/status")["inits"] == 2


def test_http_integration_prelude(function):
    fn = function("streaming.http_response")
    got = stream_invoke(fn.port)
    assert got.status == 200 and not got.trailers
    assert got.headers["content-type"] == HTTP_INTEGRATION
    prelude, sep, body = got.body.partition(b"\0" * 8)
    assert sep and body == b"<html><body><p>streamed</p></body></html>"
    assert json.loads(prelude) == {
        "statusCode": 201,
        "headers": {"Content-Type": "text/html", "X-Custom": "yes"},
        "cookies": ["session=abc; Secure", "theme=dark"],
    }


def test_http_integration_defaults_take_the_stream_content_type(function):
    fn = function("streaming.http_default")
    got = stream_invoke(fn.port)
    assert got.headers["content-type"] == HTTP_INTEGRATION
    prelude, _, body = got.body.partition(b"\0" * 8)
    assert json.loads(prelude) == {"statusCode": 200, "headers": {"Content-Type": "text/csv"}, "cookies": []}
    assert body == b"a,b\n1,2\n"


def test_empty_and_mixed_iterators(function):
    fn = function("streaming.empty")
    got = stream_invoke(fn.port)
    assert got.headers["x-amz-function-response-mode"] == "streaming"
    assert got.body == b"" and not got.trailers
    fn = function("streaming.returns_iterator")
    got = stream_invoke(fn.port)
    assert got.body == b"abcd" and not got.trailers


@pytest.mark.parametrize("kind,body", [
    ("str", b'"text"'), ("bytes", b"raw"), ("dict", b'{"a": 1}'), ("list", b"[1, 2]"), ("tuple", b"[1, 2]"),
])
def test_plain_results_are_never_streamed(function, kind, body):
    fn = function("streaming.plain_values")
    r = fn.invoke({"kind": kind})
    assert r.status == 200
    assert "x-amz-function-response-mode" not in r.headers
    assert r.body == body


def test_stream_cut_short_by_the_platform_closes_the_generator(function):
    fn = function("streaming.closes", env={"EMULATOR_STREAMING_LIMIT": "100000"})
    got = stream_invoke(fn.port, {"count": 10_000_000})
    assert got.trailers["x-amz-function-error-type"] == "Function.ResponseSizeTooLarge"
    assert fn.wait_for_output("generator closed")
    assert fn.wait_for_output("the platform refused the result")
    got = stream_invoke(fn.port, {"count": 3})
    assert got.body == b"0\n1\n2\n" and not got.trailers
    assert _get_json(fn.port, "/_emulator/status")["inits"] == 1


@pytest.mark.rie
def test_streamed_body_arrives_whole(function):
    """The runtime side of streaming (Response-Mode: streaming, chunked, error trailers) against
    either emulator: the project's forwards the chunks as they come, AWS's RIE buffers them and
    answers once the stream ends (it has no client-side streaming); the body is the same."""
    f = function("streaming.ticks")
    r = f.invoke({"count": 3, "interval": 0.05})
    assert r.status == 200, r
    lines = r.body.decode().splitlines()
    assert [line.split()[:2] for line in lines] == [["tick", "0"], ["tick", "1"], ["tick", "2"]]
    # a stream that fails midway: what was sent arrives, and the runtime serves the next event
    f = function("streaming.fails_midway")
    r = f.invoke({})
    assert r.status == 200, r
    assert r.body == b"first part\nsecond part\n"
    assert f.wait_for_output("the source went away after two chunks")
    assert f.invoke({}).body == b"first part\nsecond part\n"
