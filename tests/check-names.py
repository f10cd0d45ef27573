#!/usr/bin/python3
# check-names.py SRCDIR - the file-noun rule of CONTRIBUTING.md ("Files and names"): every
# exported function of helper/lib/X.c starts with one of X's nouns, so that a grep for the
# prefix finds the one file that owns it.  X's nouns are me_X_ (dashes become underscores, a
# leading "me-" is dropped), the prefix of each type X.h defines (MeAcmeAuthz ->
# me_acme_authz_), and the few more NOUNS lists with its reason.  No noun belongs to two files.
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "."
lib = os.path.join(src, "helper", "lib")


def snake(camel):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def type_prefixes(header):
    if not os.path.exists(header):
        return set()
    text = open(header, encoding="utf-8").read()
    names = set(re.findall(r"\}\s*(Me[A-Za-z0-9]+)\s*;", text))
    names |= set(re.findall(r"typedef\s+(?:struct|enum|union)?\s*[A-Za-z_0-9]*\s+(Me[A-Za-z0-9]+)\s*;", text))
    names |= set(re.findall(r"typedef\s+[A-Za-z_0-9()*\s]+\(\*\s*(Me[A-Za-z0-9]+)\)", text))
    names |= set(re.findall(r"G_DECLARE_[A-Z_]+_TYPE\s*\(\s*(Me[A-Za-z0-9]+)", text))
    return {snake(n) + "_" for n in names}


# nouns beyond the file name and its header's types, each with why it is not a file of its own
NOUNS = {
    # the resources of an order; their types are declared with the client's in acme-client.h
    "acme-order.c": ["me_acme_order_", "me_acme_authz_", "me_acme_challenge_", "me_acme_chain_",
                     "me_acme_identifier_", "me_acme_renewal_info_", "me_acme_cert_"],
    # base64url (RFC 4648 section 5) is the only encoding JOSE and RFC 8823 need
    "encoding.c": ["me_b64u_"],
    # the JSON helpers every parser of CA answers uses
    "json-util.c": ["me_json_"],
    # a JWK is the public half of the key a JWS is signed with
    "jws.c": ["me_jwk_"],
    # one key at a time, and the one OpenSSL-error-to-GError helper every OpenSSL user needs
    "keys.c": ["me_key_", "me_crypto_"],
    # the RFC 5322 address rules the mail parser applies
    "mail.c": ["me_addr_spec_"],
    # wiping and constant-time comparison of secrets
    "secmem.c": ["me_secure_", "me_memeq_ct", "me_streq_ct"],
    # the project's short name for Thunderbird's types (MeTbProfile, MeTbPref)
    "thunderbird.c": ["me_tb_"],
}

bad = 0
count = 0
owner = {}
for name in sorted(os.listdir(lib)):
    if not name.endswith(".c"):
        continue
    noun = name[:-2].replace("-", "_")
    if noun.startswith("me_"):
        noun = noun[3:]
    allowed = {"me_" + noun + "_"} | type_prefixes(os.path.join(lib, name[:-2] + ".h"))
    allowed |= set(NOUNS.get(name, []))
    for lineno, line in enumerate(open(os.path.join(lib, name), encoding="utf-8"), 1):
        m = re.match(r"(me_[a-z0-9_]+)\s*\(", line)
        if m is None:
            continue
        count += 1
        func = m.group(1)
        nouns = [p for p in allowed if func.startswith(p) or func + "_" == p]
        if not nouns:
            print(f"not ok: helper/lib/{name}:{lineno}: {func}() starts with none of "
                  + ", ".join(sorted(allowed)))
            bad += 1
            continue
        noun = max(nouns, key=len)
        if owner.setdefault(noun, name) != name:
            print(f"not ok: helper/lib/{name}:{lineno}: {func}() uses the noun {noun}, which "
                  f"belongs to helper/lib/{owner[noun]}")
            bad += 1
if bad == 0:
    print(f"ok: {count} exported functions of helper/lib follow the file-noun rule")
sys.exit(1 if bad else 0)
