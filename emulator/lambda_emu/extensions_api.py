"""The Extensions API's HTTP side (2020-01-01). A mixin of RuntimeApiHandler."""

import json
import uuid

from .http_io import BadBody, BodyReader
from .model import ApiError, Result
from .protocol import EXT_ERROR_TYPE_RE, MAX_PAYLOAD, json_bytes


class ExtensionsApiMixin:
    """register, event/next, init/error and exit/error, with RAPID's answers."""

    def ext_register(self):
        try:
            body, _ = BodyReader(self.rfile, self.headers).read(1 << 20)
            doc = json.loads(body or b"{}")
            if not isinstance(doc, dict):
                raise ValueError("want a JSON object")
            if doc.get("configurationKeys"):
                raise ValueError("configurationKeys are deprecated; use environment variables instead")
            events = doc.get("events") or []
            if not isinstance(events, list):
                raise ValueError("events must be a list")
        except (BadBody, ValueError) as exc:
            return self.reply_json(403, {"errorType": "InvalidRequestFormat", "errorMessage": str(exc)})
        try:
            ext = self.emulator.sandbox.register_extension(self.headers.get("Lambda-Extension-Name", ""),
                                                           [str(e) for e in events])
        except ApiError as err:
            return self.reply(err.status, err.body)
        cfg = self.emulator.config
        answer = {"functionName": cfg.function_name, "functionVersion": cfg.version,
                  "handler": cfg.handler or ""}
        features = [f.strip() for f in self.headers.get("Lambda-Extension-Accept-Feature", "").split(",")]
        if "accountId" in features:
            answer["accountId"] = "012345678912"
        self.reply_json(200, answer, headers=[("Lambda-Extension-Identifier", ext.id)])

    def ext_id(self):
        ext_id = self.headers.get("Lambda-Extension-Identifier")
        if not ext_id:
            self.drain()
            self.reply_json(403, {"errorType": "Extension.MissingHeader",
                                  "errorMessage": "Missing Lambda-Extension-Identifier header"})
        return ext_id

    def ext_next(self):
        self.drain()
        ext_id = self.ext_id()
        if not ext_id:
            return
        try:
            event = self.emulator.sandbox.extension_next(ext_id, self.connection)
        except ApiError as err:
            return self.reply(err.status, err.body)
        if event is None:  # the sandbox was reset
            self.close_connection = True
            return
        self.reply_json(200, event, headers=[("Lambda-Extension-Event-Identifier", str(uuid.uuid4()))])

    def ext_error(self, init):
        ext_id = self.ext_id()
        if not ext_id:
            return
        error_type = self.headers.get("Lambda-Extension-Function-Error-Type") or ""
        error_type = error_type if EXT_ERROR_TYPE_RE.search(error_type) else "Extension.Unknown"
        try:
            body, _ = BodyReader(self.rfile, self.headers).read(MAX_PAYLOAD)
        except BadBody:
            self.close_connection = True
            body = b""
        sandbox = self.emulator.sandbox
        if not sandbox.extension_known(ext_id):
            return self.reply_json(403, {"errorType": "Extension.UnknownExtensionIdentifier",
                                         "errorMessage": "Unknown extension %s" % ext_id})
        if init:
            if not body:
                body = json_bytes({"errorType": error_type, "errorMessage": "Extension init error"})
            try:
                sandbox.extension_init_error(ext_id, Result(502, body, "application/json", error_type))
            except ApiError as err:
                return self.reply(err.status, err.body)
        else:
            self.emulator.log.note("extension %s reported exit error %s" % (ext_id, error_type))
        self.reply_json(202, {"status": "OK"})
