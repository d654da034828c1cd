#!/usr/bin/env bash
# The fleet's path on one host, as docs/fleet.md says to set it up: medic installed from the
# .deb serves /metrics on loopback (its shipped config) and sends its own alerts to a real
# Alertmanager (Debian's package) routed by the shipped example; a real Prometheus scrapes
# medic with the shipped rules and alerts the same Alertmanager. A service fails past every
# step of its ladder: Alertmanager holds its gave-up once (from medic, with the reason), no
# second copy from Prometheus once it has evaluated its rules since, "unhealthy" is inhibited
# by the gave-up, and the receiver is paged once for it.
. "$(dirname "$0")/../lib.sh"
DEB=$(ls "$MEDIC_BUILD"/medic_*_amd64.deb | head -1)
export DEBIAN_FRONTEND=noninteractive
apt-get install -y "$DEB" </dev/null >/dev/null
RULES=/usr/share/medic/prometheus/medic.rules.yml
[ -f $RULES ] || fail "the package does not ship the alerting rules"
promtool check rules $RULES >/dev/null || fail "the shipped rules do not load"

install_demo demo.service 8080
cat > /etc/medic/checks.d/demo.yaml <<YAML
services:
  demo:
    unit: demo.service
    failure_threshold: 1
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:8080/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 500ms
      max_rounds: 1
      ladder:
        - {step: restart, attempts: 1}
YAML
cat >> /etc/medic/medic.yaml <<YAML
alerts:
  sinks:
    am: {type: alertmanager, urls: [http://127.0.0.1:9093]}
YAML
"$MEDIC" validate -c /etc/medic/medic.yaml >/dev/null || fail "the config with the alertmanager sink"
# The shipped routing, with a test's timings: no wait to group, and the receiver on loopback.
start_webhook am-receiver 9099 "$WORK/am-notified.jsonl"
sed -e 's/group_wait: 30s/group_wait: 0s/' -e 's/group_interval: 5m/group_interval: 1s/' \
  /usr/share/medic/prometheus/alertmanager-example.yml > "$WORK/am.yml"
systemd-run --quiet --unit=alertmanager /usr/bin/prometheus-alertmanager --config.file="$WORK/am.yml" \
  --storage.path="$WORK/am-data" --web.listen-address=127.0.0.1:9093 --cluster.listen-address=
wait_for "Alertmanager ready" 30 curl -fsS http://127.0.0.1:9093/-/ready
systemctl enable medic
systemctl restart medic   # (the package may have started it before demo.yaml was there)
wait_for "medic serves /metrics where its shipped config says" 10 curl -fsS http://127.0.0.1:9968/metrics
curl -fsS http://127.0.0.1:9968/metrics | promtool check metrics || fail "/metrics does not pass promtool"

cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [$RULES]
alerting:
  alertmanagers: [{static_configs: [{targets: ["127.0.0.1:9093"]}]}]
scrape_configs:
  - job_name: medic
    static_configs: [{targets: ["127.0.0.1:9968"]}]
YAML
systemd-run --quiet --unit=prom /usr/bin/prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/tsdb" --web.listen-address=127.0.0.1:9090
query() { curl -fsS "http://127.0.0.1:9090/api/v1/$1"; }
scraped() { query 'query?query=up%7Bjob%3D%22medic%22%7D' | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and r[0]["value"][1]=="1" else 1)'; }
wait_for "Prometheus scrapes medic (up == 1)" 30 scraped

note "demo's config is broken: restarts only re-read it, so medic gives up"
echo "valid=no" > /etc/demo/demo.service.conf
systemctl reload demo.service
wait_for "medic gives up" 30 medic_logged "demo: gave up after 1 round"
gave_up_at=$(date +%s)
# Alertmanager's alerts about demo: "alertname instance state" per alert.
am_demo() {
  curl -fsS -G http://127.0.0.1:9093/api/v2/alerts --data-urlencode 'filter=service="demo"' |
    python3 -c 'import json,sys; [print(a["labels"]["alertname"], a["labels"]["instance"], a["status"]["state"]) for a in json.load(sys.stdin)]' | sort
}
host=$(hostname)
wait_for "Alertmanager holds medic's gave-up" 20 sh -c "curl -fsS http://127.0.0.1:9093/api/v2/alerts | grep -q MedicRecoveryGaveUp"
# Prometheus has evaluated the shipped rules since: had they a copy of the fault, it would be there now.
evaluated_since() { query rules | python3 -c 'import json,sys,datetime
for g in json.load(sys.stdin)["data"]["groups"]:
    t = datetime.datetime.fromisoformat(g["lastEvaluation"][:26].rstrip("Z") + "+00:00").timestamp()
    sys.exit(0 if t > float(sys.argv[1]) + 1 else 1)
sys.exit(1)' "$gave_up_at"; }
wait_for "Prometheus evaluated its rules after the give-up" 20 evaluated_since
am_demo | tee "$WORK/am-demo"
[ "$(grep -c '^MedicRecoveryGaveUp ' "$WORK/am-demo")" = 1 ] || fail "gave-up not held exactly once: $(cat "$WORK/am-demo")"
grep -qx "MedicRecoveryGaveUp $host active" "$WORK/am-demo" || fail "the gave-up is not medic's own: $(cat "$WORK/am-demo")"
! grep -q "127.0.0.1:9968" "$WORK/am-demo" || fail "a second copy came from Prometheus' rules: $(cat "$WORK/am-demo")"
[ "$(query alerts | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["alerts"]))')" = 0 ] ||
  fail "Prometheus raises alerts of its own for demo's fault: $(query alerts)"
if grep -q "^MedicServiceUnhealthy " "$WORK/am-demo"; then
  grep -qx "MedicServiceUnhealthy $host suppressed" "$WORK/am-demo" || fail "unhealthy is not inhibited by the gave-up"
fi
gave_up_pages() { python3 -c 'import json,sys
n = 0
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    n += sum(1 for a in b["alerts"] if a["labels"]["alertname"] == "MedicRecoveryGaveUp" and a["status"] == "firing")
print(n)' "$WORK/am-notified.jsonl" 2>/dev/null || echo 0; }
paged() { [ "$(gave_up_pages)" -ge 1 ]; }
wait_for "the receiver is paged for the gave-up" 15 paged
[ "$(gave_up_pages)" = 1 ] || fail "paged $(gave_up_pages) times for one gave-up"
systemctl stop prom medic alertmanager
echo "ok: scraped from the package; one fault, one page: medic's gave-up once, nothing from Prometheus' rules, unhealthy inhibited"
