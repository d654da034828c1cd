#!/usr/bin/env bash
# The primary cannot be healed and the database it needs is down: medic fails over to the
# backup unit at once (the service's conditions gate restarts, not the failover that exists
# for this) and verifies it. While failed over it re-checks the primary's conditions; once
# they hold it fails back. A first fail-back finds the primary still broken (it does not
# verify): medic goes back to the backup. After the operator fixes the primary, the next
# fail-back holds.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
install_demo database.service 8081
systemctl stop database.service
install_backup_unit
cat > "$WORK/medic.yaml" <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1500ms
      ladder:
        - {step: failover, backup_unit: demo-backup.service}
      conditions:
        units_active: [database.service]
        recheck: 1s
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

note "the primary breaks; the database it would need is down too"
echo "valid=no" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "failed over, with the database still down" 20 medic_logged "demo: failed over to demo-backup.service: health: HTTP 200"
! medic_logged "recovery held" || fail "the service's conditions blocked the failover"
[ "$(systemctl is-active database.service)" != active ] || fail "the database came up by itself"
[ "$(systemctl is-active demo-backup.service)" = active ] || fail "the backup is not running"
[ "$(systemctl is-active demo.service)" != active ] || fail "the primary is still running"
curl -fsS http://127.0.0.1:8080/health >/dev/null || fail "the backup does not answer"

note "no fail-back while the database is down; once it is up, the primary is tried, still broken: back to the backup"
! medic_logged "failing back from" || fail "failed back while the conditions did not hold"
systemctl start database.service
wait_for "a fail-back that does not verify" 20 medic_logged "demo: demo.service did not verify after failing back"
wait_for "the backup runs again" 10 bash -c "[ \"\$(systemctl is-active demo-backup.service)\" = active ]"

note "the operator fixes the primary: the next fail-back holds"
echo "valid=yes" > /etc/demo/demo.service.conf
wait_for "failed back" 20 medic_logged "demo: failed back to demo.service: health: HTTP 200"
[ "$(systemctl is-active demo.service)" = active ] || fail "the primary is not running"
[ "$(systemctl is-active demo-backup.service)" != active ] || fail "the backup still runs"
[ "$(journalctl -u medic MEDIC_EVENT=failed-over -o cat | wc -l)" = 1 ] || fail "expected one failed-over entry"
echo "ok: failed over (after the condition held), a failed fail-back returned to the backup, the next one held"
