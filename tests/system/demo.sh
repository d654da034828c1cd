#!/usr/bin/env bash
# The live demo, run inside a freshly booted systemd (dev/demo): medic watches a small web
# service, which is then crashed and then made to answer 500. Prints what an operator reads.
. "$(dirname "$0")/lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cursor() { journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'; }
show_journal_after() { journalctl -u medic -u demo --no-pager -o short-precise --after-cursor "$1" | sed 's/^/   /'; }

say "A web service, demo.service, answering http://127.0.0.1:8080/health"
install_demo demo.service 8080
systemctl status demo.service --no-pager | head -3 | sed 's/^/   /'

say "medic's configuration, as an operator writes it under /etc/medic"
mkdir -p /etc/medic/checks.d
cat > /etc/medic/medic.yaml <<YAML
agent:
  log_level: info
include: [checks.d/*.yaml]
YAML
cat > /etc/medic/checks.d/demo.yaml <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 3
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 1s, timeout: 500ms}
      - {name: port, type: tcp, host: 127.0.0.1, port: 8080, interval: 5s}
      - {name: process, type: process, cmdline: "demo_service.py", interval: 5s, critical: false}
      - {name: root-disk, type: disk, path: /, interval: 30s, critical: false}
    recovery:
      verify_grace: 3s
YAML
sed 's/^/   /' /etc/medic/checks.d/demo.yaml
echo "   \$ medic validate"
$MEDIC validate -c /etc/medic/medic.yaml | sed 's/^/   /'
echo "   \$ medic check"
$MEDIC check -c /etc/medic/medic.yaml | sed 's/^/   /'

say "Starting medic (systemctl start medic)"
install_control_policy   # what the package installs: who may ask \`medic status\`
start_medic /etc/medic/medic.yaml
wait_for "medic connected" 10 medic_logged "connected to systemd"
wait_for "the first health result" 10 medic_logged "demo/health: first result -> healthy"
journalctl -u medic --no-pager -o short-precise | sed 's/^/   /'

say "Incident 1: the service's process is killed (kill -9)"
c=$(cursor)
t0=$(now_us)
kill -KILL "$(main_pid demo.service)"
wait_for "demo recovered" 30 curl -fsS http://127.0.0.1:8080/health
t1=$(now_us)
wait_for "medic verified the recovery" 10 medic_logged "demo: recovered by restart"
show_journal_after "$c"
printf '   -> answering again %d ms after the kill\n' "$(( (t1 - t0) / 1000 ))"

say "Incident 2: the service stays up but /health answers 500"
c=$(cursor)
t0=$(now_us)
curl -fsS -X POST http://127.0.0.1:8080/control/unhealthy >/dev/null
wait_for "medic restarted it" 30 bash -c "[ \$(journalctl -u medic -o cat | grep -c 'restart of demo.service done') -ge 2 ]"
wait_for "demo healthy" 30 curl -fsS http://127.0.0.1:8080/health
t1=$(now_us)
wait_for "medic verified the recovery" 10 bash -c "[ \$(journalctl -u medic -o cat | grep -c 'demo: recovered by restart') -ge 2 ]"
show_journal_after "$c"
printf '   -> healthy again %.1f s after /health turned 500 (3 failed checks at 1s, then a restart)\n' \
  "$(python3 -c "print(($t1 - $t0) / 1e6)")"

say "What the running medic says of it: medic status demo"
wait_for "medic status answers" 10 medic_answers
$MEDIC status demo | sed 's/^/   /' || true

say "What 'journalctl -u medic -p warning' shows for the whole demo"
journalctl -u medic --no-pager -o short-precise -p warning | sed 's/^/   /'
say "Done: the box shuts down and leaves nothing running"
