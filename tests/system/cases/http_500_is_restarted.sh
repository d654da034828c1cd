#!/usr/bin/env bash
# The service answers 500 while its process lives: after failure_threshold results medic
# restarts it, and the check turns healthy again.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 3
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1s
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"
pid=$(main_pid demo.service)

curl -fsS -X POST http://127.0.0.1:8080/control/unhealthy >/dev/null
wait_for "medic notices the 500" 10 medic_logged "demo/health: healthy -> unhealthy: HTTP 500 is not an expected status"
wait_for "medic starts recovery after 3 failures" 10 medic_logged "demo: recovery started: check 'health' failed 3 in a row: HTTP 500 is not an expected status"
wait_for "medic restarts it" 10 medic_logged "demo: restarting demo.service (restart 1 of 2, round 1 of 3)"
wait_for "the restart is done" 20 medic_logged "restart of demo.service done"
wait_for "the restart is verified by the check" 10 medic_logged "demo: recovered by restart (attempt 1, round 1): health: HTTP 200"
wait_for "health is back" 10 medic_logged "demo/health: unhealthy -> healthy: HTTP 200"
[ "$(main_pid demo.service)" != "$pid" ] || fail "the process was not replaced"
[ "$(medic_log | grep -c 'restarting demo.service')" -eq 1 ] || fail "expected exactly one restart"
echo "ok: 500 -> restart -> healthy"
