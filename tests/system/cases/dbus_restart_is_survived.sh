#!/usr/bin/env bash
# D-Bus is restarted under medic, then systemd re-executes itself: medic notices, reconnects,
# and still recovers the next failure of the service it watches after each; its control
# interface (medic status, a pause) answers again after the bus restart.
. "$(dirname "$0")/../lib.sh"

install_control_policy

install_demo demo.service 8080
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 500ms, timeout: 300ms}
YAML
start_medic "$WORK/medic.yaml"
wait_for "medic connected" 10 medic_logged "connected to systemd on the system bus"
wait_for "medic status answers" 10 medic_answers
"$MEDIC" pause demo --for 1h --reason "before the bus restart" >/dev/null || fail "pause"
"$MEDIC" resume demo >/dev/null || fail "resume"

systemctl restart dbus.service
wait_for "medic noticed the bus went away" 20 medic_logged "lost the connection to systemd"
wait_for "medic reconnected" 30 bash -c "[ \$(journalctl -u medic -o cat | grep -c 'connected to systemd on the system bus') -ge 2 ]"
[ "$(systemctl is-active medic)" = active ] || fail "medic is not running"
wait_for "medic status answers again after the bus restart" 30 medic_answers demo

kill -KILL "$(main_pid demo.service)"
wait_for "medic restarts demo after the bus came back" 20 medic_logged "restart of demo.service done"
wait_for "medic verified it" 10 medic_logged "demo: recovered by restart"
wait_for "demo answering" 10 curl -fsS http://127.0.0.1:8080/health
medic_log -p err | grep -qF "lost the connection to systemd" || fail "losing the bus is not logged at err"

systemctl daemon-reexec
wait_for "systemd back after re-exec" 20 system_up
kill -KILL "$(main_pid demo.service)"
wait_for "medic restarts demo after systemd re-executed" 20 \
  bash -c "[ \$(journalctl -u medic -o cat | grep -c 'restart of demo.service done') -ge 2 ]"
wait_for "demo answering" 10 curl -fsS http://127.0.0.1:8080/health
echo "ok: bus restart and systemd re-exec survived, next failures recovered, medic status answered throughout"
