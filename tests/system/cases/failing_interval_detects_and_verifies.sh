#!/usr/bin/env bash
# failing_interval: a check that runs once an hour, re-run every 200 ms once it fails. The demo
# answers 500: medic reaches failure_threshold (3) and restarts it, and the restart is verified
# by the check, all within seconds — without failing_interval the second run would come an hour
# later, so neither the recovery nor its verification could happen in this test. Prints the
# detection time (the first failed run to the recovery's start, by the journal's clock).
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 3
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 1h, initial_delay: 1s,
         failing_interval: 200ms, timeout: 150ms}
    recovery:
      verify_grace: 1s
YAML
curl -fsS -X POST http://127.0.0.1:8080/control/unhealthy >/dev/null
pid=$(main_pid demo.service)
since=$(date +%s%6N)
start_medic "$WORK/medic.yaml"
wait_for "the first run fails" 10 medic_logged "demo/health: first result -> unhealthy: HTTP 500"
wait_for "recovery after 3 failures, 200 ms apart" 20 medic_logged "demo: recovery started: check 'health' failed 3 in a row"
wait_for "the restart is verified by the check" 20 medic_logged "demo: recovered by restart (attempt 1, round 1): health: HTTP 200"
[ "$(main_pid demo.service)" != "$pid" ] || fail "the process was not replaced"
failed=$(medic_logged_at "demo/health: first result -> unhealthy" "$since")
started=$(medic_logged_at "demo: recovery started" "$since")
echo "# detection with interval 1h, failing_interval 200ms, threshold 3: $(( (started - failed) / 1000 )) ms from the first failed run"

echo "ok: failing_interval reached the threshold and verified the restart within seconds of an hourly check"
