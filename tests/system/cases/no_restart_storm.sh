#!/usr/bin/env bash
# systemd restarts the unit itself (Restart=on-failure) while medic watches it with a fast
# check: medic holds off while systemd acts, and there is exactly one restart, systemd's.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080 $'Restart=on-failure\nRestartSec=2s'
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 200ms, timeout: 150ms}
    recovery:
      verify_grace: 2s
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

kill -KILL "$(main_pid demo.service)"
# During RestartSec the check fails ~10 times, far past the threshold of 2.
wait_for "medic sees the check fail" 10 medic_logged "demo/health: healthy -> unhealthy"
wait_for "systemd's own restart brings it back" 20 medic_logged "demo/health: unhealthy -> healthy"
wait_for "medic observed the unit active again" 10 \
  bash -c "[ \$(journalctl -u medic -o cat | grep -c 'systemd reports demo.service active') -ge 2 ]"
restarts=$(systemctl show -p NRestarts --value demo.service)
[ "$restarts" = 1 ] || fail "systemd restarted it $restarts times, expected 1"
if medic_logged "restarting demo.service"; then fail "medic restarted a unit systemd was already restarting"; fi
medic_log | grep -qF "auto-restart" || fail "medic did not log systemd's auto-restart state"
echo "ok: one restart (systemd's), none by medic"
