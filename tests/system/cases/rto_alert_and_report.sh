#!/usr/bin/env bash
# A service with an rto: of 2s whose first step takes 5s: the rto-exceeded alert fires while
# the recovery is still under way (before it recovers), at the service's severity, and is
# journalled; `medic status` and `medic report` count it beside the fault's cause.
. "$(dirname "$0")/../lib.sh"

start_webhook hook 9097 "$WORK/hook.jsonl"
install_demo demo.service 8080
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
alerts:
  sinks:
    hook: {type: webhook, url: "http://127.0.0.1:9097/"}
services:
  demo:
    unit: demo.service
    severity: critical
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 500ms, timeout: 300ms}
    recovery:
      rto: 2s
      verify_grace: 1s
      ladder:
        - {step: exec, command: [/bin/sleep, "5"], timeout: 10s}
        - {step: restart}
YAML
install_control_policy
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"
wait_for "medic status answers" 10 medic_answers

kill -KILL "$(main_pid demo.service)"
wait_for "demo recovered" 30 medic_logged "demo: recovered by restart"
# In the journal's own order: the rto alert came while the exec step still ran.
order=$(medic_log | grep -E "demo: (not recovered within its rto|recovered by restart|exec .* done|running)" | cut -c1-60)
printf '%s\n' "$order"
medic_log | grep -nE "demo: not recovered within its rto of 2s" >/dev/null || fail "no rto-exceeded entry"
rto_line=$(medic_log | grep -nF "demo: not recovered within its rto of 2s" | head -1 | cut -d: -f1)
recovered_line=$(medic_log | grep -nF "demo: recovered by restart" | head -1 | cut -d: -f1)
[ "$rto_line" -lt "$recovered_line" ] || fail "the rto alert came after the recovery ended"
[ "$(journalctl -u medic MEDIC_SERVICE=demo MEDIC_EVENT=rto-exceeded MEDIC_CAUSE=signal -o cat | wc -l)" = 1 ] ||
  fail "not one rto-exceeded journal entry with its cause"
wait_for "the rto alert at the receiver" 10 grep -q rto-exceeded "$WORK/hook.jsonl"
python3 - "$WORK/hook.jsonl" <<'PY' || fail "the rto alert is not as expected"
import json, sys
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
rto = [b for b in bodies if b["alert"] == "rto-exceeded"]
assert len(rto) == 1, bodies
assert rto[0]["severity"] == "critical", rto[0]  # the service's own severity
assert rto[0]["cause"]["kind"] == "signal", rto[0]
print("# rto alert:", rto[0]["summary"])
PY

status=$(status_json demo)
printf '%s' "$status" | json_field service.figures.rto_exceeded | grep -qx 1 || fail "status: rto_exceeded: $status"
printf '%s' "$status" | json_field service.figures.rto_seconds | grep -qx 2.0 || fail "status: rto_seconds: $status"
"$MEDIC" report -c "$WORK/medic.yaml" --since 1h | tee "$WORK/report"
grep -qF "by cause:     signal 1" "$WORK/report" || fail "report: the cause"
grep -qF "over the rto: 1" "$WORK/report" || fail "report: the rto"
"$MEDIC" report -c "$WORK/medic.yaml" --since 1h --json > "$WORK/report.json"
python3 - "$WORK/report.json" <<'PY' || fail "report --json: $(cat "$WORK/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["faults"] == 1 and r["by_cause"] == {"signal": 1} and r["by_outcome"] == {"recovered": 1}, r
assert r["steps"] == {"exec": {"did_not_heal": 1}, "restart": {"healed": 1}}, r["steps"]
assert r["rto_exceeded"] == 1 and r["max_seconds"] >= 5, r
PY
echo "ok: the rto alert fired during the recovery; status and report count it"
