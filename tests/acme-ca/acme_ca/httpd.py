"""HTTPS front end: ThreadingHTTPServer, TLS handshake in the worker thread."""
import http.server
import logging
import ssl

from acme_ca.problems import malformed

log = logging.getLogger("acme-ca")
MAX_BODY = 256 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mailenroll-acme-ca"
    sys_version = ""

    def log_message(self, fmt, *args):       # keep stderr quiet unless debugging
        log.debug("%s " + fmt, self.address_string(), *args)

    def _serve(self):
        acme = self.server.acme
        length = self.headers.get("Content-Length")
        try:
            size = int(length or 0)
        except ValueError:
            size = -1
        if self.headers.get("Transfer-Encoding") or size < 0 or size > MAX_BODY:
            self.close_connection = True
            response = acme.reject(self.command, self.path, malformed(
                "send a Content-Length of at most %d bytes (no chunked bodies)" % MAX_BODY,
                411 if self.headers.get("Transfer-Encoding") else 413))
        else:
            body = self.rfile.read(size) if size else b""
            response = acme.handle(self.command, self.path, self.headers, body)
        self._write(response)
        for job in response.after:
            try:
                job()
            except Exception:  # noqa: BLE001 - a failed mail must not kill the server
                log.exception("post-response job failed")

    def _write(self, response):
        self.send_response(response.status)
        for name, value in response.headers.items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name, item)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        self.wfile.flush()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, acme, cert_file, key_file):
        super().__init__(address, Handler)
        self.acme = acme
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert_file, key_file)

    def finish_request(self, request, client_address):
        """Runs in the per-connection thread: do the TLS handshake here so a
        slow client cannot stall the accept loop."""
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as err:
            log.debug("TLS handshake from %s failed: %s", client_address, err)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        log.debug("connection error from %s", client_address, exc_info=True)
