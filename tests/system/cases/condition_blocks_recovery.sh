#!/usr/bin/env bash
# A recovery condition (a dependency unit must be active) is not met: the recovery is
# blocked with one entry and no attempt used; once the dependency is back, it goes on. Then
# each other documented condition is made to block on its own: an address not reachable
# (until something listens there), too little free disk, too little available memory.
# `journalctl -u medic MEDIC_SERVICE=demo` tells demo's story: the check's transition, the
# hold, the recovery, in order.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
install_demo database.service 8081
install_demo reach.service 8082
install_demo disk.service 8083
install_demo mem.service 8084
cat > "$WORK/medic.yaml" <<YAML
services:
  reach:
    unit: reach.service
    failure_threshold: 1
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8082/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 2s
      conditions: {reachable: ["127.0.0.1:8099"], recheck: 1s}
  disk:
    unit: disk.service
    failure_threshold: 1
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8083/health", interval: 300ms, timeout: 200ms}
    recovery:
      conditions: {disk_free: [{path: /, min_percent: 100}], recheck: 1s}
  mem:
    unit: mem.service
    failure_threshold: 1
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8084/health", interval: 300ms, timeout: 200ms}
    recovery:
      conditions: {memory_available: 100%, recheck: 1s}
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

note "the journal tells demo's story, in order, by its field"
journalctl -u medic MEDIC_SERVICE=demo --no-pager -o cat > "$WORK/demo-story"
python3 - "$WORK/demo-story" <<'PY' || fail "journalctl MEDIC_SERVICE=demo does not tell the story in order: $(cat "$WORK/demo-story")"
import sys
lines = open(sys.argv[1]).read().splitlines()
story = ["demo/health: healthy -> unhealthy", "demo: recovery held, no attempt used: database.service is inactive",
         "demo: recovery conditions met again", "demo: restarting demo.service", "demo: restart of demo.service done",
         "demo: recovered by restart"]
at = 0
for line in lines:
    if at < len(story) and line.startswith(story[at]): at += 1
sys.exit(0 if at == len(story) else 1)
PY
journalctl -u medic MEDIC_SERVICE=demo MEDIC_CHECK=health MEDIC_STATUS=unhealthy --no-pager -o cat | grep -q "^demo/health: healthy -> unhealthy" ||
  fail "the check's transition does not carry MEDIC_CHECK= and MEDIC_STATUS="
if journalctl -u medic MEDIC_SERVICE=demo --no-pager -o cat | grep -q "^reach\|^disk\|^mem"; then fail "another service's line carries demo's field"; fi

note "each other condition blocks on its own"
for port in 8082 8083 8084; do curl -fsS -X POST http://127.0.0.1:$port/control/unhealthy >/dev/null; done
wait_for "reachable blocks" 10 medic_logged "reach: recovery held, no attempt used: 127.0.0.1:8099 is unreachable: connect to 127.0.0.1:8099 failed: Connection refused"
wait_for "disk_free blocks" 10 medic_logged "disk: recovery held, no attempt used: only "
medic_log | grep -F "disk: recovery held" | grep -qF "free on / (needs 100%)" || fail "disk_free's reason: $(medic_log | grep -F 'disk: recovery held')"
wait_for "memory_available blocks" 10 medic_logged "mem: recovery held, no attempt used: only "
medic_log | grep -F "mem: recovery held" | grep -qF "memory available (needs 100%)" || fail "memory_available's reason"
for unit in reach disk mem; do
  ! medic_logged "restarting $unit.service" || fail "$unit was restarted while its condition was not met"
done
systemd-run --quiet --unit=listener python3 -m http.server --bind 127.0.0.1 8099
wait_for "once 127.0.0.1:8099 answers, reach's recovery goes on and heals" 15 medic_logged "reach: recovered by restart (attempt 1, round 1)"
! medic_logged "restarting disk.service" && ! medic_logged "restarting mem.service" || fail "a blocked service was restarted"
echo "ok: blocked while the dependency was down (one entry, no attempt), recovered after; reachable, disk_free and memory_available each blocked on their own, reachable until something listened"
