#!/usr/bin/env bash
# D-Bus is restarted while medic's restart job is still running (the service takes 2 s to
# start), then journald is restarted: medic follows the job to its end, heals the service
# without a second restart, loses no history, and what it logs after journald's restart is
# in the journal.
. "$(dirname "$0")/../lib.sh"

install_control_policy
install_demo demo.service 8080 "ExecStartPre=/bin/sleep 2"
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1s
      ladder:
        - {step: restart, timeout: 20s}
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"
pid=$(main_pid medic.service)

note "dbus restarted while the restart job runs"
kill -KILL "$(main_pid demo.service)"
wait_for "medic's restart job started" 10 medic_logged "restarting demo.service"
systemctl restart dbus.service
wait_for "medic noticed the bus went away" 20 medic_logged "lost the connection to systemd"
wait_for "demo healed" 30 medic_logged "demo: recovered by restart"
wait_for "demo answering" 10 curl -fsS http://127.0.0.1:8080/health
[ "$(medic_log | grep -c "restarting demo.service")" = 1 ] || fail "the service was restarted twice: $(medic_log | grep -F 'restarting demo.service')"
[ "$(systemctl show -p NRestarts --value demo.service)" = 0 ] || fail "systemd restarted demo itself"

note "journald restarted: medic's next recovery is in the journal"
systemctl restart systemd-journald.service
wait_for "journald back" 10 systemctl is-active -q systemd-journald.service
kill -KILL "$(main_pid demo.service)"
wait_for "the second recovery, logged after journald's restart" 30 medic_logged_times "demo: recovered by restart" 2
[ "$(main_pid medic.service)" = "$pid" ] || fail "medic was restarted"
wait_for "medic status answers" 10 medic_answers demo
recoveries=$(python3 -c 'import json,sys; s=json.load(open("/var/lib/medic/state.json")); print(json.dumps(s))' | grep -o '"recovered"' | wc -l)
note "state.json records $recoveries recoveries"
[ "$recoveries" -ge 2 ] || fail "state.json lost a recovery"
echo "ok: a dbus restart mid-job and a journald restart lost nothing"
