#!/usr/bin/env bash
# Two alert receivers that never take an alert: one accepts connections and never answers,
# one answers HTTP 500 forever. A third takes everything. Four kills in a row are each
# restarted and healed on time, the good receiver hears of every one, and the outbox of each
# bad receiver stays at max_queued, the drops logged.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
# The silent receiver: accepts, never reads, never answers, never closes.
systemd-run --quiet --unit=silent python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9201))
s.listen(128)
held = []
while True:
    held.append(s.accept()[0])'
systemd-run --quiet --unit=failing python3 "$MEDIC_REPO/tests/integration/alert_receivers.py" webhook --port 9202 --status 500 --log "$WORK/failing.jsonl"
start_webhook good 9203 "$WORK/good.jsonl"
for port in 9201 9202 9203; do
  wait_for "a receiver on $port" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
done
cat > "$WORK/medic.yaml" <<YAML
alerts:
  max_queued: 5   # (no rate limit below: every notification goes to each receiver)
  sinks:
    silent: {type: webhook, url: "http://127.0.0.1:9201/", timeout: 5s, rate_limit: {max: 0}}
    failing: {type: webhook, url: "http://127.0.0.1:9202/", rate_limit: {max: 0}}
    good: {type: webhook, url: "http://127.0.0.1:9203/", rate_limit: {max: 0}}
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1s
      flapping: {max_recoveries: 100, within: 1h}
      ladder:
        - {step: restart}
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

# good_heard STATE N: the good receiver holds at least N notifications of demo's MedicServiceUnhealthy in STATE.
good_heard() { [ "$(webhook_count "$WORK/good.jsonl" "$1" MedicServiceUnhealthy demo)" -ge "$2" ]; }
for i in 1 2 3 4; do
  killed=$(now_us)
  kill -KILL "$(main_pid demo.service)"
  wait_for "kill $i restarted" 10 medic_logged_times "restart of demo.service done" "$i"
  wait_for "kill $i healed" 10 medic_logged_times "demo: recovered by restart" "$i"
  restarted=$(medic_logged_at "restart of demo.service done" "$killed")
  note "kill $i: restart done $(( (restarted - killed) / 1000 )) ms after the kill"
  wait_for "the good receiver hears of kill $i" 10 good_heard firing "$i"
  wait_for "and of its end" 10 good_heard resolved "$i"
done

waiting() { grep -l "\"target\":\"$1\"" /var/lib/medic/outbox/*.json 2>/dev/null | wc -l; }
for sink in silent failing; do
  wait_for "the $sink receiver's outbox at its bound" 10 medic_logged "alert sink $sink: dropping notification"
  n=$(waiting $sink)
  note "$sink: $n notifications wait in the outbox"
  [ "$n" -le 5 ] || fail "the $sink receiver's outbox holds $n, more than max_queued 5"
  [ "$n" -ge 1 ] || fail "the $sink receiver's outbox lost what waits"
done
[ "$(waiting good)" = 0 ] || fail "the good receiver has notifications waiting"
medic_logged "alert sink failing: delivery failed (HTTP 500" || fail "the 500s are not said"
[ "$(systemctl show -p NRestarts --value medic.service)" = 0 ] || fail "medic was restarted"
echo "ok: four kills healed on time while two receivers hung and failed; their outboxes stayed at 5"
