#!/usr/bin/env bash
# A crash loop under systemd's default start limit (5 starts in 10 s) used to become a
# five-minute outage: medic's restart failed at once ("Start request repeated too quickly"),
# its second attempt 1 ms later the same, a reload of the dead unit counted as a failure, and
# the round ended with "next round in 5m". medic now recognises the limit (Result=
# start-limit-hit), resets it, journalled, and restarts; it skips a reload of a unit that is
# not running, and spaces attempts of one step.
. "$(dirname "$0")/../lib.sh"

install_control_policy
# The service's own Restart= burns through the start limit while /run/crash exists.
install_demo demo.service 8080 $'Restart=on-failure\nRestartSec=100ms\nExecStartPre=/bin/sh -c "! test -e /run/crash"'
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 500ms, timeout: 300ms}
    recovery:
      verify_grace: 3s
      ladder:
        - {step: restart, attempts: 2}
        - step: reload
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

# Paused, so that the crash loop reaches systemd's limit before medic acts (it is let act
# at once when resumed, as it would have after a few crashes of its own).
"$MEDIC" pause demo --reason "let systemd hit its start limit" > /dev/null
touch /run/crash
kill -KILL "$(main_pid demo.service)"
# (Result= stays exit-code: systemd sets start-limit-hit only on a unit that had not failed.)
wait_for "systemd's own restarts hit its start limit" 20 \
  bash -c "journalctl -u demo.service -o cat | grep -qF 'Start request repeated too quickly'"
rm /run/crash   # fixed; without medic, systemd would refuse to start it for the rest of the interval
! systemctl start demo.service 2>/dev/null || fail "systemd started it: the start limit was not hit"
"$MEDIC" resume demo > /dev/null
wait_for "medic recognises the start limit and resets it" 20 \
  medic_logged "demo: demo.service hit systemd's start limit"
wait_for "and heals the service" 20 medic_logged "demo: recovered by restart"
wait_for "demo answering" 10 curl -fsS http://127.0.0.1:8080/health
! medic_logged "next round in" || fail "a round failed: the start limit was not handled"
echo "ok: a crash loop past systemd's start limit was recovered by a reset and a restart, journalled"
