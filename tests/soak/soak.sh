#!/usr/bin/env bash
# The soak, run inside a box by dev/soak: 20 services, one killed at random every GAP
# seconds (a range, default 2-5) for MINUTES, medic in the shipped unit's sandbox. Every 30 s
# medic's RSS, its heap's share of it, its open descriptors and the size of state.json are
# sampled; at the end: the slope of each (least squares, per hour), every kill recovered,
# and medic's own count of recoveries equal to the kills.
. "$MEDIC_REPO/tests/system/lib.sh"
minutes=${1:-30}
gap=${2:-2-5}
gap_min=${gap%-*}
gap_max=${gap#*-}
install_control_policy
for i in $(seq 0 19); do install_demo "soak$i.service" $((8100 + i)); done
{
  echo "services:"
  for i in $(seq 0 19); do
    cat <<YAML
  soak$i:
    unit: soak$i.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:$((8100 + i))/health", interval: 1s, timeout: 500ms}
    recovery:
      flapping: {max_recoveries: 1000, within: 1h}
      ladder:
        - {step: restart}
YAML
  done
} > "$WORK/medic.yaml"
start_medic "$WORK/medic.yaml"
pid=$(main_pid medic.service)
samples=$WORK/samples
: > "$samples"
heap_kib() { awk '/\[heap\]/ {h = 1; next} /^[0-9a-f]+-/ {h = 0} h && /^Rss:/ {print $2}' /proc/$pid/smaps; }
sample() {
  echo "$(( $(date +%s) - start )) $(awk '/^VmRSS/ {print $2}' /proc/$pid/status) $(ls /proc/$pid/fd | wc -l)" \
    "$(heap_kib) $(( $(stat -c %s /var/lib/medic/state.json 2>/dev/null || echo 0) / 1024 ))" >> "$samples"
}
start=$(date +%s)
end=$(( start + minutes * 60 ))
kills=0
next_sample=$start
while [ "$(date +%s)" -lt "$end" ]; do
  if [ "$(date +%s)" -ge "$next_sample" ]; then sample; next_sample=$(( next_sample + 30 )); fi
  i=$(( RANDOM % 20 ))
  # A fresh fault on a healthy service: not one whose restart medic is still verifying (a
  # kill then is the restart not healing, and the round ends in a cooldown, as it should).
  if [ "$("$MEDIC" status "soak$i" --json 2>/dev/null | json_field service.phase 2>/dev/null)" = healthy ] &&
     curl -fsS "http://127.0.0.1:$((8100 + i))/health" >/dev/null 2>&1; then
    kill -KILL "$(main_pid "soak$i.service")" && kills=$(( kills + 1 ))
  fi
  sleep $(( gap_min + RANDOM % (gap_max - gap_min + 1) ))  # the next fault: the rhythm of the soak, not a wait
done
sample
all_up() { for i in $(seq 0 19); do curl -fsS "http://127.0.0.1:$((8100 + i))/health" >/dev/null 2>&1 || return 1; done; }
wait_for "every service answering" 60 all_up
recovered=$(medic_log | grep -c ": recovered by restart" || true)
[ "$(main_pid medic.service)" = "$pid" ] || fail "medic was restarted"
python3 - "$samples" "$kills" "$recovered" "$minutes" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
kills, recovered, minutes = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def slope(ys):
    xs = [r[0] for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs) * 3600
rss, fds, heap, state = [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows]
print(f"soak: {minutes} min, {kills} kills, {recovered} recovered by restart")
print(f"RSS: first {rss[0]:.0f} KiB, last {rss[-1]:.0f} KiB, max {max(rss):.0f} KiB, slope {slope(rss):+.0f} KiB/h")
print(f"fds: first {fds[0]:.0f}, last {fds[-1]:.0f}, max {max(fds):.0f}, slope {slope(fds):+.1f}/h")
print(f"of the RSS, the heap: first {heap[0]:.0f} KiB, last {heap[-1]:.0f} KiB, slope {slope(heap):+.0f} KiB/h")
print(f"state.json: first {state[0]:.0f} KiB, last {state[-1]:.0f} KiB, slope {slope(state):+.0f} KiB/h")
print("samples (s, RSS KiB, fds, heap KiB, state.json KiB):")
for r in rows: print("  " + " ".join(f"{v:.0f}" for v in r))
sys.exit(0 if recovered == kills else 1)
PY
