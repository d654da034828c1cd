#!/usr/bin/env bash
# A unit check reads the service's own resources. A service that leaks memory trips a
# critical rule on its share of MemoryMax and is restarted by medic before the limit (systemd
# never OOM-kills it); a CPU hog trips a non-critical rule on its CPU %: degraded and alerted,
# not restarted. A unit with its accounting off is measured from its processes in /proc, and
# the result says so. The box's systemd has real cgroup controllers (tests/system/box.sh).
. "$(dirname "$0")/../lib.sh"

cat > "$WORK/leak.py" <<'PY'
import time
kept = []
while True:
    kept.append(bytearray(b"x" * (8 << 20)))  # 8 MiB, written, so resident
    time.sleep(0.2)
PY
cat > "$WORK/hog.py" <<'PY'
while True:
    pass
PY
for name in leak hog; do
  cat > /etc/systemd/system/$name.service <<UNIT
[Service]
ExecStart=/usr/bin/python3 $WORK/$name.py
MemoryAccounting=yes
MemoryMax=400M
CPUAccounting=yes
TasksAccounting=yes
UNIT
done
cat > /etc/systemd/system/plain.service <<UNIT
[Service]
ExecStart=/bin/sleep infinity
MemoryAccounting=no
TasksAccounting=no
CPUAccounting=no
UNIT
systemctl daemon-reload
systemctl start leak.service hog.service plain.service
systemd-run --quiet --unit=hook python3 "$MEDIC_REPO/tests/integration/alert_receivers.py" webhook --port 9099 --log "$WORK/hook.jsonl"
wait_for "the webhook receiver" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/9099"
cat > "$WORK/medic.yaml" <<YAML
alerts:
  sinks:
    hook: {type: webhook, url: "http://127.0.0.1:9099/medic"}
services:
  leak:
    unit: leak.service
    failure_threshold: 1
    checks:
      - name: resources
        type: unit
        interval: 500ms
        rules:
          - {value: memory_max_used, stat: last, above: 40%, then: unhealthy}
    recovery:
      verify_grace: 1s
      flapping: {max_recoveries: 100, within: 1h}
      ladder:
        - {step: restart}
  hog:
    unit: hog.service
    checks:
      - name: cpu
        type: unit
        interval: 500ms
        critical: false
        rules:
          # (a core it has alone is 100%; 20% holds when parallel tests share the cores)
          - {value: cpu, stat: avg, over: 3s, above: 20%}
  plain:
    unit: plain.service
    checks:
      - {name: resources, type: unit, interval: 500ms}
YAML
start_medic "$WORK/medic.yaml"
wait_for "the leak's first result" 10 medic_logged "leak/resources: first result -> healthy: leak.service: memory"
medic_log | grep -F "leak/resources: first result" | sed 's/^/# /'

medic_log | grep -q -- "leak/resources: first result -> healthy: leak.service: memory .* of MemoryMax 400.0 MiB).*from systemd's accounting" ||
  fail "the leak's memory is not read from systemd's accounting"
wait_for "the plain unit's first result" 10 medic_logged "plain/resources: first result -> healthy"
medic_log | grep -F "plain/resources: first result" | sed 's/^/# /'
medic_log | grep -q -- "plain/resources: first result -> healthy: plain.service: memory .*, 1 task, 0 restarts, from its processes in /proc" ||
  fail "a unit without accounting is not measured from its processes"

note "the leak passes 40% of its MemoryMax: the critical rule fires and medic restarts the unit"
wait_for "the rule fires" 30 medic_logged "leak/resources: healthy -> unhealthy: leak.service: memory"
medic_log | grep -F "leak/resources: healthy -> unhealthy" | head -1 | sed 's/^/# /'
medic_logged "; last of memory_max_used is" || fail "the journal does not say which rule fired"
wait_for "medic restarts it" 10 medic_logged "restarting leak.service"
wait_for "and the restart heals it" 15 medic_logged "leak: recovered by restart"
[ "$(systemctl show -p NRestarts --value leak.service)" = 0 ] || fail "systemd restarted the leak itself"
if journalctl -u leak.service | grep -qi "oom"; then fail "the leak met the OOM killer"; fi

note "the hog burns a core: degraded, never restarted"
wait_for "the cpu rule fires" 20 medic_logged "hog/cpu: healthy -> degraded: hog.service: memory"
medic_log | grep -F "hog/cpu: healthy -> degraded" | head -1 | sed 's/^/# /'
medic_logged "; avg of cpu over 3s is" || fail "the journal does not name the cpu rule"
# hook_says ALERT SERVICE TEXT: a firing notification of ALERT for SERVICE whose details hold TEXT.
hook_says() {
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if b["state"] == "firing" and b["alert"] == sys.argv[2] and b["service"] == sys.argv[3] and any(sys.argv[4] in d for d in b["details"]):
        sys.exit(0)
sys.exit(1)' "$WORK/hook.jsonl" "$@"
}
wait_for "the degraded alert, with the rule's sentence" 15 hook_says MedicServiceDegraded hog "avg of cpu over 3s is"
if medic_logged "restarting hog.service"; then fail "a non-critical rule restarted the hog"; fi
systemctl stop leak.service hog.service plain.service
echo "ok: the leak restarted by its memory rule before its MemoryMax, the hog degraded by its cpu rule"
