#!/usr/bin/env bash
# The wall clock set an hour forward, back to the true time, then an hour behind it, while
# medic runs. (A box cannot set its host's clock: tests/support/clock_step.cpp, preloaded,
# steps the realtime clock as medic reads it and leaves every other clock and the kernel's
# timers alone, as a `date -s` or an NTP step would.) After
# each step: checks keep their interval (no burst, no stall), a kill is restarted once, an
# operator's 20-minute pause keeps what is left of it, Alertmanager keeps hearing of the
# firing alert every resend_interval (a step back used to hold that for the step's length:
# Alertmanager would have resolved an alert that was still firing), and medic says the
# clock stepped.
. "$(dirname "$0")/../lib.sh"

install_control_policy
install_demo tick.service 8301
install_demo maint.service 8302
start_webhook am 9301 "$WORK/am.jsonl"
wait_for "the receiver" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/9301"

clock=/run/medic-clock-step  # seconds medic's wall clock is off the true one
echo 0 > "$clock"
mkdir -p /etc/systemd/system/medic.service.d
cat > /etc/systemd/system/medic.service.d/clock.conf <<UNIT
[Service]
Environment=LD_PRELOAD=$MEDIC_BUILD/tests/libmedic_clock_step.so MEDIC_CLOCK_STEP_FILE=$clock
UNIT
cat > "$WORK/medic.yaml" <<YAML
http: {listen: "127.0.0.1:9968"}
alerts:
  sinks:
    am: {type: alertmanager, urls: ["http://127.0.0.1:9301"], resend_interval: 10s}
services:
  tick:
    unit: tick.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8301/health", interval: 1s, timeout: 500ms}
    recovery:
      ladder: [{step: restart}]
  maint:
    unit: maint.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8302/health", interval: 1s, timeout: 500ms}
YAML
start_medic "$WORK/medic.yaml"
wait_for "medic serving /metrics" 10 curl -fsS http://127.0.0.1:9968/metrics -o /dev/null
wait_for "medic answering" 10 medic_answers

# tick's check runs so far, every result counted.
runs() { curl -fsS http://127.0.0.1:9968/metrics | awk '/^medic_check_runs_total\{.*service="tick"/ {s += $NF} END {print s + 0}'; }
# Posts to the receiver carrying maint's firing MedicServicePaused (its first, then refreshes).
# (grep -c prints 0 itself when nothing matches; no file yet is 0 too.)
posts() { cat "$WORK/am.jsonl" 2>/dev/null | grep -c MedicServicePaused || true; }
at_least() { [ "$("$1")" -ge "$2" ]; }
seconds_of() { python3 -c 'import datetime,sys; print(datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")).timestamp())' "$1"; }

"$MEDIC" pause maint --for 20m --reason "clock steps" >/dev/null || fail "medic pause failed"
paused_at=$(date +%s.%N)
wait_for "Alertmanager told of the pause, then refreshed" 30 at_least posts 2

steps=0
kills=0
for offset in 3600 0 -3600; do
  note "the wall clock to ${offset}s off the true time"
  runs0=$(runs)
  posts0=$(posts)
  t0=$(date +%s.%N)
  echo "$offset" > "$clock"
  steps=$(( steps + 1 ))
  wait_for "medic saying the clock stepped ($offset)" 30 medic_logged_times "the wall clock stepped" "$steps"
  medic_log | grep "the wall clock stepped" | tail -1
  wait_for "checks running on ($offset)" 30 at_least runs $(( runs0 + 5 ))
  wait_for "Alertmanager refreshed twice ($offset)" 40 at_least posts $(( posts0 + 2 ))
  elapsed=$(python3 -c "import sys; print(int(float(sys.argv[1]) - float(sys.argv[2])) + 1)" "$(date +%s.%N)" "$t0")
  ran=$(( $(runs) - runs0 ))
  posted=$(( $(posts) - posts0 ))
  note "in ${elapsed}s after the step: $ran check runs (interval 1s), $posted posts (resend_interval 10s)"
  [ "$ran" -le $(( elapsed + 3 )) ] || fail "a burst of checks: $ran runs in ${elapsed}s at an interval of 1s"
  [ "$posted" -le $(( elapsed / 10 + 2 )) ] || fail "a burst of posts: $posted in ${elapsed}s at a resend_interval of 10s"

  # The pause: what is left of it is 20 minutes less the (real) time since it began.
  before=$(date +%s.%N)
  st=$(status_json maint)
  after=$(date +%s.%N)
  until=$(printf '%s' "$st" | json_field service.paused.until)
  now=$(printf '%s' "$st" | json_field time)
  python3 - "$(seconds_of "$until")" "$(seconds_of "$now")" "$paused_at" "$before" "$after" <<'PY' || fail "the pause did not keep what was left of it after the step to $offset"
import sys
until, now, paused_at, before, after = map(float, sys.argv[1:])
left = until - now
print(f"# the pause: {left:.1f}s left by medic's clock, {1200 - (before - paused_at):.1f}s by the real one")
sys.exit(0 if 1200 - (after - paused_at) - 2 <= left <= 1200 - (before - paused_at) + 1 else 1)
PY

  killed=$(now_us)
  kill -KILL "$(main_pid tick.service)"
  kills=$(( kills + 1 ))
  wait_for "the kill after the step to $offset recovered" 20 medic_logged_times "tick: recovered by restart" "$kills"
done

restarts=$(medic_log | grep -c "restart of tick.service done" || true)
[ "$restarts" -eq "$kills" ] || fail "$restarts restarts for $kills kills: a recovery storm"
[ "$(status_json maint | json_field service.phase)" != "recovering" ] || fail "maint recovered while paused"
medic_log | grep -qF "the pause (clock steps) expired" && fail "the pause expired early"
note "3 steps of the wall clock: checks, restarts, the pause and Alertmanager's refresh kept their intervals"
