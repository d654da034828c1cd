#!/usr/bin/env bash
# With fail_back: false medic stays on the backup after a failover; the operator brings the
# primary back by hand, verified like any step: `medic recover SERVICE --step failback`.
. "$(dirname "$0")/../lib.sh"

install_control_policy
install_demo demo.service 8080
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
        - {step: failover, backup_unit: demo-backup.service, fail_back: false}
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

echo "valid=no" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "failed over" 20 medic_logged "demo: failed over to demo-backup.service: health: HTTP 200"
rc=0; "$MEDIC" reset demo 2>"$WORK/err" >&2 || rc=$?
[ $rc = 1 ] && grep -qF "or now with \`medic recover demo --step failback\`" "$WORK/err" ||
  fail "the refusal does not say how to leave the failover (rc $rc): $(cat "$WORK/err")"

"$MEDIC" status demo > "$WORK/status" || true
grep -qF "now: medic recover demo --step failback" "$WORK/status" || fail "status does not say how to leave: $(cat "$WORK/status")"

note "the operator fixes the primary and fails back by hand"
echo "valid=yes" > /etc/demo/demo.service.conf
"$MEDIC" recover demo --step failback > "$WORK/out" 2>&1 || fail "recover --step failback: $(cat "$WORK/out")"
grep -qF "healed: failed back to demo.service: health: HTTP 200" "$WORK/out" || fail "verdict: $(cat "$WORK/out")"
[ "$(systemctl is-active demo.service)" = active ] || fail "the primary is not running"
[ "$(systemctl is-active demo-backup.service)" != active ] || fail "the backup still runs"
[ "$(status_json demo | json_field service.phase)" = healthy ] || fail "not healthy after the fail-back"
echo "ok: failed over with fail_back: false, then back on demand, verified"
