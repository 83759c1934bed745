"""HTTP plumbing: request bodies (Content-Length or chunked), the server, the base handler."""

import http.server
import os
import socket
import struct
import sys

from .protocol import DRAIN_LIMIT, json_bytes


class BadBody(Exception):
    """Malformed or truncated request body (the connection is unusable)."""


class BodyReader:
    """Reads a request body framed by Content-Length or chunked encoding.
    After a chunked body, .trailers holds the trailer fields."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.trailers = {}
        te = headers.get("Transfer-Encoding", "")
        self.chunked = "chunked" in te.lower()
        self.length = 0
        if not self.chunked:
            cl = headers.get("Content-Length")
            if cl:
                try:
                    self.length = int(cl)
                except ValueError:
                    raise BadBody("bad Content-Length %r" % cl)
                if self.length < 0:
                    raise BadBody("bad Content-Length %r" % cl)

    def chunks(self, bufsize=1 << 20):
        if not self.chunked:
            left = self.length
            while left:
                data = self.rfile.read(min(left, bufsize))
                if not data:
                    raise BadBody("body truncated (%d bytes missing)" % left)
                left -= len(data)
                yield data
            return
        while True:
            line = self.rfile.readline(1026)
            if not line.endswith(b"\n"):
                raise BadBody("truncated chunk header")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadBody("bad chunk size %r" % line[:40])
            if size == 0:
                break
            left = size
            while left:
                data = self.rfile.read(min(left, bufsize))
                if not data:
                    raise BadBody("chunk truncated")
                left -= len(data)
                yield data
            if self.rfile.read(2) != b"\r\n":
                raise BadBody("missing CRLF after chunk")
        while True:  # trailer section
            line = self.rfile.readline(65537)
            if not line.endswith(b"\n"):
                raise BadBody("truncated trailers")
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()

    def read(self, limit):
        """-> (body, total): at most `limit` bytes kept, the rest read and dropped
        (up to DRAIN_LIMIT). total is the full size."""
        if not self.chunked and self.length <= limit:
            data = self.rfile.read(self.length) if self.length else b""
            if len(data) != self.length:
                raise BadBody("body truncated (%d of %d bytes)" % (len(data), self.length))
            return data, self.length
        parts = []
        kept = 0
        total = 0
        for data in self.chunks():
            total += len(data)
            if kept < limit:
                take = data[:limit - kept]
                parts.append(take)
                kept += len(take)
            if total > DRAIN_LIMIT:
                raise BadBody("body larger than %d bytes" % DRAIN_LIMIT)
        return b"".join(parts), total


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, emulator):
        self.emulator = emulator
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class BaseHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lambda-emulator"
    sys_version = ""

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        if os.environ.get("EMULATOR_DEBUG"):
            sys.stderr.write("emulator: %s %s\n" % (self.address_string(), format % args))

    @property
    def emulator(self):
        return self.server.emulator

    def path_only(self):
        return self.path.split("?", 1)[0]

    def reply(self, status, body=b"", content_type="application/json", headers=()):
        """One write per reply (headers + small body) to keep latency low."""
        reason = http.server.BaseHTTPRequestHandler.responses.get(status, ("",))[0]
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        if content_type:
            lines.append("Content-Type: " + content_type)
        lines.append("Content-Length: %d" % len(body))
        for name, value in headers:
            lines.append("%s: %s" % (name, value))
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if len(body) <= 65536:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)
        self.log_request(status, len(body))

    def reply_json(self, status, obj, headers=()):
        self.reply(status, json_bytes(obj), "application/json", headers)

    def drain(self):
        """Reads and drops the request body so the connection can be reused."""
        try:
            BodyReader(self.rfile, self.headers).read(0)
        except BadBody:
            self.close_connection = True

    def not_found(self):
        self.drain()
        self.reply(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def reset_connection(self):
        """Abort the connection with a TCP RST (SO_LINGER 0)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def read_part_of_body(self):
        """Reads about half of the request body (for reset_mid_body faults)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(max(1, length // 2))
            else:
                self.rfile.readline(1026)
        except (OSError, ValueError):
            pass
