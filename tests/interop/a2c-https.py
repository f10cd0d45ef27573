#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# acme2certifier's own WSGI application (its examples/acme2certifier_wsgi.py, copied into
# APPDIR with its acme_srv/ by tests/interop/interop-stack.c) served over HTTPS on 127.0.0.1
# by the standard library's wsgiref, one thread a request; run it with /usr/bin/python3.
#
#   a2c-https.py APPDIR PORT CERT KEY
#
# acme2certifier reads APPDIR/acme_srv/acme_srv.cfg.  Prints READY on standard output once the
# socket listens, then serves until SIGTERM.
import os
import ssl
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main():
    appdir, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.chdir(appdir)
    sys.path.insert(0, appdir)
    import acme2certifier_wsgi as a2c  # noqa: E402  (only importable from APPDIR)

    def application(environ, start_response):
        # TLS ends here, not at a proxy: acme2certifier builds its URLs from the scheme
        environ["wsgi.url_scheme"] = "https"
        return a2c.application(environ, start_response)

    a2c.LOGGER.info("Starting acme2certifier %s on https://127.0.0.1:%d", a2c.__version__, port)
    a2c.config_check(a2c.LOGGER, a2c.CONFIG)
    server = make_server("127.0.0.1", port, application, server_class=ThreadingWSGIServer,
                         handler_class=a2c.get_handler_cls())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("READY", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
