#!/usr/bin/env bash
# An operator at 3 a.m., in a real systemd: `medic status` as root, as a member of group
# medic and as anyone else; a pause during an outage (no recovery; it outlives a restart of
# medic), `recover --step restore` while paused, resume; status while a recovery runs;
# gave-up, then reset and a fresh recovery. Every JSON answer is checked against the schema.
. "$(dirname "$0")/../lib.sh"

install_control_policy
useradd --no-create-home --groups medic alice   # may read
useradd --no-create-home bob                    # may not even read
as() { local who=$1; shift; runuser -u "$who" -- "$@"; }

install_demo demo.service 8080
mkdir -p /usr/share/demo-defaults
echo "valid=yes" > /usr/share/demo-defaults/demo.service.conf
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 2s
      max_rounds: 1
      ladder:
        - {step: restart}
        - {step: restore, config_dir: /etc/demo, defaults_dir: /usr/share/demo-defaults}
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

note "who may ask what"
"$MEDIC" status > "$WORK/status"; cat "$WORK/status"
grep -qE "^demo +healthy" "$WORK/status" || fail "root's status screen"
as alice "$MEDIC" status >/dev/null || fail "a member of group medic cannot read the status"
[ "$(status_json | json_field health)" = healthy ] || fail "health in JSON"
rc=0; as alice "$MEDIC" pause demo 2>"$WORK/err" || rc=$?
[ $rc = 4 ] && grep -q "permission denied" "$WORK/err" || fail "group medic may pause (rc $rc): $(cat "$WORK/err")"
rc=0; as bob "$MEDIC" status 2>"$WORK/err" || rc=$?
[ $rc = 4 ] && grep -q "permission denied" "$WORK/err" || fail "anyone may read the status (rc $rc): $(cat "$WORK/err")"

note "a pause during an outage: the checks see it, nothing is done"
"$MEDIC" pause demo --reason "disk swap" > "$WORK/out"
grep -qF "paused demo until \`medic resume demo\`" "$WORK/out" || fail "pause: $(cat "$WORK/out")"
echo "valid=no" > /etc/demo/demo.service.conf   # only a restore heals this
systemctl reload demo.service
wait_for "the failure is seen and held" 10 medic_logged "not recovering: paused (disk swap, by root (uid 0"
systemctl restart medic   # the pause is kept across a restart of medic
wait_for "medic back" 10 medic_answers
status_json demo > "$WORK/paused.json"
[ "$(json_field service.paused.reason < "$WORK/paused.json")" != None ] || fail "the pause was lost in the restart"
wait_for "the restarted medic sees the failure too, and holds it" 10 medic_logged_times "not recovering: paused (disk swap" 2
! medic_logged "restarting demo.service" || fail "a paused service was restarted"
as alice "$MEDIC" status demo > "$WORK/alice" || true   # exit 2: unhealthy
grep -q "paused:   until resumed: disk swap, by root" "$WORK/alice" || fail "alice's view: $(cat "$WORK/alice")"

note "resume: still failing, so recovery starts at once (restart does not heal this, restore does)"
"$MEDIC" resume demo > "$WORK/out"
grep -qx "resumed demo: it is still failing, so its recovery has started" "$WORK/out" || fail "resume: $(cat "$WORK/out")"
wait_for "the resumed recovery heals it" 20 medic_logged "demo: recovered by restore (attempt 1, round 1)"
[ "$(status_json demo | json_field service.paused)" = None ] || fail "still paused after resume"

note "recover --step restore, asked for during a paused outage, waits for the verdict"
"$MEDIC" pause demo --for 10m --reason "checking by hand" > /dev/null
echo "valid=no" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "the new failure is held" 10 medic_logged "not recovering: paused (checking by hand, by root (uid 0"
"$MEDIC" recover demo --step restore > "$WORK/recover" || fail "recover: $(cat "$WORK/recover")"; cat "$WORK/recover"
grep -qF "healed: recovered by restore (attempt 1, round 1)" "$WORK/recover" || fail "recover --step restore"
[ "$(cat /etc/demo/demo.service.conf)" = "valid=yes" ] || fail "restore did not put the defaults back"
medic_logged "recovery started: restore requested by root (uid 0" || fail "the journal does not say who asked"
"$MEDIC" resume demo > /dev/null

note "status while a recovery runs, then gave-up"
echo "valid=no" > /usr/share/demo-defaults/demo.service.conf   # now nothing in the ladder heals it
echo "valid=no" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "a recovery under way shows in status" 15 sh -c \
  "'$MEDIC' status --json | python3 -c 'import json,sys; s=json.load(sys.stdin)[\"services\"][0]; sys.exit(0 if s[\"phase\"] in (\"recovering\",\"verifying\") and s[\"recovery\"] else 1)'"
status_json > "$WORK/running.json"
"$MEDIC" status > "$WORK/running.txt" || true; cat "$WORK/running.txt"
wait_for "gave up" 20 medic_logged "demo: gave up after 1 round"
[ "$(status_json demo | json_field service.phase)" = gave-up ] || fail "status does not show gave-up"
rc=0; "$MEDIC" status >/dev/null || rc=$?
[ $rc = 2 ] || fail "status exit code while unhealthy: $rc"

note "reset after gave-up: a fresh recovery, which now heals"
echo "valid=yes" > /usr/share/demo-defaults/demo.service.conf
"$MEDIC" reset demo > "$WORK/out"
grep -q "^reset demo" "$WORK/out" || fail "reset: $(cat "$WORK/out")"
wait_for "a fresh recovery" 20 medic_logged_times "demo: recovery started: check 'health' failed 2 in a row" 2
wait_for "which heals it" 20 medic_logged_times "demo: recovered by restore (attempt 1, round 1)" 3
status_json demo > "$WORK/end.json"
[ "$(json_field service.figures.gave_up < "$WORK/end.json")" = 1 ] || fail "figures: gave up"
[ "$(json_field service.figures.recovered < "$WORK/end.json")" = 3 ] || fail "figures: recovered"
[ "$(json_field service.phase < "$WORK/end.json")" = healthy ] || fail "not healthy at the end"
"$MEDIC" status demo || true
echo "ok: status for root and group medic only; pause held recovery and outlived a restart, resume recovered; recover --step restore healed; reset left gave-up"
