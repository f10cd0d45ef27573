"""Start-up, the control surface on stdout, and clean shutdown.

Start-up is tuned to be well under a second: arguments are parsed with cheap
imports only, the DKIM key (if any) is generated in a thread while the heavy
modules load, and dkimpy (slow: it loads dnspython) is imported after READY.
"""
import logging
import os
import shutil
import signal
import sys
import threading
import time

from acme_ca import config as config_mod

log = logging.getLogger("acme-ca")
TICK = 0.05


def _process_age_ms():
    """Milliseconds since this process was created (from /proc; 10 ms ticks)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            start_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        return int((uptime - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000)
    except (OSError, ValueError, IndexError):
        return -1


class _DkimKeyThread(threading.Thread):
    """Make or load the challenge-mail DKIM key while the rest starts up."""

    def __init__(self, cfg):
        super().__init__(name="dkim-key", daemon=True)
        self.cfg, self.key, self.error = cfg, None, None

    def run(self):
        from acme_ca import dkimkeys
        domain = self.cfg.dkim_domain or self.cfg.from_domain
        try:
            if self.cfg.dkim_key:
                kind = self.cfg.dkim if self.cfg.dkim != "none" else "rsa"
                self.key = dkimkeys.load_or_create(self.cfg.dkim_key, kind,
                                                   self.cfg.dkim_selector, domain)
            else:
                self.key = dkimkeys.generate(self.cfg.dkim, self.cfg.dkim_selector, domain)
        except (OSError, ValueError, TypeError) as err:
            self.error = err


def _control_lines(cfg, base_url, pki, smtp_port, dkim_files, dkim_key, smime_signer):
    lines = [
        ("DIRECTORY", base_url + "/dir"),
        ("CA_FILE", pki.tls_ca_file),
        ("SMIME_ROOT", pki.root_file),
        ("SMIME_INTERMEDIATE", pki.intermediate_file),
        ("STATE_DIR", cfg.state_dir),
        ("MAILDIR", cfg.maildir),
        ("SMTP_REPLY_HOST", "127.0.0.1"),
        ("SMTP_REPLY_PORT", str(smtp_port)),
        ("DROP_DIR", cfg.drop_dir),
        ("STATUS_FILE", cfg.status_file),
        ("FROM", cfg.from_addr),
        ("TOKEN_JOIN", cfg.token_join),
        ("MAIL_ON", cfg.mail_on),
    ]
    if dkim_key:
        lines.append(("DKIM_RECORD", dkim_key.record_name))
        lines += sorted((k, v) for k, v in dkim_files.items() if k != "DKIM_PRIVATE_KEY")
    if smime_signer:
        lines += [("SMIME_SIGN", cfg.smime_sign), ("SMIME_FORM", cfg.smime_form),
                  ("SMIME_FAULT", cfg.smime_fault), ("SMIME_SIGNER_ROOT", smime_signer.root_file),
                  ("SMIME_SIGNER_CERT", smime_signer.cert_file)]
    lines.append(("PID", str(os.getpid())))
    return lines


def _watch_stdin(stop):
    # os.read on the fd, not sys.stdin: a thread blocked inside a buffered
    # reader holds its lock and makes interpreter shutdown abort.
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    stop.set()


def _ticker(engine, cfg, stop, scan_drop_dir):
    while not stop.wait(TICK):
        try:
            scan_drop_dir(cfg.drop_dir, engine)
            engine.tick()
        except Exception:  # noqa: BLE001 - keep ticking; the error is logged
            log.exception("ticker")


def _preload_dkim():
    try:
        import dkim  # noqa: F401 - warm the import (dnspython is slow to load)
    except ImportError:
        log.warning("python3-dkim is missing; DKIM features will fail")


def main(argv=None):
    logging.basicConfig(level=logging.DEBUG if os.environ.get("ACME_CA_DEBUG") else logging.WARNING,
                        stream=sys.stderr, format="acme-ca: %(levelname)s %(message)s")
    cfg = config_mod.parse(argv)
    keygen = _DkimKeyThread(cfg) if cfg.dkim != "none" or cfg.dkim_key else None
    if keygen:
        keygen.start()
    # The heavy imports, overlapping the key generation above.
    from acme_ca import dkimkeys, httpd, intake, mailout
    from acme_ca.engine import Engine
    from acme_ca.handlers import Acme
    from acme_ca.pki import Pki
    from acme_ca.store import Store
    pki = Pki(cfg.state_dir)
    server = httpd.Server(("127.0.0.1", cfg.port), None, pki.tls_cert_file, pki.tls_key_file)
    base_url = f"https://{cfg.host}:{server.server_address[1]}"
    store = Store(cfg, base_url)
    dkim_files, dkim_key = {}, None
    if keygen:
        keygen.join()
        if keygen.error:
            print(f"acme-ca: DKIM key: {keygen.error}", file=sys.stderr)
            return 2
        dkim_key = keygen.key
        cfg.args.dkim = dkimkeys.key_kind(dkim_key)
        dkim_files = dkimkeys.publish(dkim_key, os.path.join(cfg.state_dir, "dkim"))
    smime_signer = None
    if cfg.smime_sign != "none":
        from acme_ca.smimesign import Signer
        smime_signer = Signer(os.path.join(cfg.state_dir, "smime-signer"), cfg.from_addr,
                              cfg.smime_fault)
    engine = Engine(cfg, store, dkim_key, smime_signer)
    server.acme = Acme(cfg, store, pki, engine, base_url)
    if cfg.maildir:
        mailout.ensure_maildir(cfg.maildir)
    os.makedirs(cfg.drop_dir, exist_ok=True)
    smtp = intake.SmtpListener(engine, os.path.join(cfg.state_dir, "smtp-received"), cfg.smtp_port)
    lines = _control_lines(cfg, base_url, pki, smtp.port, dkim_files, dkim_key, smime_signer)
    lines.append(("SMTP_RECEIVED_DIR", smtp.archive_dir))
    store.extra_status = {"control": dict(lines), "config": {
        k: v for k, v in vars(cfg.args).items() if k != "eab"}}
    store.extra_status["config"]["eab_kids"] = [kid for kid, _ in cfg.eab]
    store.save()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    smtp.start()
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                name="https", daemon=True),
               threading.Thread(target=_ticker, args=(engine, cfg, stop, intake.scan_drop_dir),
                                name="ticker",
                                daemon=True)]
    for thread in threads:
        thread.start()
    age = _process_age_ms()
    print("\n".join(f"{k}={v}" for k, v in lines), flush=True)
    print(f"STARTUP_MS={age}", flush=True)   # process creation -> READY, 10 ms resolution
    print("READY", flush=True)
    if cfg.dkim != "none" or cfg.require_reply_dkim:
        threading.Thread(target=_preload_dkim, name="dkim-preload", daemon=True).start()
    if cfg.exit_on_stdin_eof:
        threading.Thread(target=_watch_stdin, args=(stop,), name="stdin", daemon=True).start()
    # never stop.wait() here: the SIGTERM handler runs in this thread and calls stop.set(),
    # which takes the lock that wait() holds, so a SIGTERM that lands inside wait() right
    # after the stdin watcher's set() deadlocks the CA (its test's teardown then hung)
    while not stop.is_set():
        time.sleep(0.2)
    server.shutdown()
    server.server_close()
    smtp.stop()
    with store.lock:
        store.stopped = True
        store.save()
    if cfg.state_dir_is_temp and not cfg.keep_state:
        shutil.rmtree(cfg.state_dir, ignore_errors=True)
    print("STOPPED", flush=True)
    return 0
