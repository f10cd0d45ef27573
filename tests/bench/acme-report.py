#!/usr/bin/python3
"""acme-report.py RESULTS_DIR - Markdown report (stdout) of one tests/bench/acme-bench.sh run.

Reads the measure.py JSON files (<label>.json, count-<label>.json), the per-run logs
(logs/mailenroll-<mode>.run<i>.log hold me-acme-issue's own counter line), <label>.failed,
meta.json and versions.txt that acme-bench.sh leaves in RESULTS_DIR.

Prints: the main table (every client and mode), mailenroll against each peer (ratio of median
wall, requests), the targets with PASS/MISS, the driver's own counters and memory split, the
request sequences, and every failure with its reason.
"""
import json
import os
import re
import statistics
import sys

if len(sys.argv) != 2:
    sys.exit("usage: acme-report.py RESULTS_DIR")
RES = sys.argv[1]
PEERS = ["uacme", "lego", "certbot", "dehydrated"]
MODES = ["new", "existing"]
LANG = {"mailenroll": "C (GLib, libcurl-openssl)", "uacme": "C (libcurl-gnutls)", "lego": "Go",
        "certbot": "Python 3", "dehydrated": "bash + curl + openssl CLI", "noop": "harness only"}
# targets for the mailenroll ACME core
REQ_LIMIT = {"new": 10, "existing": 9}
RSS_LIMIT_KIB = 8 * 1024
WALL_VS_UACME = 0.5
DRIVER_RE = re.compile(r"^me-acme-issue: (requests=.*)$", re.M)


def load_json(name):
    p = os.path.join(RES, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def load(label):
    return load_json(label + ".json")


def failure(label):
    p = os.path.join(RES, label + ".failed")
    if not os.path.exists(p):
        return None
    with open(p, errors="replace") as f:
        return f.read()


meta = load_json("meta.json") or {}
clients = [c for c in meta.get("clients", PEERS) if c in PEERS]
modes = [m for m in meta.get("modes", MODES) if m in MODES]


def timed(d):
    return [r for r in d["runs"] if not r["warmup"]]


def ms(x):
    return f"{x * 1000:.0f}" if x is not None else "-"


def mib(kib):
    return f"{kib / 1024:.1f}" if kib is not None else "-"


def num(v):
    return f"{v:g}"


def runs(n):
    return f"{n} run" + ("" if n == 1 else "s")


def med_range(values, fmt=num):
    """'median (min–max)', always with the range"""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def col(d, key):
    return [r.get(key) for r in timed(d)] if d else []


def driver_counters(label):
    """me-acme-issue's own counter line, per timed run of LABEL (from measure.py's run logs)"""
    d = load(label)
    out = []
    if not d:
        return out
    for r in timed(d):
        p = os.path.join(RES, "logs", f"{label}.{r['tag']}.log")
        try:
            with open(p, errors="replace") as f:
                m = DRIVER_RE.search(f.read())
        except OSError:
            m = None
        if m:
            out.append({k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())})
    return out


def compress(seq):
    out, prev, n = [], None, 0
    for r in seq + [None]:
        if r == prev:
            n += 1
            continue
        if prev is not None:
            out.append(prev + (f" ×{n}" if n > 1 else ""))
        prev, n = r, 1
    return ", ".join(out)


