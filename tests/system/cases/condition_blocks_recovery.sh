#!/usr/bin/env bash
# A recovery condition (a dependency unit must be active) is not met: the recovery is
# blocked with one entry and no attempt used; once the dependency is back, it goes on.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
install_demo database.service 8081
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 2s
      conditions:
        units_active: [database.service]
        reachable: ["127.0.0.1:8081"]
        disk_free: [{path: /, min_percent: 1}]
        memory_available: 1%
        recheck: 1s
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

systemctl stop database.service
curl -fsS -X POST http://127.0.0.1:8080/control/unhealthy >/dev/null
wait_for "recovery blocked by the condition" 10 \
  medic_logged "demo: recovery held, no attempt used: database.service is inactive; checking again every 1s"
# Three re-checks come and go while the database is down: still one entry, and no step.
n=$(curl -fsS http://127.0.0.1:8080/stats)
wait_for "a few more checks" 10 bash -c "[ \$(curl -fsS http://127.0.0.1:8080/stats) -ge $((n + 10)) ]"
[ "$(journalctl -u medic MEDIC_EVENT=blocked -o cat | wc -l)" = 1 ] || fail "expected exactly one 'blocked' entry"
if medic_logged "restarting demo.service"; then fail "a step ran while the condition was not met"; fi

systemctl start database.service
wait_for "recovery goes on" 10 medic_logged "demo: recovery conditions met again; going on with restart"
wait_for "with its first attempt" 10 medic_logged "demo: restarting demo.service (restart 1 of 2, round 1 of 3)"
wait_for "and heals" 10 medic_logged "demo: recovered by restart (attempt 1, round 1)"
echo "ok: blocked while the dependency was down (one entry, no attempt), recovered after"
