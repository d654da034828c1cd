#!/usr/bin/env bash
# medic is SIGKILLed while a restore is under way (the unit stopped, files half done). The
# next medic reads its saved state, verifies the unit instead of repeating blindly, finds it
# still down, runs the interrupted restore again, and heals the service. With keep_backups: 1
# the one backup of the operator's own (bad) config survives the restore run again.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
mkdir -p /usr/share/demo-defaults /var/lib/demo-8080/blobs
echo "valid=yes" > /usr/share/demo-defaults/demo.service.conf
(cd /var/lib/demo-8080/blobs && seq 30000 | xargs touch)   # enough files to be caught mid-way
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 2s
      ladder:
        - {step: restore, config_dir: /etc/demo, defaults_dir: /usr/share/demo-defaults, data_dirs: [/var/lib/demo-8080], keep_backups: 1}
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

echo "valid=no" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "the restore begins" 20 medic_logged "demo: restoring demo.service (restore 1 of 1, round 1 of 3): stopping it"
kill -KILL "$(main_pid medic.service)"
wait_for "medic is dead" 10 bash -c "! systemctl is-active -q medic"
python3 -c 'import json; s = json.load(open("/var/lib/medic/state.json"))["services"]["demo"]; assert s["machine"]["step_running"], s; assert s["history"][-1]["step"] == "restore", s' ||
  fail "the saved state does not show the restore under way"

systemctl start medic   # as Restart=on-failure does in medic.service
wait_for "the new medic resumes" 10 medic_logged "demo: medic restarted while restore (attempt 1, round 1) was under way; verifying demo.service before going on"
wait_for "it finds the service still down and finishes the restore" 20 medic_logged "demo: the interrupted restore left it unhealthy"
wait_for "healed" 20 medic_logged "demo: recovered by restore (attempt 1, round 1): health: HTTP 200"
[ "$(cat /etc/demo/demo.service.conf)" = "valid=yes" ] || fail "defaults not restored"
[ -z "$(ls -A /var/lib/demo-8080)" ] || fail "data dir not cleared"
backups=(/var/lib/medic/backups/demo/*)
[ ${#backups[@]} -eq 1 ] && [ "$(cat "${backups[0]}/demo.service.conf")" = "valid=no" ] ||
  fail "the operator's config is not the one backup kept: ${backups[*]}: $(cat "${backups[@]/%//demo.service.conf}" 2>&1)"
python3 - <<'PY' || fail "the saved history or figures are wrong"
import json
s = json.load(open("/var/lib/medic/state.json"))["services"]["demo"]
assert s["machine"]["phase"] == "healthy" and not s["machine"]["step_running"], s["machine"]
steps = [(a["step"], a["result"]) for a in s["history"]]
assert steps == [("restore", "interrupted: medic stopped while it ran"), ("restore", "done, healed")], steps
assert s["figures"]["recoveries"] == 1 and s["figures"]["successes"] == 1, s["figures"]
t = json.load(open("/var/lib/medic/state.json"))["totals"]
assert t["recoveries"] == 1 and t["successes"] == 1 and t["mean_seconds"] > 0, t
print(f"# history: {steps}; time to recover {s['figures']['recovery_seconds'][0]:.1f}s")
PY
echo "ok: killed mid-restore, resumed by verifying first, finished, healed"
