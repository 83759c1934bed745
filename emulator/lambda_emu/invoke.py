"""The client side: POST (or GET) /2015-03-31/functions/function/invocations."""

import base64
import binascii
import json
import threading

from .http_io import BadBody, BaseHandler, BodyReader
from .model import Invocation
from .protocol import FAULTS_PATH, FORM_CT, INVOKE_PATH, MAX_PAYLOAD, STATUS_PATH
from .streaming import pump_stream


class InvokeHandler(BaseHandler):
    """The client side: POST (or GET) /2015-03-31/functions/function/invocations."""

    def do_POST(self):
        path = self.path_only()
        if path == INVOKE_PATH:
            return self.invoke()
        if path == FAULTS_PATH:
            return self.add_faults()
        self.not_found()

    def do_GET(self):
        path = self.path_only()
        if path == INVOKE_PATH:
            return self.invoke()
        if path == STATUS_PATH:
            self.drain()
            return self.reply_json(200, self.emulator.sandbox.status())
        if path == FAULTS_PATH:
            self.drain()
            return self.reply_json(200, self.emulator.faults.describe())
        self.not_found()

    def do_DELETE(self):
        if self.path_only() == FAULTS_PATH:
            self.drain()
            self.emulator.faults.clear()
            return self.reply_json(200, [])
        self.not_found()

    def stream_sink(self, inv, deadline):
        """Forwards a streamed response: chunked, with error trailers
        (X-Amz-Function-Error, X-Amz-Function-Error-Type, X-Amz-Function-Error-Body)."""
        head = ["HTTP/1.1 200 OK",
                "Content-Type: " + inv.stream_content_type,
                "Transfer-Encoding: chunked",
                "X-Amzn-RequestId: " + inv.id,
                "X-Amz-Executed-Version: " + self.emulator.config.version,
                "X-Amz-Function-Response-Mode: streaming",
                "Trailer: X-Amz-Function-Error, X-Amz-Function-Error-Type, X-Amz-Function-Error-Body"]
        if self.close_connection:
            head.append("Connection: close")
        timeout_body = base64.b64encode(self.emulator.config.timeout_text().encode()).decode()
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        except OSError:
            self.close_connection = True
            return pump_stream(inv, deadline)

        def write_chunk(data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def write_end(error, timed_out=False):
            if timed_out:
                error = ("Sandbox.Timedout", timeout_body)
            if error:
                trailers = ("X-Amz-Function-Error: Unhandled\r\nX-Amz-Function-Error-Type: %s\r\n"
                            "X-Amz-Function-Error-Body: %s\r\n" % error)
            else:
                trailers = ""
            self.wfile.write(("0\r\n%s\r\n" % trailers).encode("latin-1", "replace"))

        def guarded_write_chunk(data):
            try:
                write_chunk(data)
            except OSError:
                self.close_connection = True
                raise

        in_time = pump_stream(inv, deadline, guarded_write_chunk, write_end)
        self.log_request(200, "-")
        return in_time

    def add_faults(self):
        try:
            body, _ = BodyReader(self.rfile, self.headers).read(1 << 20)
            self.emulator.faults.add(json.loads(body))
        except (BadBody, ValueError, TypeError) as exc:
            return self.reply_json(400, {"errorType": "InvalidFault", "errorMessage": str(exc)})
        self.reply_json(200, self.emulator.faults.describe())

    def invoke(self):
        try:
            body, total = BodyReader(self.rfile, self.headers).read(MAX_PAYLOAD)
        except BadBody as exc:
            self.close_connection = True
            return self.reply_json(400, {"Type": "User", "message": str(exc)})
        if total > MAX_PAYLOAD:
            return self.reply_json(
                413, {"Type": "User",
                      "message": "Request must be smaller than %d bytes for the InvokeFunction "
                                 "operation" % MAX_PAYLOAD},
                headers=[("X-Amzn-ErrorType", "RequestTooLargeException")])
        h = self.headers
        client_context = h.get("X-Amz-Client-Context")
        if client_context:
            try:
                client_context = base64.b64decode(client_context, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                return self.reply_json(
                    400, {"Type": "User", "message": "Client context must be a valid Base64-encoded "
                                                     "JSON object."},
                    headers=[("X-Amzn-ErrorType", "InvalidRequestContentException")])
        content_type = h.get("Content-Type")
        if content_type and content_type.split(";")[0].strip().lower() == FORM_CT:
            content_type = None  # curl -d's default, not a choice: treat as JSON
        inv = Invocation(
            body,
            content_type=content_type,
            request_id=h.get("X-Amzn-RequestId"),
            trace_id=h.get("X-Amzn-Trace-Id"),
            client_context=client_context,
            cognito_identity=h.get("X-Amz-Cognito-Identity"),
            tenant_id=h.get("X-Amz-Tenant-Id"),
        )
        invocation_type = (h.get("X-Amz-Invocation-Type") or "RequestResponse").strip()
        if invocation_type == "DryRun":
            return self.reply(204, b"", None, [("X-Amzn-RequestId", inv.id)])
        if invocation_type == "Event":
            threading.Thread(target=self.emulator.sandbox.invoke, args=(inv,), daemon=True).start()
            return self.reply(202, b"", None, [("X-Amzn-RequestId", inv.id)])
        result = self.emulator.sandbox.invoke(inv, self.stream_sink)
        if result.streamed:
            return
        headers = [("X-Amzn-RequestId", inv.id),
                   ("X-Amz-Executed-Version", self.emulator.config.version)]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
            headers.append(("X-Amz-Function-Error-Type", result.function_error))
        self.reply(result.status, result.body, result.content_type, headers)
