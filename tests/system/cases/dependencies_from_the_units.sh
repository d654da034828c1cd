#!/usr/bin/env bash
# The graph as the units declare it, in a real systemd: app.service Requires=db.service and
# medic reads that over D-Bus (depends_on: systemd); worker names db and does not reconnect
# by itself (on_dependency_restart: restart). db answers 500: medic restarts db alone
# (systemd restarts app with it, as Requires= says); worker, failing meanwhile, is held and
# its alert reaches a real Alertmanager labelled caused_by="db"; once db is verified, worker
# is restarted once, with the reason journalled. `medic report` counts the dependents'
# failures apart; `medic plan` says where each edge came from; a cycle closed by a unit's
# Requires= is refused by `medic validate`; a reload reads the units again.
. "$(dirname "$0")/../lib.sh"

# db's restart takes three seconds (it opens its files): long enough to see worker held.
install_demo db.service 8081 "ExecStartPre=/bin/sleep 3"
install_demo app.service 8082 "" "Requires=db.service
After=db.service"
install_demo worker.service 8083
mkdir -p /etc/systemd/system/worker.service.d
printf '[Service]\nExecStart=\nExecStart=/usr/bin/python3 %s --port 8083 --needs http://127.0.0.1:8081/health\n' "$DEMO" \
  > /etc/systemd/system/worker.service.d/needs.conf
systemctl daemon-reload
systemctl restart worker.service
wait_for "worker answering through db" 10 curl -fsS http://127.0.0.1:8083/health

note "a cycle closed by a unit's Requires= is refused, saying so"
cat > "$WORK/cycle.yaml" <<YAML
services:
  db: {unit: db.service, depends_on: [app]}
  app: {unit: app.service, depends_on: systemd}
YAML
rc=0
"$MEDIC" validate -c "$WORK/cycle.yaml" > "$WORK/cycle.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "medic validate of a cycle through Requires= exited $rc: $(cat "$WORK/cycle.out")"
grep -qF "depends_on makes a cycle: app → db → app (each would wait for the other to recover; systemd's: app → db from app.service's Requires=db.service)" \
  "$WORK/cycle.out" || fail "the cycle is not said with systemd's edge: $(cat "$WORK/cycle.out")"

