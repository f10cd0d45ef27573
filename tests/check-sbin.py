#!/usr/bin/python3
# check-sbin.py SRCDIR - no script or test fixture under contrib/, tests/ or .ci/ runs a program
# of /usr/sbin or /sbin by its bare name.  Debian's default PATH for a normal user
# (/usr/local/bin:/usr/bin:/bin:/usr/games) has neither folder, so such a name is found when
# root runs it (root's PATH has them: CI) and not when a person does, and a service started
# in the background then just never comes up (issue 15: the demo's dnsmasq).  Write the full
# path instead (/usr/sbin/dnsmasq, as tests/util/dnsmasq.c does).
#
# What counts as running a program by name:
#   shell (*.sh, scripts with a sh/bash shebang): the name in a command position, also after
#     exec, command -v, env, timeout, sudo, nice, ..., or after ; && || | & ( $( { and the
#     like.  Here-documents and comments are not read.
#   Python, C, JavaScript, meson.build: the name as a string literal that opens an array (an
#     argv: ["dnsmasq", ...), that is the first argument of which(), find_program(), spawn(),
#     Popen(), execvp() and the like or the program of g_subprocess_new(), or that a
#     #define FOO_BINARY names.  Comments are not read.
# The sbin programs are DAEMONS and ADMIN below, which Debian keeps in sbin whether or not they
# are installed here, plus what this machine has in /usr/sbin and /sbin and not also in a
# folder of the default PATH.  This file is not read: it lists the names.
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "."
TREES = ["contrib", "tests", ".ci"]
SKIP_DIRS = {os.path.join("tests", "fuzz", "corpus"), "__pycache__"}
USER_PATH = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/games"]

# programs that live in sbin on Debian whether or not they are installed here: the servers a
# test might start, and the administration tools a script might reach for
DAEMONS = {
    "dnsmasq", "dovecot", "doveadm", "postfix", "postconf", "postmap", "postqueue", "sendmail",
    "exim4", "opendkim", "opendkim-genkey", "rspamd", "unbound", "named", "nsd", "nginx",
    "apache2", "sshd", "slapd", "saslauthd", "cron", "rsyslogd", "iptables", "nft",
}
ADMIN = {
    "ip", "sysctl", "useradd", "userdel", "usermod", "groupadd", "runuser", "chroot", "setcap",
    "getcap", "capsh", "ldconfig", "update-ca-certificates", "start-stop-daemon", "service",
    "invoke-rc.d", "make-ssl-cert",
}


def installed_sbin():
    names = set()
    for folder in ("/usr/sbin", "/sbin"):
        try:
            names |= {n for n in os.listdir(folder) if os.access(os.path.join(folder, n), os.X_OK)}
        except OSError:
            pass
    for folder in USER_PATH:
        try:
            names -= set(os.listdir(folder))
        except OSError:
            pass
    return names


SBIN = DAEMONS | ADMIN | installed_sbin()

