#!/usr/bin/env bash
# Real Prometheus Alertmanagers (Debian's package; two, as an HA pair is configured) receive
# medic's alerts: while the service is down and medic has given up, each one's API lists them firing, with
# their labels; once an operator fixes it they are resolved, and Alertmanager's own
# notification to its receiver says so. medic's journal entries carry the same fields.
. "$(dirname "$0")/../lib.sh"

start_webhook am-receiver 9099 "$WORK/am-notified.jsonl"
cat > "$WORK/am.yml" <<YAML
route:
  receiver: hook
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:9099/from-alertmanager
        send_resolved: true
YAML
for port in 9093 9094; do
  systemd-run --quiet --unit=alertmanager-$port /usr/bin/prometheus-alertmanager --config.file="$WORK/am.yml" \
    --storage.path="$WORK/am-data-$port" --web.listen-address=127.0.0.1:$port --cluster.listen-address=
done
wait_for "Alertmanager 1 ready" 30 curl -fsS http://127.0.0.1:9093/-/ready
wait_for "Alertmanager 2 ready" 30 curl -fsS http://127.0.0.1:9094/-/ready

install_demo demo.service 8080
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
alerts:
  sinks:
    am:
      type: alertmanager
      urls: [http://127.0.0.1:9093, http://127.0.0.1:9094]
      resend_interval: 10s
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 1s
      max_rounds: 1
      ladder:
        - {step: restart}
YAML
start_medic "$WORK/medic.yaml"
wait_for "first healthy result" 10 medic_logged "demo/health: first result -> healthy"

# An Alertmanager's API, filtered by alert name: prints "state severity service instance" per alert.
am_alerts() {
  curl -fsS -G "http://127.0.0.1:$AM_PORT/api/v2/alerts" --data-urlencode "filter=alertname=\"$1\"" |
    python3 -c 'import json,sys; [print(a["status"]["state"], a["labels"]["severity"], a["labels"].get("service","-"), a["labels"]["instance"]) for a in json.load(sys.stdin)]'
}
# am_says ALERT EXPECTED: both Alertmanagers of the pair say the same.
am_says() { [ "$(AM_PORT=9093 am_alerts "$1")" = "$2" ] && [ "$(AM_PORT=9094 am_alerts "$1")" = "$2" ]; }
# Alertmanager's own notifications to its receiver: "status alertname" per notification.
am_notified() {
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    print(b["status"], b["commonLabels"]["alertname"])' "$WORK/am-notified.jsonl" 2>/dev/null | grep -qx "$1"
}

note "an outage nothing in the ladder heals"
echo "valid=no" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "medic gives up" 20 medic_logged "demo: gave up after 1 round"
wait_for "Alertmanager lists the service unhealthy" 15 am_says MedicServiceUnhealthy "active warning demo medic-box"
wait_for "Alertmanager lists the gave-up" 15 am_says MedicRecoveryGaveUp "active critical demo medic-box"
wait_for "Alertmanager notified its receiver" 15 am_notified "firing MedicRecoveryGaveUp"
curl -fsS http://127.0.0.1:9093/api/v2/alerts | python3 -m json.tool | sed -n '1,40p'
# Why, in the annotations: the cause in words and the unit's own journal lines (trimmed).
curl -fsS -G http://127.0.0.1:9093/api/v2/alerts --data-urlencode 'filter=alertname="MedicRecoveryGaveUp"' | python3 -c '
import json, sys
a = json.load(sys.stdin)[0]["annotations"]
assert a["cause"].startswith("check '"'"'health'"'"' failed 2 in a row: HTTP 500"), a
assert "demo.service" in a["journal"] and len(a["journal"].encode()) <= 1024, a
print("# annotations: cause:", a["cause"], "| journal:", a["journal"].splitlines()[-1])' || fail "the annotations do not say why"

note "an operator fixes it: resolved"
echo "valid=yes" > /etc/demo/demo.service.conf
systemctl restart demo.service
wait_for "medic sees it healthy" 20 medic_logged "demo: healthy again without medic's help"
wait_for "resolved in Alertmanager" 15 am_says MedicServiceUnhealthy ""
wait_for "gave-up resolved in Alertmanager" 15 am_says MedicRecoveryGaveUp ""
wait_for "Alertmanager notified the resolution" 15 am_notified "resolved MedicRecoveryGaveUp"
wait_for "and of the health" 15 am_notified "resolved MedicServiceUnhealthy"
[ -z "$(ls -A /var/lib/medic/outbox)" ] || fail "undelivered alerts left: $(ls /var/lib/medic/outbox)"

note "the journal: structured fields for journalctl MEDIC_SERVICE=demo"
journalctl -u medic MEDIC_SERVICE=demo MEDIC_EVENT=gave-up -o json --no-pager | python3 -c '
import json, sys
e = [json.loads(l) for l in sys.stdin][0]
assert e["PRIORITY"] == "2" and e["MEDIC_SEVERITY"] == "critical" and e["MEDIC_STEP"] == "restart", e
print("# journal:", e["MEDIC_EVENT"], e["MEDIC_SEVERITY"], e["MESSAGE"])' || fail "journal fields"
echo "ok: firing then resolved in Alertmanager's API and in its own notifications"
