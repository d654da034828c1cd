#!/usr/bin/env bash
# A service nothing in the ladder can heal (its config is corrupt): medic runs its rounds
# with a cooldown between them, gives up with a crit entry, and takes no further action;
# when an operator fixes it, medic reports it healthy again.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1s
      cooldown: 1s
      max_rounds: 2
      ladder:
        - {step: restart}
        - {step: reload}
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

echo "valid=no" > /etc/demo/demo.service.conf   # corrupt, and restarts or reloads only re-read it
systemctl reload demo.service
wait_for "recovery starts" 10 medic_logged "demo: recovery started"
wait_for "round 1 fails and cools down" 20 medic_logged "demo: round 1 of 2 did not heal it"
wait_for "round 2 starts after the cooldown" 10 medic_logged "demo: round 2 of 2 starts"
wait_for "medic gives up" 20 medic_logged "demo: gave up after 2 rounds"
journalctl -u medic -p crit -o cat | grep -qF "demo: gave up after 2 rounds (health: HTTP 500 is not an expected status): manual intervention needed" ||
  fail "gave-up is not at priority crit with its reason"
[ "$(journalctl -u medic MEDIC_EVENT=gave-up -o cat | wc -l)" = 1 ] || fail "expected one structured gave-up entry"
restarts=$(journalctl -u medic -o cat | grep -c "restarting demo.service")
[ "$restarts" = 2 ] || fail "expected one restart per round, saw $restarts"

# No more automatic action: five more failing checks pass by without a step.
n=$(curl -fsS http://127.0.0.1:8080/stats)
wait_for "five more checks after giving up" 10 bash -c "[ \$(curl -fsS http://127.0.0.1:8080/stats) -ge $((n + 5)) ]"
[ "$(journalctl -u medic -o cat | grep -c 'restarting demo.service')" = "$restarts" ] || fail "medic acted after giving up"
echo "valid=yes" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "medic reports it healed by itself" 10 medic_logged "demo: healthy again without medic's help"
[ "$(journalctl -u medic -o cat | grep -c 'restarting demo.service')" = "$restarts" ] || fail "medic acted after giving up"
echo "ok: two rounds, gave up (crit), healed by the operator, reported"
