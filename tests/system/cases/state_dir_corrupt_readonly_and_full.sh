#!/usr/bin/env bash
# The fault matrix's state directory rows, in a real systemd:
# 1. state.json and an outbox file are garbage at start (a crash mid-write on a filesystem
#    without ordering, a disk error): each is moved aside with a journal line naming it, and
#    medic starts and recovers.
# 2. the state directory is full (a tiny tmpfs): medic says so once, keeps checking and
#    recovering; once space returns it writes again, and what happened meanwhile is saved.
# 3. the state directory is read-only: the same.
. "$(dirname "$0")/../lib.sh"

install_control_policy
install_demo demo.service 8080 "" $'StartLimitIntervalSec=0'
STATE=/var/lib/medic-state
mkdir -p "$STATE/outbox"
mount -t tmpfs -o size=256k,mode=0750 tmpfs "$STATE"
mkdir -p "$STATE/outbox"
printf '{"version": 1, "services": {"demo": {"machine": {"phase": "verif' > "$STATE/state.json"   # cut short
head -c 3000 /dev/urandom > "$STATE/outbox/00000000000000000001.json"                       # garbage
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: $STATE}
services:
  demo:
    unit: demo.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 1s, timeout: 500ms}
    recovery:
      verify_grace: 1s
      flapping: {max_recoveries: 100, within: 1h}
YAML
start_medic "$WORK/medic.yaml"
wait_for "medic connected to systemd" 10 medic_logged "connected to systemd"

# 1. Moved aside, said, and medic works.
medic_log -p warning | grep -F "$STATE/state.json" | grep -qF "moved it to $STATE/state.json.corrupt-" ||
  fail "no warning naming the corrupt state file and where it went"
medic_log -p warning | grep -F "$STATE/outbox/00000000000000000001.json" | grep -qF "moved it to" ||
  fail "no warning naming the corrupt outbox file and where it went"
[ ! -e "$STATE/outbox/00000000000000000001.json" ] || fail "the corrupt outbox file was left in place"
ls "$STATE"/state.json.corrupt-* >/dev/null || fail "the corrupt state file is not kept aside for the operator"
kill_and_recover() {  # kill_and_recover N: the Nth recovery
  kill -KILL "$(main_pid demo.service)"
  wait_for "recovery $1" 15 bash -c "[ \$(journalctl -u medic MEDIC_SERVICE=demo MEDIC_EVENT=recovered -o cat | wc -l) -ge $1 ]"
}
kill_and_recover 1
wait_for "state.json written" 10 python3 -c "import json,sys; json.load(open('$STATE/state.json'))"
note "1: corrupt state and outbox moved aside, medic started and recovered a kill"

# 2. Full: fill what is left, then two more faults.
dd if=/dev/zero of="$STATE/filler" bs=4k 2>/dev/null || true
kill_and_recover 2
kill_and_recover 3
wait_for "medic says it cannot save" 10 medic_logged "cannot save medic's state"
[ "$(medic_log | grep -cF "cannot save medic's state")" = 1 ] || fail "the full disk was reported more than once"
systemctl is-active -q medic || fail "medic stopped on a full state directory"
rm -f "$STATE/filler"
kill_and_recover 4
wait_for "medic saves again" 10 medic_logged "medic's state is saved again"
python3 - "$STATE/state.json" <<'PY' || fail "the state written after the disk had room again misses what happened while it was full"
import json, sys
s = json.load(open(sys.argv[1]))
figures = s["services"]["demo"]["figures"]
assert figures["recoveries"] >= 4, figures
PY
note "2: full state directory said once, recoveries went on, saved again when space returned"

# 3. Read-only: the same.
mount -o remount,ro "$STATE"
kill_and_recover 5
wait_for "medic says it cannot save (read-only)" 10 bash -c "[ \$(journalctl -u medic -o cat | grep -cF \"cannot save medic's state\") -ge 2 ]"
systemctl is-active -q medic || fail "medic stopped on a read-only state directory"
mount -o remount,rw "$STATE"
kill_and_recover 6
wait_for "medic saves again after read-only" 10 bash -c "[ \$(journalctl -u medic -o cat | grep -cF \"medic's state is saved again\") -ge 2 ]"
# And a restart of medic finds a good file: nothing moved aside this time.
systemctl restart medic
wait_for "medic connected again" 10 bash -c "[ \$(journalctl -u medic -o cat | grep -cF 'connected to systemd') -ge 2 ]"
[ "$(ls "$STATE"/state.json.corrupt-* | wc -l)" = 1 ] || fail "the state medic wrote was not readable at its next start"
[ "$("$MEDIC" status demo --json | json_field service.figures.recoveries)" -ge 6 ] || fail "recoveries lost across the faults and the restart"
umount "$STATE" || true
echo "ok: corrupt files moved aside; a full and a read-only state directory said once each, recoveries went on, saved again"
