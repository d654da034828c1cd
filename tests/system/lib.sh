# Helpers for system test cases. Cases run inside the box (tests/system/box.sh run) as
# root, with MEDIC_REPO and MEDIC_BUILD set. Every wait polls with a deadline.
set -euo pipefail

MEDIC=${MEDIC_BUILD:?}/medic
DEMO=$MEDIC_REPO/tests/system/demo_service.py
WORK=$(mktemp -d /tmp/medic-case-XXXXXX)

fail() { echo "FAIL: $*" >&2; echo "--- journal of medic:" >&2; journalctl -u medic --no-pager -o short-monotonic >&2 || true; exit 1; }
note() { echo "# $*"; }

# wait_for [--show WHAT] DESCRIPTION SECONDS COMMAND...: polls COMMAND every 50 ms until it
# succeeds; on giving up, the failure says DESCRIPTION and what the command WHAT prints.
wait_for() {
  local show=
  if [ "$1" = --show ]; then show=$2; shift 2; fi
  local what=$1 seconds=$2; shift 2
  local deadline=$(( $(date +%s%N) + seconds * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$deadline" ] || fail "gave up after ${seconds}s waiting for: $what${show:+ ($($show 2>&1))}"
    sleep 0.05
  done
}

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# install_demo UNIT PORT [EXTRA [Service] LINES] [EXTRA [Unit] LINES]: a demo service unit, started.
install_demo() {
  local unit=$1 port=$2 extra=${3:-} unitExtra=${4:-}
  cat > "/etc/systemd/system/$unit" <<UNIT
[Unit]
Description=medic demo service on port $port
$unitExtra
[Service]
ExecStart=/usr/bin/python3 $DEMO --port $port --config /etc/demo/$unit.conf --state-dir /var/lib/demo-$port
ExecReload=/bin/kill -HUP \$MAINPID
$extra
UNIT
  mkdir -p /etc/demo /var/lib/demo-$port
  echo "valid=yes" > "/etc/demo/$unit.conf"
  systemctl daemon-reload
  systemctl start "$unit"
  wait_for "$unit answering" 10 curl -fsS "http://127.0.0.1:$port/health"
}

# install_backup_unit: demo-backup.service, the demo's standby on the same port (not started).
install_backup_unit() {
  echo "valid=yes" > /etc/demo/backup.conf
  cat > /etc/systemd/system/demo-backup.service <<UNIT
[Unit]
Description=the demo's standby
[Service]
ExecStart=/usr/bin/python3 $DEMO --port 8080 --config /etc/demo/backup.conf
UNIT
  systemctl daemon-reload
}

# start_webhook UNIT PORT LOG: a webhook receiver (tests/integration/alert_receivers.py) as a
# unit of its own; each request is a JSON line in LOG.
start_webhook() {
  systemd-run --quiet --unit="$1" python3 "$MEDIC_REPO/tests/integration/alert_receivers.py" webhook --port "$2" --log "$3"
}

# start_medic CONFIG: medic as a service (Type=notify: systemctl returns once it is ready).
# It runs in the shipped unit's sandbox (capabilities, system-call filter, namespaces,
# address families, umask, kernel protections), all of it but the file-system view
# (ProtectSystem, ProtectHome, PrivateTmp): the cases keep their configs and the files their
# steps repair in /tmp, /etc and /var.
start_medic() {
  local sandbox
  sandbox=$(sed -n '/^# --- Hardening/,/^\[Install\]/p' "$MEDIC_REPO/systemd/medic.service" |
    grep -E '^[A-Za-z]+=' | grep -vE '^(ProtectSystem|ProtectHome|PrivateTmp|ReadWritePaths)=')
  [ -n "$sandbox" ] || fail "no sandbox found in systemd/medic.service"
  cat > /etc/systemd/system/medic.service <<UNIT
[Unit]
Description=medic (system test)
[Service]
Type=notify
ExecStart=$MEDIC run -c $1
$sandbox
UNIT
  systemctl daemon-reload
  systemctl start medic
}

medic_log() { journalctl -u medic --no-pager -o cat "$@"; }
medic_logged() { medic_log | grep -qF -- "$1"; }
# medic answers on its control interface, whatever health it reports (exit 0, 1 or 2; 3 is
# "not running", 4 "denied"). Wait for this, not for `medic status` to exit 0: that is a
# health, and a deliberately failing service makes it 2.
# (3 with an answer printed is a health too: unknown, a check has not answered yet.)
medic_answers() { local rc=0 out; out=$("$MEDIC" status "$@" 2>/dev/null) || rc=$?; [ $rc -le 2 ] || { [ $rc = 3 ] && [ -n "$out" ]; }; }
# systemd has finished starting up: running, or degraded (some unit failed), never "starting".
system_up() { local s; s=$(systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]; }

# The realtime timestamp (us) of the first medic journal entry containing TEXT after AFTER_US.
medic_logged_at() {
  local text=$1 after=$2
  journalctl -u medic --no-pager -o json --since "@$((after / 1000000))" |
    python3 -c '
import json, sys
text, after = sys.argv[1], int(sys.argv[2])
for line in sys.stdin:
    e = json.loads(line)
    if text in e.get("MESSAGE", "") and int(e["__REALTIME_TIMESTAMP"]) >= after:
        print(e["__REALTIME_TIMESTAMP"]); break
' "$text" "$after"
}

# The unit's main pid; never 0 (`kill 0` would signal this very script's process group).
main_pid() {
  local pid
  pid=$(systemctl show -p MainPID --value "$1")
  [ -n "$pid" ] && [ "$pid" != 0 ] || fail "$1 has no main process"
  echo "$pid"
}

# The control interface as the packages install it: the bus policy (root everything, group
# medic the reads) and the group. dbus-daemon is told to read its policy again.
install_control_policy() {
  getent group medic >/dev/null || groupadd --system medic
  install -m 0644 "$MEDIC_REPO/systemd/org.medic.Agent1.conf" /usr/share/dbus-1/system.d/org.medic.Agent1.conf
  busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null
}

# medic's status JSON, checked against docs/status.schema.json; prints it.
status_json() {
  local out
  local rc=0
  out=$("$MEDIC" status --json "$@") || rc=$?
  # 0-2: a health; 3 with an answer: unknown health (3 without one: medic not running)
  [ $rc -le 2 ] || { [ $rc = 3 ] && [ -n "$out" ]; } || fail "medic status --json $* failed (exit $rc)"
  printf '%s' "$out" | "$MEDIC_REPO/tests/support/validate_json.py" "$MEDIC_REPO/docs/status.schema.json" ||
    fail "medic status --json $* does not match docs/status.schema.json: $out"
  printf '%s' "$out"
}
json_field() { python3 -c 'import json,sys; v=json.load(sys.stdin); exec("for k in sys.argv[1].split(\".\"):\n v = v[int(k)] if k.isdigit() else v[k]"); print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1"; }
# medic_logged_times TEXT N: TEXT appears at least N times in medic's journal.
medic_logged_times() { [ "$(medic_log | grep -cF -- "$1")" -ge "$2" ]; }

# webhook_count LOG STATE ALERT SERVICE: how many notifications a webhook receiver
# (start_webhook) logged with this state, alert and service; 0 before its log exists.
webhook_count() {
  python3 -c 'import json,sys
n = 0
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    n += (b["state"], b["alert"], b["service"]) == tuple(sys.argv[2:5])
print(n)' "$@" 2>/dev/null || echo 0
}
