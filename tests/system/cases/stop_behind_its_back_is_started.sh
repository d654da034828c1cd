#!/usr/bin/env bash
# A watched unit stopped cleanly behind medic's back (systemctl stop, a clean exit) is
# expected up: medic starts it again. An operator's `systemctl restart`, which passes
# through inactive for an instant, is not mistaken for that.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 10s, timeout: 1s}
YAML
start_medic "$WORK/medic.yaml"
wait_for "medic watching" 10 medic_logged "systemd reports demo.service active"

systemctl restart demo.service
wait_for "demo back after the operator's restart" 10 curl -fsS http://127.0.0.1:8080/health
wait_for "medic saw it active again" 10 bash -c "[ \$(journalctl -u medic -o cat | grep -c 'systemd reports demo.service active') -ge 2 ]"

systemctl stop demo.service
wait_for "medic starts it again" 10 medic_logged "demo: recovery started: demo.service stopped although it was running (not by medic)"
wait_for "demo answering" 10 curl -fsS http://127.0.0.1:8080/health
[ "$(medic_log | grep -c 'restarting demo.service')" -eq 1 ] || fail "the operator's restart was taken for a failure"
echo "ok: a clean stop behind medic's back is undone; an operator's restart is left alone"
