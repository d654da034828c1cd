#!/usr/bin/env bash
# Three services in a real systemd, each needing the one before: db <- app <- worker (the
# demo service with --needs answers 502 while what it needs does not answer 200). db answers
# 500: app and worker fail too. With depends_on, medic restarts db alone; app and worker are
# held meanwhile (no step, no attempt), said in `medic status`; once db is healthy they are
# verified at once and heal without a step. The webhook is paged once, for db; the symptoms'
# alerts are never sent. A cycle is refused by `medic validate`.
. "$(dirname "$0")/../lib.sh"

note "a cycle is refused, said as its path"
cat > "$WORK/cycle.yaml" <<YAML
services:
  app: {unit: app.service, depends_on: [worker]}
  worker: {unit: worker.service, depends_on: [app]}
YAML
rc=0
"$MEDIC" validate -c "$WORK/cycle.yaml" > "$WORK/cycle.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "medic validate of a cycle exited $rc: $(cat "$WORK/cycle.out")"
grep -qF "cycle.yaml:3:47: service 'worker': depends_on makes a cycle: app → worker → app" "$WORK/cycle.out" ||
  fail "the cycle is not said as its path, where it is: $(cat "$WORK/cycle.out")"

# db's restart takes two seconds (it opens its files), long enough to see the others held.
install_demo db.service 8081 "ExecStartPre=/bin/sleep 2"
install_demo app.service 8082
install_demo worker.service 8083
for pair in app:8081 worker:8082; do
  unit=${pair%%:*} port=${pair##*:}
  mkdir -p "/etc/systemd/system/$unit.service.d"
  printf '[Service]\nExecStart=\nExecStart=/usr/bin/python3 %s --port %s --needs http://127.0.0.1:%s/health\n' \
    "$DEMO" "$(( port + 1 ))" "$port" > "/etc/systemd/system/$unit.service.d/needs.conf"
done
systemctl daemon-reload
systemctl restart app.service worker.service
wait_for "worker answering through app and db" 10 curl -fsS http://127.0.0.1:8083/health

start_webhook hook 9096 "$WORK/hook.jsonl"
cat > "$WORK/medic.yaml" <<YAML
alerts:
  sinks:
    hook: {type: webhook, url: "http://127.0.0.1:9096/hook", rate_limit: {max: 0}}
services:
YAML
# The dependents' thresholds are a run longer than db's: by the time they are past theirs,
# db has surely answered 500 to a check of its own (the order does not rest on timing).
for entry in db:8081::2 app:8082:db:3 worker:8083:app:3; do
  IFS=: read -r name port dep threshold <<<"$entry"
  cat >> "$WORK/medic.yaml" <<YAML
  $name:
    unit: $name.service
    failure_threshold: $threshold
    ${dep:+depends_on: [$dep]}
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:$port/health", interval: 300ms, timeout: 250ms}
    recovery:
      verify_grace: 5s
      ladder: [{step: restart, attempts: 1}]
YAML
done
wait_for "the webhook receiver listens" 10 sh -c "ss -ltn | grep -q ':9096 '"
start_medic "$WORK/medic.yaml"
install_control_policy
for s in db app worker; do wait_for "first healthy result of $s" 10 medic_logged "$s/health: first result -> healthy"; done

note "db answers 500: app and worker fail with it"
curl -fsS -X POST http://127.0.0.1:8081/control/unhealthy >/dev/null
wait_for "db's recovery" 10 medic_logged "db: recovery started: check 'health' failed 2 in a row"
wait_for "app held, put down to db" 10 medic_logged "app: check 'health' failed 3 in a row: HTTP 502 is not an expected status; put down to its dependency: db is"
wait_for "worker held, put down to app" 10 medic_logged "worker: check 'health' failed 3 in a row: HTTP 502 is not an expected status; put down to its dependency: app is"
held_app() { { "$MEDIC" status 2>/dev/null || true; } | grep -E '^app +held .*waiting: db is recovering \(restart 1 of 1, round 1 of 3\)'; }
wait_for --show "$MEDIC status" "medic status says whom app waits for" 10 held_app
status_json app | json_field service.held_by.name | grep -qx db || fail "status --json app: held_by is not db"

# Healed without a step: as soon as its checks pass (db answers before its own
# verification ends), or when what it needs is verified up.
healed_without_step() { medic_log | grep -E "^$1: healthy again.*, without a step"; }
wait_for "db recovered by its restart" 20 medic_logged "db: recovered by restart (attempt 1, round 1)"
wait_for "app healed with db" 10 healed_without_step app
wait_for "worker healed with app" 10 healed_without_step worker
[ "$(medic_log | grep -c 'restarting ')" = 1 ] || fail "more than db was restarted: $(medic_log | grep 'restarting ')"
medic_log | grep -q "app: recovery started\|worker: recovery started" && fail "a dependent started a recovery of its own"

note "one page, for db; the symptoms' alerts never sent"
db_resolved() { [ "$(webhook_count "$WORK/hook.jsonl" resolved MedicServiceUnhealthy db)" = 1 ]; }
wait_for "db's alert resolved at the webhook" 10 db_resolved
# What the webhook was told of SERVICE: "state alert-or-event: summary" per notification.
told_of() {
  python3 -c 'import json,sys
for l in open(sys.argv[1]):
    b = json.loads(json.loads(l)["body"])
    if b["service"] == sys.argv[2]: print(b["state"], b["alert"] + ":", b["summary"], "| caused_by:", b.get("caused_by"))' "$WORK/hook.jsonl" "$1"
}
for s in app worker; do
  [ -z "$(told_of $s)" ] || fail "$s was paged for db's fault: $(told_of $s)"
done
[ "$(webhook_count "$WORK/hook.jsonl" firing MedicServiceUnhealthy db)" = 1 ] || fail "db paged other than once"
echo "what the webhook was told:"
for s in db app worker; do told_of $s; done
echo "ok: db restarted alone; app and worker held, then healed with it; one page"
