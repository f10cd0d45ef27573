#!/usr/bin/python3
# check-policies.py POLICIES XPI_INSTALL_PATH EXTENSION_ID - the enterprise policy example
# (data/policies.json.in, README "Provisioning images") is valid JSON in Thunderbird's
# policies.json shape and force-installs the extension from where meson installs the .xpi.
import json
import sys

path, xpi, ext_id = sys.argv[1:4]
with open(path, encoding="utf-8") as handle:
    doc = json.load(handle)
settings = doc["policies"]["ExtensionSettings"][ext_id]
problems = []
if settings.get("installation_mode") != "force_installed":
    problems.append(f"installation_mode is {settings.get('installation_mode')!r}, not 'force_installed'")
if settings.get("install_url") != "file://" + xpi:
    problems.append(f"install_url is {settings.get('install_url')!r}, but the .xpi is installed at {xpi}")
pref = doc["policies"].get("Preferences", {}).get("extensions.experiments.allowed", {})
if ext_id not in str(pref.get("Value", "")).split(","):
    problems.append("extensions.experiments.allowed does not name the extension (its Experiment binds certificates)")
for p in problems:
    print(f"not ok: {path}: {p}")
if problems:
    sys.exit(1)
print(f"ok: {path} force-installs {ext_id} from {xpi}")
