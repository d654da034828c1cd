#!/usr/bin/env bash
# The service's config is corrupt: restart and reload only re-read it; restore backs the
# config dir up, puts the defaults back and clears the data dir, and that heals it. A
# symlink in the data dir pointing elsewhere is removed without touching its target, and
# `medic plan` shows all of this beforehand without changing anything.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
mkdir -p /usr/share/demo-defaults /srv/elsewhere
echo "valid=yes" > /usr/share/demo-defaults/demo.service.conf
echo "must survive" > /srv/elsewhere/precious
echo "cached" > /var/lib/demo-8080/cache.bin
ln -s /srv/elsewhere /var/lib/demo-8080/escape
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1500ms
      ladder:
        - {step: restart}
        - {step: reload}
        - {step: restore, config_dir: /etc/demo, defaults_dir: /usr/share/demo-defaults, data_dirs: [/var/lib/demo-8080]}
YAML

note "the dry run"
$MEDIC plan -c "$WORK/medic.yaml" | tee "$WORK/plan"
grep -qF "back up /etc/demo to /var/lib/medic/backups/demo/<timestamp> (keeping the newest 5)" "$WORK/plan" || fail "plan: backup"
grep -qF "replace the contents of /etc/demo with those of /usr/share/demo-defaults" "$WORK/plan" || fail "plan: defaults"
grep -qF "delete the 2 entries inside /var/lib/demo-8080" "$WORK/plan" || fail "plan: data"
[ -e /var/lib/demo-8080/cache.bin ] && [ ! -e /var/lib/medic/backups ] || fail "the dry run changed something"

start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"
echo "valid=no" > /etc/demo/demo.service.conf
echo "an operator's note" > /etc/demo/NOTES
systemctl reload demo.service

wait_for "restart does not heal" 20 medic_logged "demo: restart (attempt 1 of 1) did not heal it"
wait_for "reload does not heal" 20 medic_logged "demo: reload (attempt 1 of 1) did not heal it"
wait_for "restore runs" 20 medic_logged "demo: restore: replaced"
wait_for "restore heals" 20 medic_logged "demo: recovered by restore (attempt 1, round 1): health: HTTP 200"

backup=$(ls -d /var/lib/medic/backups/demo/*)
[ "$(cat "$backup/demo.service.conf")" = "valid=no" ] || fail "the backup does not hold the corrupt config"
[ "$(cat "$backup/NOTES")" = "an operator's note" ] || fail "the backup lost a file"
[ "$(cat /etc/demo/demo.service.conf)" = "valid=yes" ] || fail "the defaults were not restored"
[ ! -e /etc/demo/NOTES ] || fail "config_dir holds more than the defaults"
[ -z "$(ls -A /var/lib/demo-8080)" ] || fail "the data dir was not cleared"
[ "$(cat /srv/elsewhere/precious)" = "must survive" ] || fail "a symlink was followed out of the data dir"
[ -d /usr/share/demo-defaults ] && [ "$(cat /usr/share/demo-defaults/demo.service.conf)" = "valid=yes" ] || fail "defaults touched"
echo "ok: restart and reload did not heal, restore did; backup kept, defaults back, data cleared, nothing else touched"
