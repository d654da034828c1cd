#!/usr/bin/env bash
# What medic says is what it knows, in a real systemd: a service none of whose checks has
# answered yet is unknown (not healthy) in `medic status` (exit 3), its JSON and summary,
# systemd's STATUS= line and /metrics; and right after "recovered by restart", status shows
# the verification's passing answer, not the failure it healed (the check runs every 5 s:
# without this, status said "unhealthy" until its next run).
. "$(dirname "$0")/../lib.sh"

install_control_policy
install_demo demo.service 8080
install_demo later.service 8081
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
http: {listen: "127.0.0.1:9968"}
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 5s, timeout: 1s, initial_delay: 100ms}
    recovery:
      verify_grace: 1s
  later:
    unit: later.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8081/health", interval: 5s, timeout: 1s, initial_delay: 120s}
YAML
start_medic "$WORK/medic.yaml"
wait_for "demo's first result" 10 medic_logged "demo/health: first result -> healthy"

note "a service not checked yet is unknown"
rc=0; "$MEDIC" status later > "$WORK/later.txt" || rc=$?
cat "$WORK/later.txt"
[ $rc = 3 ] || fail "medic status later exits $rc, not 3 (unknown)"
grep -q "^later (later.service): unknown" "$WORK/later.txt" || fail "status later does not say unknown"
status_json > "$WORK/all.json"
[ "$(json_field health < "$WORK/all.json")" = unknown ] || fail "overall health: $(cat "$WORK/all.json")"
[ "$(json_field summary.unknown < "$WORK/all.json")" = 1 ] || fail "summary: $(cat "$WORK/all.json")"
[ "$(json_field summary.healthy < "$WORK/all.json")" = 1 ] || fail "summary: $(cat "$WORK/all.json")"
systemctl show -p StatusText --value medic | tee "$WORK/statustext"
grep -qF "2 services: 1 healthy, 0 degraded, 0 unhealthy, 1 unknown" "$WORK/statustext" || fail "STATUS= line"
curl -fsS http://127.0.0.1:9968/metrics > "$WORK/metrics"
grep -qF 'medic_service_health{service="later",health="unknown"} 1' "$WORK/metrics" || fail "metrics: $(grep later "$WORK/metrics")"
grep -qF 'medic_service_health{service="later",health="healthy"} 0' "$WORK/metrics" || fail "metrics say later is healthy"
curl -fsS http://127.0.0.1:9968/ | grep -q 'later</a></td><td><span class="badge unknown">' || fail "the status page"

note "right after a recovery, status shows the verification's answer"
curl -fsS -X POST http://127.0.0.1:8080/control/unhealthy >/dev/null
wait_for "the restart is verified" 30 medic_logged "demo: recovered by restart (attempt 1, round 1): health: HTTP 200"
status_json demo > "$WORK/demo.json"   # at once: the next scheduled run is up to 5 s away
[ "$(json_field service.health < "$WORK/demo.json")" = healthy ] || fail "health right after recovery: $(cat "$WORK/demo.json")"
[ "$(json_field service.checks.0.status < "$WORK/demo.json")" = healthy ] || fail "the check right after recovery"
[ "$(json_field service.checks.0.message < "$WORK/demo.json")" = "HTTP 200" ] || fail "the check's message"
echo "ok: unknown until checked (status 3, JSON, STATUS=, metrics, page); healthy at once after the verification healed it"
