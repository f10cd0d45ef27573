"""Reply intake: an SMTP listener (aiosmtpd) and a drop folder.

SMTP: every message is accepted with 250 once the CA has recorded it, so a
sender that got 250 can read the verdict from the status file at once.  Each
message received over SMTP is also kept as it arrived in STATE/smtp-received/
(N.eml, written whole before it appears), for tests that check what a mail
client sent (a signed message, say).
Drop folder: regular files whose names do not start with '.' and do not end
in '.tmp' are read, moved to DROP/.processed/ and treated like SMTP replies.
"""
import asyncio
import logging
import os
import socket
import threading

from aiosmtpd.smtp import SMTP

log = logging.getLogger("acme-ca")


class _ReplyHandler:
    def __init__(self, engine, archive_dir):
        self.engine = engine
        self.archive_dir = archive_dir
        self.count = 0

    def _archive(self, raw):
        self.count += 1
        path = os.path.join(self.archive_dir, f"{self.count}.eml")
        with open(path + ".tmp", "wb") as handle:
            handle.write(raw)
        os.rename(path + ".tmp", path)

    async def handle_DATA(self, server, session, envelope):   # noqa: N802 - aiosmtpd API
        self._archive(envelope.original_content)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.engine.receive_reply,
                                   envelope.original_content, "smtp")
        return "250 OK reply recorded"


class SmtpListener:
    """aiosmtpd on its own event loop thread, on a pre-bound socket (port 0 works)."""

    def __init__(self, engine, archive_dir, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)             # connections queue even before the loop runs
        self.port = self.sock.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        os.makedirs(archive_dir, exist_ok=True)
        self.archive_dir = archive_dir
        self.handler = _ReplyHandler(engine, archive_dir)
        self.thread = threading.Thread(target=self._run, name="smtp", daemon=True)

    def start(self):
        self.thread.start()

    def _factory(self):
        return SMTP(self.handler, hostname="acme-ca.test", ident="mailenroll acme-ca",
                    loop=self.loop, data_size_limit=1024 * 1024)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            self.loop.create_server(self._factory, sock=self.sock))
        self.loop.run_forever()
        server.close()
        self.loop.run_until_complete(server.wait_closed())
        self.loop.close()

    def stop(self):
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def scan_drop_dir(path, engine):
    """Pick up finished files from the drop folder."""
    try:
        entries = [e for e in os.scandir(path) if e.is_file() and not e.name.startswith(".")
                   and not e.name.endswith(".tmp")]
    except FileNotFoundError:
        return
    done_dir = os.path.join(path, ".processed")
    for entry in sorted(entries, key=lambda e: e.name):
        try:
            with open(entry.path, "rb") as handle:
                raw = handle.read()
            os.makedirs(done_dir, exist_ok=True)
            os.replace(entry.path, os.path.join(done_dir, entry.name))
        except OSError as err:
            log.warning("drop folder: cannot take %s: %s", entry.path, err)
            continue
        engine.receive_reply(raw, "drop:" + entry.name)