start_webhook am-receiver 9099 "$WORK/am-notified.jsonl"
cat > "$WORK/am.yml" <<YAML
route: {receiver: hook, group_by: [alertname, service], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
receivers:
  - {name: hook, webhook_configs: [{url: "http://127.0.0.1:9099/from-alertmanager", send_resolved: true}]}
YAML
systemd-run --quiet --unit=alertmanager /usr/bin/prometheus-alertmanager --config.file="$WORK/am.yml" \
  --storage.path="$WORK/am-data" --web.listen-address=127.0.0.1:9093 --cluster.listen-address=

cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
alerts:
  sinks:
    # Every alert, the dependents' too: the team's own inhibit rules read caused_by.
    am: {type: alertmanager, urls: [http://127.0.0.1:9093], inhibit_dependents: false}
services:
YAML
for entry in db:8081:2: app:8082:3:systemd worker:8083:3:[db]; do
  IFS=: read -r name port threshold deps <<<"$entry"
  cat >> "$WORK/medic.yaml" <<YAML
  $name:
    unit: $name.service
    failure_threshold: $threshold
    ${deps:+depends_on: $deps}
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:$port/health", interval: 300ms, timeout: 250ms}
    recovery:
      verify_grace: 8s
      ladder: [{step: restart, attempts: 1}]
YAML
done
echo "    on_dependency_restart: restart" >> "$WORK/medic.yaml"  # (worker's, the last)

"$MEDIC" plan -c "$WORK/medic.yaml" -s app | tee "$WORK/plan.out"
grep -qF "depends on db (from systemd: app.service Requires=db.service)" "$WORK/plan.out" ||
  fail "medic plan does not say app's edge came from systemd"
"$MEDIC" plan -c "$WORK/medic.yaml" -s worker | grep -qF "restarted once after medic restarts one of those" ||
  fail "medic plan does not say worker is restarted after db"

wait_for "Alertmanager ready" 30 curl -fsS http://127.0.0.1:9093/-/ready
start_medic "$WORK/medic.yaml"
install_control_policy
for s in db app worker; do wait_for "first healthy result of $s" 10 medic_logged "$s/health: first result -> healthy"; done
invocation() { systemctl show -p InvocationID --value "$1"; }
app_before=$(invocation app.service) worker_before=$(invocation worker.service)

note "db answers 500"
curl -fsS -X POST http://127.0.0.1:8081/control/unhealthy >/dev/null
wait_for "db's recovery" 10 medic_logged "db: recovery started: check 'health' failed 2 in a row"
wait_for "worker held, put down to db" 10 medic_logged "worker: check 'health' failed 3 in a row: HTTP 502 is not an expected status; put down to its dependency: db is"
# Alertmanager's own notification to its receiver: "status alertname service caused_by".
am_notified() {
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    l = b["commonLabels"]
    print(b["status"], l["alertname"], l.get("service", "-"), l.get("caused_by", "-"))' "$WORK/am-notified.jsonl" 2>/dev/null |
    grep -qx "$1"
}
wait_for "Alertmanager received worker's alert labelled caused_by=db" 15 am_notified "firing MedicServiceUnhealthy worker db"

wait_for "db recovered by its restart" 20 medic_logged "db: recovered by restart (attempt 1, round 1)"
wait_for "worker restarted after db" 10 medic_logged "worker: recovery started: restart after db's restart (on_dependency_restart: restart)"
wait_for "worker's restart verified" 15 medic_logged "worker: recovered by restart"
app_healthy() { [ "$(status_json app | json_field service.health)" = healthy ] && [ "$(status_json app | json_field service.phase)" = healthy ]; }
wait_for "app healthy again, after systemd restarted it with db" 15 app_healthy
restarts=$(medic_log | grep -oE '^[a-z]+: restarting [a-z]+\.service' | sort | tr '\n' ';')
[ "$restarts" = "db: restarting db.service;worker: restarting worker.service;" ] ||
  fail "medic restarted other than db, then worker once: $restarts"
medic_log | grep -q "^app: recovery started" && fail "app started a recovery of its own: systemd restarted it with db"
[ "$(invocation app.service)" != "$app_before" ] || fail "systemd did not restart app with db (Requires=)"
[ "$(invocation worker.service)" != "$worker_before" ] || fail "worker.service was not restarted"

note "medic report counts the dependents' failures apart"
"$MEDIC" report -c "$WORK/medic.yaml" --since 1h | tee "$WORK/report"
"$MEDIC" report -c "$WORK/medic.yaml" --since 1h --json > "$WORK/report.json"
[ "$(json_field faults < "$WORK/report.json")" = 1 ] || fail "report: not db's fault alone: $(cat "$WORK/report")"
[ "$(json_field put_down_to_dependency.by_service.worker < "$WORK/report.json")" = 1 ] ||
  fail "report: worker's failure is not counted apart, put down to db: $(cat "$WORK/report")"
[ "$(json_field put_down_to_dependency.by_dependency.db < "$WORK/report.json")" -ge 1 ] || fail "report: not by dependency"
grep -qF "put down to a dependency (apart from the faults" "$WORK/report" || fail "report text: no count apart"
note "a reload reads the units again"
mkdir -p /etc/systemd/system/app.service.d
printf '[Unit]\nBindsTo=worker.service\n' > /etc/systemd/system/app.service.d/binds.conf
systemctl daemon-reload
systemctl kill -s HUP medic
app_needs_both() { [ "$(status_json app | json_field service.depends_on)" = '["db", "worker"]' ]; }
wait_for "app's edges read again from its unit" 10 app_needs_both
echo "ok: the edge read from Requires=; db restarted alone, worker once after it; caused_by reached Alertmanager; counted apart"
