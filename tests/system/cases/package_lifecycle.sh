#!/usr/bin/env bash
# The operator's path: install the .deb, enable medic, drop in a service, reload, see it
# recover that service; a broken reload is refused; the watchdog restarts a hung agent;
# an upgrade keeps edits and state; remove keeps state; purge removes it.
. "$(dirname "$0")/../lib.sh"
DEB=$(ls "$MEDIC_BUILD"/medic_*_amd64.deb | head -1)
export DEBIAN_FRONTEND=noninteractive

note "install with apt (its dependencies must resolve)"
apt-get install -y "$DEB" </dev/null >/dev/null
MEDIC_INSTALLED=/usr/bin/medic
systemctl enable --now medic
[ "$(systemctl is-active medic)" = active ] || fail "medic is not running after install"
[ -d /var/lib/medic ] || fail "no state directory"
/usr/bin/medic --version | grep -q "medic 0.1.0" || fail "wrong binary"

note "the installed unit's exposure, by systemd's own measure, is OK: at most 4.5"
exposure=$(systemd-analyze security --no-pager medic.service | sed -n 's/.*Overall exposure level for medic.service: \([0-9.]*\).*/\1/p')
note "systemd-analyze security medic.service: $exposure"
systemd-analyze security --threshold=45 --no-pager medic.service >/dev/null ||
  fail "medic.service's exposure is $exposure, above 4.5: $(systemd-analyze security --no-pager medic.service | grep '✗')"

note "a service dropped into checks.d, then systemctl reload medic"
install_demo demo.service 8080
cat > /etc/medic/checks.d/demo.yaml <<YAML
services:
  demo:
    unit: demo.service
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 1s, timeout: 500ms}
YAML
systemctl reload medic
wait_for "medic applied the new service" 10 medic_logged "configuration reloaded: 1 services, 1 checks"
wait_for "medic watches demo" 10 medic_logged "systemd reports demo.service active"
wait_for "STATUS shows it" 10 bash -c "systemctl show -p StatusText --value medic | grep -q '1 services: 1 healthy'"
# The control interface as installed: its bus policy and the group that may read.
getent group medic >/dev/null || fail "the package did not create group medic"
useradd --no-create-home --groups medic reader
wait_for "medic status for root" 10 "$MEDIC_INSTALLED" status demo
runuser -u reader -- "$MEDIC_INSTALLED" status >/dev/null || fail "group medic cannot read the status"
rc=0; runuser -u reader -- "$MEDIC_INSTALLED" pause demo 2>/dev/null || rc=$?
[ $rc = 4 ] || fail "group medic may pause (rc $rc)"

note "the watched service is killed: medic recovers it"
kill -KILL "$(main_pid demo.service)"
wait_for "medic restarted demo" 10 medic_logged "restart of demo.service done"
wait_for "medic verified it" 10 medic_logged "demo: recovered by restart"
wait_for "demo answering" 10 curl -fsS http://127.0.0.1:8080/health

note "a broken config on reload is refused: systemctl reload fails, the old one keeps running"
printf 'services:\n  broken:\n    unit: broken\n' > /etc/medic/checks.d/broken.yaml
pid=$(main_pid medic.service)
rc=0; systemctl reload medic 2>"$WORK/reload.err" || rc=$?
[ $rc != 0 ] || fail "systemctl reload medic said OK for a refused configuration"
wait_for "the refusal with file:line:col" 10 \
  medic_logged "/etc/medic/checks.d/broken.yaml:3:11: service 'broken': invalid unit name 'broken'"
systemctl status medic --no-pager -n 5 | grep -qF "broken.yaml:3:11: service 'broken': invalid unit name" ||
  fail "systemctl status does not show why the reload failed"
systemctl is-active -q medic || fail "a refused reload stopped medic"
[ "$(main_pid medic.service)" = "$pid" ] || fail "medic was restarted by a bad reload"
kill -KILL "$(main_pid demo.service)"
wait_for "medic still recovers on the old config" 10 \
  bash -c "[ \$(journalctl -u medic -o cat | grep -c 'restart of demo.service done') -ge 2 ]"
rm /etc/medic/checks.d/broken.yaml

note "a restore step whose paths the sandbox keeps read-only is reported"
mkdir -p /srv/demo/conf
cat > /etc/medic/checks.d/restore.yaml <<YAML
services:
  restorable:
    unit: restorable.service
    recovery:
      ladder:
        - {step: restore, config_dir: /srv/demo/conf, defaults_dir: /usr/share/demo}
YAML
systemctl reload medic
wait_for "the read-only path is named" 10 medic_logged \
  "restorable: the restore step will need to write /srv/demo/conf, which is read-only to medic; add it to ReadWritePaths="
rm /etc/medic/checks.d/restore.yaml

note "a hung agent (SIGSTOP) is restarted by systemd's watchdog"
mkdir -p /etc/systemd/system/medic.service.d
printf '[Service]\nWatchdogSec=2s\n' > /etc/systemd/system/medic.service.d/watchdog.conf
systemctl daemon-reload
systemctl restart medic
pid=$(main_pid medic.service)
kill -STOP "$pid"
wait_for "systemd saw the watchdog expire" 20 bash -c "journalctl -u medic -o cat | grep -q 'Watchdog timeout'"
wait_for "a new medic is running" 20 bash -c "[ \"\$(systemctl is-active medic)\" = active ] && [ \"\$(systemctl show -p MainPID --value medic)\" != $pid ]"
rm -r /etc/systemd/system/medic.service.d && systemctl daemon-reload

note "upgrade to a newer version keeps the operator's edits and medic's state"
echo "# edited by the operator" >> /etc/medic/medic.yaml
echo marker > /var/lib/medic/marker
dpkg-deb -R "$DEB" "$WORK/pkg"
sed -i 's/^Version: .*/Version: 0.1.1/' "$WORK/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -b "$WORK/pkg" "$WORK/medic_0.1.1_amd64.deb" >/dev/null
pid=$(main_pid medic.service)
apt-get install -y "$WORK/medic_0.1.1_amd64.deb" </dev/null >/dev/null
[ "$(dpkg-query -W -f='${Version}' medic)" = 0.1.1 ] || fail "not upgraded"
grep -q "# edited by the operator" /etc/medic/medic.yaml || fail "the upgrade overwrote /etc/medic/medic.yaml"
[ -f /var/lib/medic/marker ] || fail "the upgrade lost medic's state"
wait_for "medic restarted by the upgrade" 10 bash -c "[ \"\$(systemctl is-active medic)\" = active ] && [ \"\$(systemctl show -p MainPID --value medic)\" != $pid ]"

note "remove keeps the state, purge removes it"
apt-get remove -y medic </dev/null >/dev/null
[ "$(systemctl is-active medic)" != active ] || fail "medic still runs after remove"
[ -f /var/lib/medic/marker ] || fail "remove deleted medic's state"
[ -f /etc/medic/medic.yaml ] || fail "remove deleted the configuration"
apt-get purge -y medic </dev/null >/dev/null
[ ! -e /var/lib/medic ] || fail "purge left /var/lib/medic"
[ ! -e /etc/medic/medic.yaml ] || fail "purge left /etc/medic/medic.yaml"
echo "ok: install, reload, recover, refused reload, watchdog, upgrade, remove, purge"
