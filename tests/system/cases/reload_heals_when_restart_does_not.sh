#!/usr/bin/env bash
# The service needs a reload: restarting does not help (the need survives restarts), a
# reload does. medic climbs its ladder: restart (2 attempts, each verified and failing),
# then reload, which its verification confirms.
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
      verify_grace: 2s
      ladder:
        - {step: restart, attempts: 2}
        - {step: reload}
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

curl -fsS -X POST http://127.0.0.1:8080/control/need-reload >/dev/null
wait_for "recovery starts" 10 medic_logged "demo: recovery started: check 'health' failed 2 in a row: HTTP 500"
wait_for "restart 1 fails verification" 15 medic_logged "demo: restart (attempt 1 of 2) did not heal it: health: HTTP 500"
wait_for "restart 2 fails verification" 15 medic_logged "demo: restart (attempt 2 of 2) did not heal it: health: HTTP 500"
wait_for "medic reloads" 10 medic_logged "demo: reloading demo.service (reload 1 of 1, round 1 of 3)"
wait_for "the reload is verified" 10 medic_logged "demo: recovered by reload (attempt 1, round 1): health: HTTP 200"
[ "$(journalctl -u demo -o cat | grep -c 'reloaded (reload #1)')" = 1 ] || fail "the service was not reloaded exactly once"
[ "$(journalctl -u medic MEDIC_SERVICE=demo MEDIC_EVENT=step-failed -o cat | wc -l)" = 2 ] || fail "expected 2 step-failed entries"
echo "ok: restart x2 did not heal, reload did; each step verified"
