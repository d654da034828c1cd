#!/usr/bin/env bash
# A watched service killed with SIGKILL (no Restart= of its own): medic hears systemd report
# the unit failed and restarts it at once. 20 kills; prints kill -> restart-queued times.
. "$(dirname "$0")/../lib.sh"

# 20 starts in a few seconds would hit systemd's default start limit (5 in 10s).
install_demo demo.service 8080 "" $'StartLimitIntervalSec=0'
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 10s, timeout: 2s}
    recovery:
      verify_grace: 1s
      flapping: {max_recoveries: 100, within: 1h}   # 20 deliberate kills are not flapping here
YAML
start_medic "$WORK/medic.yaml"
wait_for "medic connected to systemd" 10 medic_logged "connected to systemd"

delays=()
for i in $(seq 20); do
  pid=$(main_pid demo.service)
  t0=$(now_us)
  kill -KILL "$pid"
  wait_for "kill $i: demo.service active with a new pid" 10 \
    bash -c "[ \"\$(systemctl is-active demo.service)\" = active ] && [ \"\$(systemctl show -p MainPID --value demo.service)\" != $pid ]"
  t1=$(medic_logged_at "restarting demo.service" "$t0")
  [ -n "$t1" ] || fail "kill $i: no 'restarting demo.service' entry from medic"
  delays+=($(( t1 - t0 )))
  wait_for "demo answering after kill $i" 10 curl -fsS http://127.0.0.1:8080/health
  # The next kill comes once medic has verified this recovery.
  wait_for "medic verified recovery $i" 10 bash -c "[ \$(journalctl -u medic -o cat | grep -c 'demo: recovered by restart') -ge $i ]"
done

printf '%s\n' "${delays[@]}" | sort -n | python3 -c '
import sys
d = [int(x) / 1000 for x in sys.stdin]
p = lambda q: d[min(len(d) - 1, int(q * len(d)))]
print(f"# kill -> restart queued over {len(d)} kills: p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {d[-1]:.1f} ms")
'
medic_log -p err | grep -qF "systemd reports demo.service failed" || fail "the failure is not logged at priority err"
medic_log -p warning | grep -qF "demo: recovery started: demo.service was killed by signal 9 (KILL)" || fail "the recovery start is not logged at warning with its cause"
[ "$(journalctl -u medic MEDIC_SERVICE=demo MEDIC_EVENT=recovered -o cat | wc -l)" = 20 ] || fail "expected 20 structured 'recovered' entries"
medic_log | grep -qF "restart of demo.service done" || fail "the restart result is not logged"
echo "ok: 20 kills, 20 restarts by medic"
