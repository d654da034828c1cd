#!/usr/bin/env bash
# Back to the last configuration that worked. demo runs healthy on config A long enough for
# medic to keep a known-good snapshot of /etc/demo; config B is pushed and its `config`
# check fails: the ladder its when: names (rollback, then restore) runs — no restart first —
# and the rollback brings A back (B kept in a backup), not the factory defaults. A symlink
# planted in the snapshot directory, named to look newest, is never followed. demo2 has no
# snapshot yet: its rollback is skipped and restore heals it. `medic plan` says which
# snapshot a rollback would use.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
install_demo demo2.service 8081
mkdir -p /usr/share/demo-defaults /srv/evil
printf 'valid=yes\nversion=defaults\n' > /usr/share/demo-defaults/demo.service.conf
printf 'valid=yes\nversion=defaults\n' > /usr/share/demo-defaults/demo2.service.conf
printf 'valid=yes\nversion=A\n' > /etc/demo/demo.service.conf
printf 'valid=yes\nversion=A\n' > /etc/demo/demo2.service.conf
printf 'valid=yes\nversion=EVIL\n' > /srv/evil/demo.service.conf

service() {  # service NAME PORT SNAPSHOT_AFTER
  cat <<YAML
  $1:
    unit: $1.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:$2/health", interval: 500ms, timeout: 300ms}
      - {name: config, type: exec, user: root, interval: 500ms, timeout: 300ms,
         command: [/bin/sh, -c, "grep -qx valid=yes /etc/demo/$1.service.conf || { echo 'no valid=yes'; exit 2; }"]}
    recovery:
      verify_grace: 2s
      ladders:
        - when: config
          ladder:
            - {step: rollback, config_dir: /etc/demo/$1, snapshot_after: $3}
            - {step: restore, config_dir: /etc/demo/$1, defaults_dir: /usr/share/demo-defaults/$1}
YAML
}
# Each service's config dir of its own (a snapshot is of a whole directory).
for name in demo demo2; do
  mkdir -p /etc/demo/$name /usr/share/demo-defaults/$name
  mv /etc/demo/$name.service.conf /etc/demo/$name/
  mv /usr/share/demo-defaults/$name.service.conf /usr/share/demo-defaults/$name/
  ln -s /etc/demo/$name/$name.service.conf /etc/demo/$name.service.conf  # (where the demo reads it)
done
# Restarted only once its config is in place: it reads it at start.
systemctl restart demo demo2
wait_for "demo on A" 10 curl -fsS http://127.0.0.1:8080/health
wait_for "demo2 on A" 10 curl -fsS http://127.0.0.1:8081/health
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
services:
$(service demo 8080 2s)
$(service demo2 8081 1h)
YAML
start_medic "$WORK/medic.yaml"
wait_for "demo healthy" 10 medic_logged "demo/config: first result -> healthy"
wait_for "a known-good snapshot of A" 30 medic_logged "demo: took a known-good snapshot of /etc/demo/demo"
snapshot=$(ls -d /var/lib/medic/snapshots/demo/2*)
grep -qx version=A "$snapshot/demo.service.conf" || fail "the snapshot does not hold A"
ln -s /srv/evil /var/lib/medic/snapshots/demo/29991231T000000Z   # sorts newest; must never be used

$MEDIC plan -c "$WORK/medic.yaml" -s demo | tee "$WORK/plan"
grep -qF "replace the contents of /etc/demo/demo with the newest known-good snapshot, $snapshot" "$WORK/plan" ||
  fail "plan: which snapshot"
$MEDIC plan -c "$WORK/medic.yaml" -s demo2 | grep -qF "no known-good snapshot of /etc/demo/demo2 yet" || fail "plan: no snapshot"

note "config B pushed to both"
printf 'valid=no\nversion=B\n' > /etc/demo/demo/demo.service.conf
printf 'valid=no\nversion=B\n' > /etc/demo/demo2/demo2.service.conf
wait_for "demo recovered" 30 medic_logged "demo: recovered by rollback"
wait_for "demo2 recovered" 30 medic_logged "demo2: recovered by restore"

medic_logged "demo: recovery started: check 'config' failed" || fail "demo: not started by its config check"
medic_logged "climbing ladder 1 (when: config) for its cause (check)" || fail "not the config ladder"
medic_log | grep -E "^demo2?: restarting" && fail "a restart ran before the config was put back"
grep -qx version=A /etc/demo/demo/demo.service.conf || fail "demo: A is not back: $(cat /etc/demo/demo/demo.service.conf)"
grep -qx version=B /var/lib/medic/backups/demo/*/demo.service.conf || fail "demo: B is not kept in a backup"
grep -qx version=EVIL /srv/evil/demo.service.conf && [ -L /var/lib/medic/snapshots/demo/29991231T000000Z ] ||
  fail "the planted symlink was followed or removed"
medic_logged "demo2: rollback skipped" || medic_log | grep -qF "demo2: no known-good snapshot" ||
  fail "demo2: the rollback did not say it was skipped"
grep -qx version=defaults /etc/demo/demo2/demo2.service.conf || fail "demo2: the defaults are not back"
curl -fsS http://127.0.0.1:8080/health >/dev/null && curl -fsS http://127.0.0.1:8081/health >/dev/null || fail "not healthy"
echo "ok: rollback brought back the last good config (B kept), no snapshot -> restore, the planted symlink untouched"
