"""The Lambda Runtime API, as RAPID serves it to the runtime."""

import base64
import json
import queue
import time

from .extensions_api import ExtensionsApiMixin
from .faults import UNDELIVERED
from .http_io import BadBody, BaseHandler, BodyReader
from .model import ApiError, DONE, Result, state_error
from .protocol import (
    DRAIN_LIMIT, ERROR_CAUSE_CT, EXT_EXIT_ERROR_PATH, EXT_INIT_ERROR_PATH, EXT_NEXT_PATH,
    EXT_REGISTER_PATH, INIT_ERROR_PATH, MAX_PAYLOAD, NEXT_PATH, POST_RE, STREAM_LINGER, STREAM_QUEUE,
    json_bytes, valid_error_type)


class RuntimeApiHandler(ExtensionsApiMixin, BaseHandler):
    """The Lambda Runtime API, as RAPID serves it to the runtime."""

    post_fault = None

    def do_GET(self):
        self.post_fault = None
        path = self.path_only()
        if path == NEXT_PATH:
            return self.api_next()
        if path == EXT_NEXT_PATH:
            return self.ext_next()
        self.not_found()

    def do_POST(self):
        self.post_fault = None
        path = self.path_only()
        match = POST_RE.fullmatch(path)
        if match:
            endpoint, handler = match.group(2), (self.api_response if match.group(2) == "response"
                                                 else self.api_error)
            args = (match.group(1),)
        elif path == INIT_ERROR_PATH:
            endpoint, handler, args = "init_error", self.api_init_error, ()
        elif path == EXT_REGISTER_PATH:
            return self.ext_register()
        elif path in (EXT_INIT_ERROR_PATH, EXT_EXIT_ERROR_PATH):
            return self.ext_error(path == EXT_INIT_ERROR_PATH)
        else:
            return self.not_found()
        fault = self.emulator.faults.take(endpoint)
        if fault is not None:
            if fault.kind == "reset":
                return self.reset_connection()
            if fault.kind == "reset_mid_body":
                self.read_part_of_body()
                return self.reset_connection()
            if fault.kind == "status" and not fault.process:
                self.drain()
                return self.reply(fault.status, fault.body)
            self.post_fault = fault  # status / delay / reset_after: applied to the reply
        handler(*args)

    def reply(self, status, body=b"", content_type="application/json", headers=()):
        fault, self.post_fault = self.post_fault, None
        if fault is not None:
            if fault.kind == "reset_after":  # the post counted; its answer is lost
                return self.reset_connection()
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "status":
                status, body, content_type = fault.status, fault.body, "application/json"
        super().reply(status, body, content_type, headers)

    def api_next(self):
        self.drain()
        sandbox = self.emulator.sandbox
        try:
            inv = sandbox.next_invocation(self.connection)
        except ApiError as err:
            return self.reply(err.status, err.body)
        if inv is None:  # the runtime was killed or the emulator is stopping
            self.close_connection = True
            return
        headers = inv.next_headers(self.emulator.config.function_arn)
        # /next faults act when an event is handed out, so they hit a known invoke.
        fault = self.emulator.faults.take("next")
        if fault is not None and fault.kind in UNDELIVERED:
            return self.next_fault(inv, headers, fault)
        sandbox.log_start(inv)
        if fault is not None:
            headers = self.next_fault(inv, headers, fault)
        try:
            if fault is not None and fault.kind == "slow_body":
                self.reply_slowly(inv.body, inv.content_type, headers, fault)
            else:
                self.reply(200, inv.body, inv.content_type, headers)
        except OSError:
            self.close_connection = True
            sandbox.dispatch_failed(inv)

    def reply_slowly(self, body, content_type, headers, fault):
        """The headers at once, then the body in `pieces` parts spread over `seconds`."""
        head = ["HTTP/1.1 200 OK", "Content-Type: " + content_type, "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in headers]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        self.wfile.flush()
        step = -(-len(body) // fault.pieces) if body else 0
        for i in range(fault.pieces):
            time.sleep(fault.seconds / fault.pieces)
            part = body[i * step:(i + 1) * step]
            if part:
                self.wfile.write(part)
                self.wfile.flush()
        self.log_request(200, len(body))

    def next_fault(self, inv, headers, fault):
        """Applies a /next fault. Kinds that do not deliver the event put it back
        in the queue (a runtime that retries /next gets it); the others return
        the headers to send."""
        kind = fault.kind
        if kind == "delay":
            time.sleep(fault.seconds)
        elif kind == "deadline":
            headers = [(k, fault.value if k == "Lambda-Runtime-Deadline-Ms" else v) for k, v in headers]
        elif kind == "big_headers":
            if fault.split:
                n = max(1, fault.size // 1024)
                headers = headers + [("X-Emulator-Padding-%d" % i, "p" * 1000) for i in range(n)]
            else:
                headers = headers + [("X-Emulator-Padding", "p" * fault.size)]
        elif kind == "headers":
            headers = [(k, v) for k, v in headers if k.lower() not in fault.remove_headers
                       and k not in fault.set_headers]
            headers += [(k, str(v)) for k, v in fault.set_headers.items()]
        if kind not in UNDELIVERED:
            return headers

        self.emulator.sandbox.dispatch_failed(inv)
        if kind == "status":
            self.reply(fault.status, fault.body)
        elif kind == "reset":
            self.reset_connection()
        elif kind == "no_request_id":
            headers = [(k, v) for k, v in headers if k != "Lambda-Runtime-Aws-Request-Id"]
            self.reply(200, inv.body, inv.content_type, headers)
        else:  # reset_mid_body / short_body: promise the whole body, send half
            head = ["HTTP/1.1 200 OK", "Content-Type: " + inv.content_type,
                    "Content-Length: %d" % len(inv.body)]
            head += ["%s: %s" % kv for kv in headers]
            try:
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                                 + inv.body[:len(inv.body) // 2])
            except OSError:
                pass
            if kind == "reset_mid_body":
                time.sleep(0.05)  # let the partial body reach the runtime before the RST
                self.reset_connection()
            else:
                self.close_connection = True
        return None

    def _begin(self, request_id):
        try:
            return self.emulator.sandbox.begin_post(request_id)
        except ApiError as err:
            self.drain()
            self.reply(err.status, err.body)
            return None

    def _finish(self, inv, result, status=202, body=None):
        if not self.emulator.sandbox.finish_post(inv, result):
            err = state_error("Invoke", "InvocationResponse")
            return self.reply(err.status, err.body)
        self.reply(status, body if body is not None else json_bytes({"status": "OK"}))

    def _read_or_truncated(self, inv, reader, limit):
        try:
            return reader.read(limit)
        except BadBody as exc:
            self.close_connection = True
            result = Result.error(200, "Runtime.TruncatedResponse",
                                  "RequestId: %s Error: %s" % (inv.id, exc))
            try:
                self._finish(inv, result, 400, json_bytes({
                    "errorMessage": "HTTP request detected as truncated",
                    "errorType": "TruncatedHTTPRequest"}))
            except OSError:
                pass
            return None, None

    def api_response(self, request_id):
        inv = self._begin(request_id)
        if inv is None:
            return
        try:
            reader = BodyReader(self.rfile, self.headers)
        except BadBody as exc:
            self.close_connection = True
            return self._finish(inv, Result.error(200, "Runtime.TruncatedResponse", str(exc)),
                                400, json_bytes({"errorMessage": str(exc), "errorType": "BadRequest"}))
        mode = self.headers.get("Lambda-Runtime-Function-Response-Mode")
        if mode and mode != "streaming":
            self.drain()
            return self._finish(
                inv, Result(200, b"", self.headers.get("Content-Type") or "application/json",
                            "Runtime.InvalidResponseModeHeader"),
                400, json_bytes({"errorMessage": "Invalid function response mode",
                                 "errorType": "InvalidFunctionResponseMode"}))
        if mode == "streaming":
            return self.stream_response(inv, reader)
        limit = MAX_PAYLOAD
        body, total = self._read_or_truncated(inv, reader, limit)
        if body is None:
            return
        if total > limit:
            result = Result.error(200, "Function.ResponseSizeTooLarge",
                                  "Response payload size (%d bytes) exceeded maximum allowed "
                                  "payload size (%d bytes)." % (total, limit))
            return self._finish(inv, result, 413, json_bytes({
                "errorMessage": "Exceeded maximum allowed payload size (%d bytes)." % limit,
                "errorType": "RequestEntityTooLarge"}))
        self._finish(inv, Result(200, body, self.headers.get("Content-Type") or "application/json"))

    def stream_response(self, inv, reader):
        """Lambda-Runtime-Function-Response-Mode: streaming: chunks go to the client
        as they arrive; error trailers become the client's error trailers."""
        sandbox = self.emulator.sandbox
        limit = self.emulator.config.streaming_limit
        chunks = queue.Queue(maxsize=STREAM_QUEUE)
        sandbox.begin_stream(inv, chunks, self.headers.get("Content-Type") or "application/octet-stream")

        def put(item):
            while True:
                try:
                    chunks.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    if inv.state == DONE:  # timed out: nobody reads any more
                        return False

        def error_doc(error_type, message):
            return base64.b64encode(json_bytes({"errorType": error_type,
                                                "errorMessage": message})).decode()

        total = 0
        error = None
        ended = False  # the client has its end (and error trailer) already
        status, reply = 202, json_bytes({"status": "OK"})
        try:
            for data in reader.chunks(bufsize=65536):
                total += len(data)
                if ended:
                    # Over the limit: what the runtime still sends is read and dropped for a moment
                    # (STREAM_LINGER, up to DRAIN_LIMIT), so a runtime that finishes its request
                    # gets its 413 rather than a reset; one that goes on streaming is cut off after it.
                    if total > limit + DRAIN_LIMIT or time.monotonic() > linger_until:
                        break
                    continue
                if total > limit:
                    message = ("Response payload size exceeded maximum allowed payload size "
                               "(%d bytes)." % limit)
                    error = ("Function.ResponseSizeTooLarge",
                             error_doc("Function.ResponseSizeTooLarge", message))
                    status, reply = 413, json_bytes({
                        "errorMessage": "Exceeded maximum allowed payload size (%d bytes)." % limit,
                        "errorType": "RequestEntityTooLarge"})
                    self.close_connection = True
                    put(("end", error))
                    ended = True
                    linger_until = time.monotonic() + STREAM_LINGER
                    continue
                if not put(data):
                    self.close_connection = True
                    break
        except BadBody as exc:
            self.close_connection = True
            error = ("Runtime.TruncatedResponse", error_doc("Runtime.TruncatedResponse", str(exc)))
            status, reply = 400, json_bytes({"errorMessage": "HTTP request detected as truncated",
                                             "errorType": "TruncatedHTTPRequest"})
        if error is None and reader.trailers.get("lambda-runtime-function-error-type"):
            error = (valid_error_type(reader.trailers["lambda-runtime-function-error-type"]),
                     reader.trailers.get("lambda-runtime-function-error-body", ""))
        if not ended:
            put(("end", error))
        result = Result(200, b"", None, error[0] if error else None, streamed=True)
        try:
            self._finish(inv, result, status, reply)
        except OSError:
            pass

    def api_error(self, request_id):
        inv = self._begin(request_id)
        if inv is None:
            return
        error_type = valid_error_type(self.headers.get("Lambda-Runtime-Function-Error-Type"))
        try:
            reader = BodyReader(self.rfile, self.headers)
        except BadBody as exc:
            self.close_connection = True
            return self._finish(inv, Result.error(200, "Runtime.TruncatedResponse", str(exc)),
                                400, json_bytes({"errorMessage": str(exc), "errorType": "BadRequest"}))
        body, _total = self._read_or_truncated(inv, reader, MAX_PAYLOAD)
        if body is None:
            return
        content_type = self.headers.get("Content-Type") or ""
        if content_type == ERROR_CAUSE_CT:
            # RAPID serves the error without its X-Ray "errorCause".
            try:
                doc = json.loads(body)
                if not isinstance(doc, dict):
                    raise ValueError
                doc.pop("errorCause", None)
                body, content_type = json_bytes(doc), "application/json"
            except ValueError:
                body, content_type = json_bytes("Invalid error body"), "application/octet-stream"
        self._finish(inv, Result(200, body, content_type or "application/json", error_type))

    def api_init_error(self):
        error_type = valid_error_type(self.headers.get("Lambda-Runtime-Function-Error-Type"))
        try:
            body, _total = BodyReader(self.rfile, self.headers).read(MAX_PAYLOAD)
        except BadBody:
            self.close_connection = True
            body = b""
        try:
            json.loads(body)
            content_type = "application/json"
        except ValueError:
            content_type = "application/octet-stream"
        try:
            self.emulator.sandbox.post_init_error(Result(502, body, content_type, error_type))
        except ApiError as err:
            return self.reply(err.status, err.body)
        self.reply_json(202, {"status": "OK"})
