#!/usr/bin/env bash
# An operator's own repair command as a ladder step: restart does not heal (the damage
# survives it), the exec step's script does, running as the configured user.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
cat > /usr/local/sbin/demo-repair <<'SH'
#!/bin/sh
echo "valid=yes" > /etc/demo/demo.service.conf
systemctl reload demo.service
echo "repaired by $(id -un)"
SH
chmod 0755 /usr/local/sbin/demo-repair
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1500ms
      ladder:
        - {step: restart}
        - {step: exec, command: [/usr/local/sbin/demo-repair], user: root, timeout: 10s}
YAML
$MEDIC plan -c "$WORK/medic.yaml" | grep -qF "run '/usr/local/sbin/demo-repair' as root, killed after 10s" || fail "plan does not show the command"
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"
echo "valid=no" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "restart does not heal" 20 medic_logged "demo: restart (attempt 1 of 1) did not heal it"
wait_for "the command runs" 10 medic_logged "demo: running '/usr/local/sbin/demo-repair' as root (exec 1 of 1, round 1 of 3)"
wait_for "and reports" 10 medic_logged "demo: exec step done: repaired by root"
wait_for "healed" 10 medic_logged "demo: recovered by exec (attempt 1, round 1): health: HTTP 200"
echo "ok: restart did not heal, the operator's command did"
