#!/usr/bin/env bash
# A worker without a port reports itself alive with `medic heartbeat`, from inside its own
# unit as an unprivileged user, through the bus policy medic ships. The same user outside the
# unit is refused. When the worker stops reporting, the check fails once its ttl has passed
# and medic restarts the unit; the new worker reports again and the recovery is verified.
. "$(dirname "$0")/../lib.sh"

install_control_policy
cat > /etc/systemd/system/worker.service <<UNIT
[Unit]
Description=a worker without a port that pushes heartbeats
[Service]
User=nobody
ExecStartPre=+/bin/rm -f /run/worker-stop
ExecStart=/bin/sh -c 'while [ ! -e /run/worker-stop ]; do $MEDIC heartbeat worker/beat -q --message "queue empty" || exit 1; sleep 0.3; done; exec sleep infinity'
UNIT
systemctl daemon-reload
cat > "$WORK/medic.yaml" <<YAML
services:
  worker:
    unit: worker.service
    failure_threshold: 1
    checks:
      - {name: beat, type: heartbeat, ttl: 2s, interval: 300ms}
    recovery:
      verify_grace: 1s
      ladder:
        - {step: restart}
YAML
start_medic "$WORK/medic.yaml"
wait_for "medic answering" 10 medic_answers
systemctl start worker.service

note "the worker's own processes may push, as user nobody"
# (The check's first run may come before the worker's first push: then it was unknown first.)
wait_for "the heartbeat arrives" 10 bash -c "journalctl -u medic -o cat | grep -qE 'worker/beat: (first result|unknown) -> healthy: heartbeat just now: queue empty'"
status_json worker | json_field service.health | grep -qx healthy || fail "worker is not healthy"

note "the same user outside the unit is refused"
rc=0
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$MEDIC" heartbeat worker/beat 2>&1) || rc=$?
[ "$rc" = 4 ] || fail "a push from outside the unit: exit $rc, not 4: $out"
[ "$out" = "permission denied: only root and the processes of worker.service may push heartbeat worker/beat" ] || fail "refusal said: $out"
wait_for "the refusal is logged" 10 medic_logged "control: refused heartbeat worker/beat from nobody (uid 65534"

note "the worker stops reporting: after its ttl the check fails and medic restarts it"
touch /run/worker-stop
wait_for "the heartbeat goes stale" 15 medic_logged "worker/beat: healthy -> unhealthy: no heartbeat for"
wait_for "medic restarts the worker" 15 medic_logged "restarting worker.service"
wait_for "the restarted worker reports again and the recovery is verified" 20 medic_logged "worker: recovered by restart"
status_json worker | json_field service.health | grep -qx healthy || fail "worker is not healthy after its restart"
echo "ok: heartbeats from the unit as nobody, refused outside it, a stale one restarted"
