#!/usr/bin/env bash
# Two documented promises, in a real systemd. A restart with `cleanup` and `pidfile` stops the
# unit, removes what the globs match and the pidfile (a symlink among them is removed, never
# followed) and starts it again, touching nothing else. And a service that keeps failing
# after each recovery is held as flapping once it passes `flapping.max_recoveries`: no more
# restarts, MedicServiceFlapping at the receiver, `flapping` in status.
. "$(dirname "$0")/../lib.sh"

install_control_policy
start_webhook hook 9097 "$WORK/hook.jsonl"
install_demo demo.service 8080
install_demo flappy.service 8081
mkdir -p /run/demo
touch /run/demo/a.lock /run/demo/b.lock /run/demo/keep.txt
echo 4242 > /run/demo/demo.pid
echo precious > /etc/demo/precious
ln -s /etc/demo/precious /run/demo/c.lock
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
alerts:
  sinks:
    hook: {type: webhook, url: "http://127.0.0.1:9097/", rate_limit: {max: 0}}   # every notification at once
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 2s
      ladder:
        - {step: restart, cleanup: [/run/demo/*.lock], pidfile: /run/demo/demo.pid}
  flappy:
    unit: flappy.service
    failure_threshold: 1
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8081/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 2s
      flapping: {max_recoveries: 2, within: 1h}
YAML
"$MEDIC" validate -c "$WORK/medic.yaml" || fail "the config (its cleanup paths) is refused"
start_medic "$WORK/medic.yaml"
wait_for "demo's first result" 10 medic_logged "demo/health: first result -> healthy"
wait_for "flappy's first result" 10 medic_logged "flappy/health: first result -> healthy"

note "a restart with cleanup removes the matches and the pidfile, and nothing else"
pid=$(main_pid demo.service)
curl -fsS -X POST http://127.0.0.1:8080/control/unhealthy >/dev/null
wait_for "the restart heals it" 20 medic_logged "demo: recovered by restart (attempt 1, round 1)"
[ "$(main_pid demo.service)" != "$pid" ] || fail "demo was not restarted"
for gone in a.lock b.lock c.lock demo.pid; do
  [ ! -e /run/demo/$gone ] && [ ! -L /run/demo/$gone ] || fail "/run/demo/$gone was not removed"
done
[ -e /run/demo/keep.txt ] || fail "cleanup removed /run/demo/keep.txt, which no glob names"
[ "$(cat /etc/demo/precious)" = precious ] || fail "the symlink's target was touched"
medic_log | grep -F "demo:" | grep -iE "remov|clean" | head -5

note "flapping: the third recovery within the hour is held"
for n in 1 2; do
  curl -fsS -X POST http://127.0.0.1:8081/control/crash >/dev/null 2>&1 || true
  wait_for "recovery $n heals flappy" 20 medic_logged_times "flappy: recovered by restart" $n
  wait_for "flappy answering after recovery $n" 10 curl -fsS http://127.0.0.1:8081/health
done
curl -fsS -X POST http://127.0.0.1:8081/control/crash >/dev/null 2>&1 || true
wait_for "medic holds it as flapping" 20 medic_logged "not recovering: 2 recoveries within 1h"
[ "$(status_json flappy | json_field service.phase)" = flapping ] || fail "status does not say flapping"
flapping_alerted() { [ "$(webhook_count "$WORK/hook.jsonl" firing MedicServiceFlapping flappy)" -ge 1 ]; }
hook_heard() { python3 -c 'import json,sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"]); print(b.get("state"), b.get("alert"), b.get("service"))' "$WORK/hook.jsonl" | tail -8; }
wait_for --show hook_heard "MedicServiceFlapping reaches the receiver" 15 flapping_alerted
[ "$(medic_log | grep -c 'restarting flappy.service')" = 2 ] || fail "flappy was restarted while held: $(medic_log | grep -c 'restarting flappy.service') restarts"
[ "$(systemctl is-active flappy.service)" != active ] || fail "flappy runs: something restarted it"
echo "ok: cleanup removed the globs' matches and the pidfile only; the third failure within the hour held as flapping and alerted"
