#!/usr/bin/env bash
# Three services fail at once with max_concurrent_recoveries: 1: one recovers at a time,
# the others wait their turn (one 'queued' entry each), and all three recover.
. "$(dirname "$0")/../lib.sh"

for port in 8081 8082 8083; do install_demo "app$port.service" $port; done
{
  echo "agent: {max_concurrent_recoveries: 1}"
  echo "services:"
  for port in 8081 8082 8083; do
    cat <<YAML
  app$port:
    unit: app$port.service
    failure_threshold: 1
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:$port/health", interval: 200ms, timeout: 150ms}
    recovery:
      verify_grace: 3s
YAML
  done
} > "$WORK/medic.yaml"
start_medic "$WORK/medic.yaml"
for port in 8081 8082 8083; do wait_for "app$port healthy" 10 medic_logged "app$port/health: first result -> healthy"; done

for port in 8081 8082 8083; do curl -fsS -X POST "http://127.0.0.1:$port/control/unhealthy" >/dev/null; done
for port in 8081 8082 8083; do wait_for "app$port recovered" 30 medic_logged "app$port: recovered by restart"; done

[ "$(journalctl -u medic MEDIC_EVENT=queued -o cat | wc -l)" = 2 ] || fail "expected two services to wait for a slot"
# Never two at once: between a 'restarting' line and its 'recovered' line no other restart begins.
journalctl -u medic -o cat | python3 -c '
import re, sys
active = None
for line in sys.stdin:
    m = re.match(r"(app\d+): restarting ", line)
    if m:
        assert active in (None, m.group(1)), f"{m.group(1)} started while {active} was recovering"
        active = m.group(1)
    m = re.match(r"(app\d+): recovered by ", line)
    if m and m.group(1) == active:
        active = None
' || fail "two recoveries overlapped"
echo "ok: three failures, one recovery at a time, all recovered"
