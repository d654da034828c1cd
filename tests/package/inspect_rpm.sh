#!/usr/bin/env bash
# The .rpm, inspected: its files, scripts, config files and dependencies.
set -euo pipefail
RPM=$(ls "${1:?build dir}"/medic-*.x86_64.rpm | head -1)
fail() { echo "FAIL: $*" >&2; exit 1; }
files=$(rpm -qpl "$RPM")
for f in /usr/bin/medic /lib/systemd/system/medic.service /etc/medic/medic.yaml \
         /etc/medic/checks.d/example.yaml.disabled /usr/share/man/man8/medic.8.gz /usr/share/doc/medic/copyright \
         /usr/share/dbus-1/system.d/org.medic.Agent1.conf /usr/lib/sysusers.d/medic.conf; do
  grep -qx "$f" <<<"$files" || fail "missing $f"
done
for d in /lib /lib/systemd /usr/share/man /etc; do
  ! grep -qx "$d" <<<"$files" || fail "claims the system directory $d"
done
[ "$(rpm -qpc "$RPM" | sort | tr '\n' ' ')" = "/etc/medic/checks.d/example.yaml.disabled /etc/medic/medic.yaml " ] ||
  fail "config files are: $(rpm -qpc "$RPM" | tr '\n' ' ')"
scripts=$(rpm -qp --scripts "$RPM")
grep -q "systemctl --no-reload preset medic.service" <<<"$scripts" || fail "no preset on install"
grep -q "systemctl --no-reload disable --now medic.service" <<<"$scripts" || fail "no stop on erase"
grep -q "systemctl try-restart medic.service" <<<"$scripts" || fail "no try-restart on upgrade"
requires=$(rpm -qp --requires "$RPM")
for r in "libsdbus-c++.so.1()(64bit)" "libcurl.so.4()(64bit)" "libhttp_parser.so.2.9()(64bit)" "libre2.so.9()(64bit)" "libyaml-cpp.so.0.7()(64bit)" "libsystemd.so.0()(64bit)" systemd dbus; do
  grep -qxF "$r" <<<"$requires" || fail "does not require $r"
done
# Every relative link of the installed README and docs leads to a file the package installs
# (the README's docs/ links were dead once: the docs sat beside it, and some were not shipped).
src=$(cd "$(dirname "$0")/../.." && pwd)
for md in "$src"/README.md "$src"/docs/*.md; do
  dir=/usr/share/doc/medic; [ "$(basename "$(dirname "$md")")" = docs ] && dir=/usr/share/doc/medic/docs
  for link in $(grep -oE '\]\([^)#:]+(#[^)]*)?\)' "$md" | sed -E 's/^\]\(([^)#]+).*$/\1/' | sort -u); do
    grep -qx "$dir/$link" <<<"$files" || fail "$(basename "$md") links to $link, which the package does not install at $dir/$link"
  done
done
echo "ok: rpm files, config, scripts, requirements, and every doc link leads to a shipped file"