# words after which the next word is still the command
PREFIXES = {"then", "do", "else", "elif", "if", "while", "until", "exec", "command", "builtin",
            "time", "nice", "nohup", "setsid", "sudo", "$sudo", "env", "timeout", "xargs", "!",
            "stdbuf", "ionice", "chrt", "taskset", "valgrind", "strace"}
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "$(", "`", "{", "}", "!"}
SHELL_TOKEN = re.compile(r"\$\(|&&|\|\||[;&|(){}`]|[^\s;&|(){}`]+")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def strip_shell_comment(line):
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                continue
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t;&|("):
            return line[:i]
    return line


def shell_commands(line):
    """The words of LINE that are in a command position."""
    tokens = SHELL_TOKEN.findall(line)
    expect = True
    for i, tok in enumerate(tokens):
        if tok in SEPARATORS:
            expect = True
            continue
        if not expect:
            continue
        word = tok.strip("'\"")
        if word in PREFIXES:
            continue
        if re.fullmatch(r"-[A-Za-z-]*|[0-9.]+[smhd]?|[A-Za-z_][A-Za-z0-9_]*=.*", word):
            # an option of a prefix (command -v, timeout -k 5 60), or an assignment
            if i > 0 and (tokens[i - 1].strip("'\"") in PREFIXES or re.match(r"-|[0-9]", tokens[i - 1])
                          or "=" in tokens[i - 1] or tokens[i - 1] in SEPARATORS) or i == 0:
                continue
        expect = False
        # a case pattern ("dnsmasq)"): its ")" closes no "(" of the line
        depth = sum(1 if t in ("(", "$(") else -1 if t == ")" else 0 for t in tokens[:i])
        if i + 1 < len(tokens) and tokens[i + 1] == ")" and depth <= 0:
            continue
        yield word


def check_shell(path, text):
    found = []
    heredoc_end = None
    for n, line in enumerate(text.splitlines(), 1):
        if heredoc_end is not None:
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        code = strip_shell_comment(line)
        m = HEREDOC.search(code)
        if m:
            heredoc_end = m.group(2)
        for word in shell_commands(code):
            if word in SBIN:
                found.append((n, word, line.strip()))
    return found


def strip_c_comments(text):
    # keep the line count: comments become blanks of the same number of lines
    def blank(m):
        return "\n" * m.group(0).count("\n")
    return re.sub(r"/\*.*?\*/|//[^\n]*", blank, text, flags=re.S)


def strip_hash_comments(text):
    return "\n".join(re.sub(r"(^|\s)#.*$", r"\1", line) for line in text.splitlines())


# a string literal NAME that is a program to run: the first element of an array ([ or {), the
# first argument of a function that runs or looks up a program, the program argument of GLib's
# g_subprocess_new() and g_subprocess_launcher_spawn() (after the error argument), or a
# #define of a program's name (FOO_BINARY "dnsmasq")
RUNNERS = (r"which|find_program|g_find_program_in_path|spawn|spawnSync|execFile|execFileSync|execvp|execlp|"
           r"Popen|run|call|check_output|check_call")
LITERALS = [
    re.compile(r"[\[{]\s*([\"'])(?P<name>[A-Za-z0-9_.+-]+)\1"),
    re.compile(r"\b(?:" + RUNNERS + r")\s*\(\s*([\"'])(?P<name>[A-Za-z0-9_.+-]+)\1"),
    re.compile(r"\b(?:g_subprocess_new|g_subprocess_launcher_spawn)\s*\(.*?,\s*(?:&?error|NULL)\s*,\s*"
               r"\"(?P<name>[A-Za-z0-9_.+-]+)\""),
    re.compile(r"#\s*define\s+\w*(?:BINARY|PROGRAM|EXE|BIN|COMMAND|TOOL)\w*\s+\"(?P<name>[A-Za-z0-9_.+-]+)\""),
]


def check_literals(path, text):
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        for pattern in LITERALS:
            for m in pattern.finditer(line):
                if m.group("name") in SBIN:
                    found.append((n, m.group("name"), line.strip()))
    return found


def kind_of(path):
    base = os.path.basename(path)
    if base.endswith((".sh", ".bash")):
        return "shell"
    if base.endswith((".py", ".c", ".h", ".mjs", ".js")) or base == "meson.build":
        return "code"
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
    except OSError:
        return None
    if first.startswith(b"#!") and re.search(rb"\b(sh|bash|dash)\b", first):
        return "shell"
    if first.startswith(b"#!") and b"python" in first:
        return "code"
    return None


def files():
    for tree in TREES:
        top = os.path.join(src, tree)
        if os.path.isfile(top):
            yield top
            continue
        for folder, dirs, names in os.walk(top):
            rel = os.path.relpath(folder, src)
            dirs[:] = sorted(d for d in dirs if os.path.join(rel, d) not in SKIP_DIRS and d not in SKIP_DIRS)
            for name in sorted(names):
                path = os.path.join(folder, name)
                if os.path.abspath(path) != os.path.abspath(__file__):
                    yield path


bad = 0
count = 0
for path in files():
    kind = kind_of(path)
    if kind is None:
        continue
    count += 1
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    if kind == "shell":
        found = check_shell(path, text)
    elif path.endswith((".py", "meson.build")) or not path.endswith((".c", ".h", ".mjs", ".js")):
        found = check_literals(path, strip_hash_comments(text))
    else:
        found = check_literals(path, strip_c_comments(text))
    for n, name, line in found:
        print(f"not ok: {os.path.relpath(path, src)}:{n}: runs {name} by its bare name, which a normal "
              f"user's PATH does not find (it is in /usr/sbin or /sbin); write its full path: {line}")
        bad += 1

if count == 0:
    print("not ok: no script found under " + ", ".join(TREES))
    sys.exit(1)
if bad == 0:
    print(f"ok: none of {count} scripts and fixtures runs a program of /usr/sbin or /sbin by its bare name")
sys.exit(1 if bad else 0)