def first_reason(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "failed"


# --------------------------------------------------------------------------- header ----
versions, packages = {}, {}   # "key: value" lines, and dpkg-query's "package version" lines
vp = os.path.join(RES, "versions.txt")
if os.path.exists(vp):
    with open(vp) as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition(": ")
            if sep:
                versions[k] = v.strip()
            elif len(line.split()) == 2:
                packages[line.split()[0]] = line.split()[1]
print("# ACME issuance: mailenroll against the peer clients (Pebble, one invocation)\n")
if meta:
    print(f"{meta.get('runs')} timed runs after {meta.get('warmup')} warm-up per row "
          f"(counting: {meta.get('count_runs')} untimed run(s) each through the relay); "
          f"harness run took {meta['wall_s']:.0f} s wall.  ")
pv = " · ".join(f"{p} {packages[p]}" for p in ["pebble", "uacme", "lego", "certbot", "dehydrated"] if p in packages)
if pv:
    print(f"{pv}.  ")
if "pebble env" in versions:
    print(f"Pebble: `{versions['pebble env']}`.  ")
if "me-acme-issue" in versions:
    print(f"me-acme-issue: {versions['me-acme-issue']}; {versions.get('me-acme-issue flags', '?')}.  ")
if "loadavg at start" in versions or meta.get("loadavg_end"):
    print(f"Load average (1/5/15 min) at start: {versions.get('loadavg at start', '?')}, at end: "
          f"{' '.join(meta.get('loadavg_end', ['?']))} (2 cores: anything else running skews absolute times; "
          "compare the ratios).  ")
if "cpu" in versions:
    print(f"Machine: {versions['cpu']}; {versions.get('kernel', '?')}; Debian {versions.get('debian', '?')}.  ")
print("Every figure includes the harness floor (the `noop` row: bash + sourcing peers.sh + mktemp).\n")

# ----------------------------------------------------------------------- main table ----
print("## Results (ms unless noted; medians over the timed runs)\n")
print("| client | mode | wall median | wall min | wall max | user+sys CPU | peak RSS MiB median (max) | "
      "HTTP requests median (min–max) | TLS conns (relay) median (min–max) | TCP opens (kernel) median |")
print("|---|---|---|---|---|---|---|---|---|---|")
rows = [("noop", "-")] + [("mailenroll", m) for m in modes] + [(c, m) for c in clients for m in modes]
for c, m in rows:
    label = "noop" if c == "noop" else f"{c}-{m}"
    d = load(label)
    if not d:
        why = failure(label)
        if why is not None or c != "noop":
            print(f"| {c} | {m} | **FAILED** | | | | | | | {first_reason(why) if why else 'no data'} |")
        continue
    s = d["summary"]
    cnt = load("count-" + label)
    conns = med_range(col(cnt, "conns")) if cnt else "-"
    tcp = s.get("tcp_opens")
    name = f"**{c}**" if c == "mailenroll" else c
    print(f"| {name} | {m} | {ms(s['wall']['median'])} | {ms(s['wall']['min'])} | {ms(s['wall']['max'])} | "
          f"{ms(s['cpu']['median'])} | {mib(s['maxrss_kib']['median'])} ({mib(s['maxrss_kib']['max'])}) | "
          f"{med_range(col(d, 'requests'))} | {conns} | {num(tcp['median']) if tcp else '-'} |")
print()
print("Peak RSS is GNU time's `%M`: the largest single process of the tree. TLS conns (relay) come from "
      "the untimed counting runs through tcpcount.py; TCP opens (kernel) from `Tcp: ActiveOpens` during the "
      "timed runs (other processes on the box can add to it).\n")

# ----------------------------------------------------------------- ours vs each peer ----
print("## mailenroll against each peer (same invocation)\n")
print("| mode | median wall: peer / mailenroll | median CPU: peer / mailenroll | HTTP requests: mailenroll vs peer |")
print("|---|---|---|---|")
for m in modes:
    ours = load(f"mailenroll-{m}")
    if not ours:
        print(f"| {m} | mailenroll failed | | |")
        continue
    ow, oc = ours["summary"]["wall"]["median"], ours["summary"]["cpu"]["median"]
    oreq = ours["summary"]["requests"]["median"]
    for c in clients:
        d = load(f"{c}-{m}")
        if not d:
            print(f"| {m} | {c}: failed, no ratio | | |")
            continue
        pw, pc = d["summary"]["wall"]["median"], d["summary"]["cpu"]["median"]
        preq = col(d, "requests")
        print(f"| {m} | {c}/mailenroll = {pw / ow:.1f}× ({ms(pw)} / {ms(ow)} ms) | "
              f"{c}/mailenroll = {pc / oc:.1f}× ({ms(pc)} / {ms(oc)} ms) | "
              f"{num(oreq)} vs {med_range(preq)} |")
print()

# -------------------------------------------------------------------------- targets ----
print("## Targets\n")
print("| target | mode | measured | result |")
print("|---|---|---|---|")


def verdict(ok):
    return "n/a" if ok is None else ("**PASS**" if ok else "**MISS**")


for m in modes:
    ours = load(f"mailenroll-{m}")
    if not ours:
        print(f"| all | {m} | mailenroll produced no measurement | **MISS** |")
        continue
    req = col(ours, "requests")
    lim = REQ_LIMIT[m]
    print(f"| HTTP requests ≤ {lim} in every run | {m} | {med_range(req)} over {runs(len(req))} | "
          f"{verdict(max(req) <= lim)} |")

    peer_min = {c: min(col(load(f'{c}-{m}'), 'requests')) for c in clients if load(f"{c}-{m}")}
    if peer_min:
        fewest = min(peer_min.values())
        who = ", ".join(f"{c} {v}" for c, v in peer_min.items())
        print(f"| requests never more than any peer (our max ≤ every peer's min) | {m} | ours max {max(req)}; "
              f"peers' min: {who} | {verdict(max(req) <= fewest)} |")
    else:
        print(f"| requests never more than any peer | {m} | no peer measured | n/a |")

    drv = driver_counters(f"mailenroll-{m}")
    dconn = [x.get("connections") for x in drv]
    cnt = load(f"count-mailenroll-{m}")
    rconn = col(cnt, "conns") if cnt else []
    kern = col(ours, "tcp_opens")
    parts = []
    if rconn:
        parts.append(f"relay {med_range(rconn)} over {runs(len(rconn))}")
    if dconn:
        parts.append(f"driver `connections=` {med_range(dconn)} over {runs(len(dconn))}")
    parts.append(f"kernel opens median {num(statistics.median(kern))}")
    evidence = rconn + dconn
    ok = all(x == 1 for x in evidence) if evidence else None
    print(f"| exactly 1 TLS connection per issuance | {m} | {'; '.join(parts)} | {verdict(ok)} |")

    rss = col(ours, "maxrss_kib")
    print(f"| peak RSS ≤ 8 MiB (largest of the runs) | {m} | {mib(max(rss))} MiB max, {mib(statistics.median(rss))} "
          f"median | {verdict(max(rss) <= RSS_LIMIT_KIB)} |")

    u = load(f"uacme-{m}")
    ow = ours["summary"]["wall"]["median"]
    if u:
        uw = u["summary"]["wall"]["median"]
        print(f"| median wall ≤ 0.5 × uacme's | {m} | {ms(ow)} ms vs 0.5 × {ms(uw)} = {ms(uw * WALL_VS_UACME)} ms "
              f"(ratio {ow / uw:.2f}) | {verdict(ow <= WALL_VS_UACME * uw)} |")
    else:
        why = "not in CLIENTS" if "uacme" not in clients else "uacme failed"
        print(f"| median wall ≤ 0.5 × uacme's | {m} | {ms(ow)} ms; {why} | n/a |")
print()

# -------------------------------------------------------- the driver's own figures ----
print("## mailenroll driver's own counters (medians over the timed runs)\n")
print("| mode | requests= | connections= | bad_nonce_retries= | VmHWM MiB | RssAnon MiB (private) | "
      "RssFile MiB (file-backed: binary + shared libraries) | peak RSS measured by the harness |")
print("|---|---|---|---|---|---|---|---|")
for m in modes:
    drv = driver_counters(f"mailenroll-{m}")
    ours = load(f"mailenroll-{m}")
    if not drv:
        print(f"| {m} | no counter lines found | | | | | | |")
        continue

    def md(key, f=num):
        v = [x[key] for x in drv if key in x]
        return f(statistics.median(v)) if v else "-"
    print(f"| {m} | {md('requests')} | {md('connections')} | {med_range([x.get('bad_nonce_retries') for x in drv])} | "
          f"{md('VmHWM_kib', mib)} | {md('RssAnon_kib', mib)} | {md('RssFile_kib', mib)} | "
          f"{mib(ours['summary']['maxrss_kib']['median']) if ours else '-'} |")
print()
print("RssAnon and RssFile are read from /proc/self/status at exit; VmHWM is the process's own peak. "
      "RssFile is mapped file pages (the binary and every shared library and its dependencies — "
      "pages shared with other processes, counted in full here); RssAnon is the process's private "
      "heap, stack and data. The harness's peak RSS is the largest process of the tree (normally the "
      "driver), so it tracks VmHWM.\n")

# ----------------------------------------------------------------- request sequences ----
print("## Request sequences seen by Pebble (first timed run; path prefixes)\n")
print("| client | mode | n | sequence |")
print("|---|---|---|---|")
for c, m in rows[1:]:
    d = load(f"{c}-{m}")
    if not d:
        continue
    r = timed(d)[0]
    print(f"| {c} | {m} | {r['requests']} | {compress(r['request_seq'])} |")
print()

cnt_rows = [(c, m) for c, m in rows if load("count-noop" if c == "noop" else f"count-{c}-{m}")]
if cnt_rows:
    print("## Counting runs (untimed, through tcpcount.py)\n")
    print("| client | mode | runs | TLS conns | resumption attempts | bytes up / down KiB | programs exec'd |")
    print("|---|---|---|---|---|---|---|")
    for c, m in cnt_rows:
        d = load("count-noop" if c == "noop" else f"count-{c}-{m}")
        up, down = col(d, "bytes_up"), col(d, "bytes_down")
        byt = f"{statistics.median(up) / 1024:.1f} / {statistics.median(down) / 1024:.1f}" if up else "-"
        ex = col(d, "execs")
        print(f"| {c} | {m} | {len(timed(d))} | {med_range(col(d, 'conns'))} | "
              f"{med_range(col(d, 'conns_resume_attempt'))} | {byt} | "
              f"{med_range(ex) if any(x is not None for x in ex) else '-'} |")
    print()

# ---------------------------------------------------------------- per-run wall times ----
print("## Per-run wall times (ms), timed runs in order\n")
for c, m in rows:
    d = load("noop" if c == "noop" else f"{c}-{m}")
    if d:
        print(f"- {c} {m}: {' '.join(ms(r['wall']) for r in timed(d))}")
print()

# ------------------------------------------------------------------------- failures ----
failed = sorted(f[:-7] for f in os.listdir(RES) if f.endswith(".failed"))
if failed:
    print("## Failures\n")
    for label in failed:
        text = failure(label)
        print(f"- **{label}**: {first_reason(text)} (details: `{label}.failed`)")
        _, sep, detail = text.partition("----\n")
        tail = [line for line in detail.splitlines() if line.strip() and not line.startswith("----")][-8:]
        if sep and tail:
            print("\n  ```\n" + "\n".join("  " + line[:200] for line in tail) + "\n  ```")
    print()
