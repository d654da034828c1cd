#!/usr/bin/env bash
# medic drill: a rehearsal on a healthy service. Each fault (kill, stop, check=NAME) is
# healed by the ladder and reported (detection, each step, time to recover); receivers can
# tell the drill from an outage; drills stay out of the real figures and are reported apart.
# A drill on a paused or unhealthy service, or one with recovery off, is refused with the
# reason; one whose ladder cannot heal, or heals past its rto:, exits 1 and says so.
. "$(dirname "$0")/../lib.sh"

start_webhook hook 9096 "$WORK/hook.jsonl"
install_demo demo.service 8080
install_demo demo2.service 8081
install_demo demo3.service 8082
install_demo selfheal.service 8084 "Restart=always"
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
alerts:
  sinks:
    hook: {type: webhook, url: "http://127.0.0.1:9096/"}
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      rto: 30s
      verify_grace: 2s
      flapping: {max_recoveries: 100, within: 1h}
      ladder: [{step: restart}]
  demo2:
    unit: demo2.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8081/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1s
      max_rounds: 1
      ladder: [{step: reload}]   # a reload cannot bring a killed process back
  demo3:
    unit: demo3.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8082/health", interval: 300ms, timeout: 200ms}
    recovery:
      rto: 50ms                  # no restart is that fast: its drill heals, but too late
      ladder: [{step: restart}]
  selfheal:
    unit: selfheal.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8084/health", interval: 300ms, timeout: 200ms}
  off:
    unit: demo4.service          # (not even installed: the refusal comes first)
    recovery: {enabled: false}
YAML
install_control_policy
start_medic "$WORK/medic.yaml"
wait_for "demo healthy" 10 medic_logged "demo/health: first result -> healthy"
wait_for "demo2 healthy" 10 medic_logged "demo2/health: first result -> healthy"
wait_for "medic status answers" 10 medic_answers

healthy_again() { [ "$("$MEDIC" status demo --json | json_field service.phase)" = healthy ] && [ "$("$MEDIC" status demo --json | json_field service.health)" = healthy ]; }
for fault in kill stop check=health; do
  wait_for "demo healthy before the $fault drill" 20 healthy_again
  "$MEDIC" drill demo --fault $fault | tee "$WORK/drill-$fault" || fail "the $fault drill did not pass"
  grep -qE "^drill on demo \($fault\): PASSED: healed: recovered by restart" "$WORK/drill-$fault" || fail "$fault: no verdict"
  grep -qE "^  detected:  [0-9.]+s after the fault" "$WORK/drill-$fault" || fail "$fault: no detection time"
  grep -qE "^restart +1 +[0-9.]+s +done, healed" "$WORK/drill-$fault" || fail "$fault: no step line"
  grep -qE "^  recovered: [0-9.]+s after the fault \(within [0-9.]+s, rto 30.00s\); [0-9.]+s after it was detected, as \`medic report\` counts" "$WORK/drill-$fault" || fail "$fault: no total"
done
wait_for "demo healthy before the JSON drill" 20 healthy_again
"$MEDIC" drill demo --fault kill --json > "$WORK/drill.json" || fail "the JSON drill did not pass"
python3 - "$WORK/drill.json" <<'PY' || fail "drill --json: $(cat "$WORK/drill.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["passed"] and r["healed"] and r["fault"] == "kill", r
assert "killed by signal 9" in r["cause"], r
assert 0 <= r["detection_seconds"] <= r["recovery_seconds"] <= r["within_seconds"], r
assert [s["step"] for s in r["steps"]] == ["restart"] and r["steps"][0]["result"] == "done, healed", r
PY

note "receivers can tell a drill"
wait_for "drill alerts at the receiver" 10 grep -q recovery-started "$WORK/hook.jsonl"
python3 - "$WORK/hook.jsonl" <<'PY' || fail "the receiver cannot tell a drill"
import json, sys
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
started = [b for b in bodies if b["alert"] == "recovery-started" and b["service"] == "demo"]
assert started and all(b["drill"] is True for b in started), started
PY
[ "$(journalctl -u medic MEDIC_SERVICE=demo MEDIC_EVENT=drill-ended -o cat | grep -c 'drill passed')" = 4 ] || fail "4 drill-ended entries"

note "drills are kept apart"
status=$(status_json demo)
printf '%s' "$status" | json_field service.figures.recoveries | grep -qx 0 || fail "drills counted as real recoveries: $status"
"$MEDIC" report -c "$WORK/medic.yaml" --since 1h --json > "$WORK/report.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["faults"]==0 and r["drills"]["count"]==4 and r["drills"]["recovered"]==4, r' \
  "$WORK/report.json" || fail "report: $(cat "$WORK/report.json")"

note "refusals"
"$MEDIC" pause demo2 --reason "disk swap" >/dev/null
rc=0; "$MEDIC" drill demo2 --fault kill > "$WORK/refused" 2>&1 || rc=$?
[ $rc = 1 ] && grep -qF "no drill of demo2: it is paused (disk swap" "$WORK/refused" || fail "paused: rc=$rc $(cat "$WORK/refused")"
"$MEDIC" resume demo2 >/dev/null

note "a ladder that cannot heal"
rc=0; "$MEDIC" drill demo2 --fault kill > "$WORK/drill-fails" 2>&1 || rc=$?
cat "$WORK/drill-fails"
[ $rc = 1 ] || fail "a drill that could not heal exited $rc"
grep -qF "FAILED: gave up after 1 round" "$WORK/drill-fails" || fail "it does not say where it stopped"
grep -qE "^reload +1 " "$WORK/drill-fails" || fail "it does not list the step that ran"
rc=0; "$MEDIC" drill demo2 --fault kill > "$WORK/refused2" 2>&1 || rc=$?
[ $rc = 1 ] && grep -qF "no drill of demo2: it is not healthy" "$WORK/refused2" || fail "unhealthy: rc=$rc $(cat "$WORK/refused2")"
note "an rto missed, and recovery off"
wait_for "demo3 healthy" 10 medic_logged "demo3/health: first result -> healthy"
rc=0; "$MEDIC" drill demo3 --fault kill > "$WORK/drill-rto" 2>&1 || rc=$?
cat "$WORK/drill-rto"
[ $rc = 1 ] && grep -qF "FAILED: healed, but past its rto: recovered by restart" "$WORK/drill-rto" || fail "a drill past its rto passed (rc=$rc)"
rc=0; "$MEDIC" drill off --fault stop > "$WORK/refused3" 2>&1 || rc=$?
[ $rc = 1 ] && grep -qF "no drill of off: its recovery is off" "$WORK/refused3" || fail "recovery off: rc=$rc $(cat "$WORK/refused3")"
note "systemd heals it first"
wait_for "selfheal healthy" 10 medic_logged "selfheal/health: first result -> healthy"
"$MEDIC" drill selfheal --fault kill > "$WORK/drill-self" 2>&1 || fail "a service systemd restarted itself: $(cat "$WORK/drill-self")"
grep -qF "PASSED: healed: healthy again before medic's ladder ran" "$WORK/drill-self" || fail "it does not say who healed it: $(cat "$WORK/drill-self")"
echo "ok: kill, stop and check drills healed and reported; drills marked and kept apart; refusals and a failing drill said why"
