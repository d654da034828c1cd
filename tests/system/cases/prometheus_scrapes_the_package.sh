#!/usr/bin/env bash
# The fleet's path on one host: medic installed from the .deb serves /metrics on loopback (its
# shipped config), a real Prometheus (Debian's package) scrapes it with the alerting rules
# medic ships, a service fails past every step of its ladder, and the shipped rule
# MedicRecoveryGaveUp fires in Prometheus, as its API says.
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
systemctl enable medic
systemctl restart medic   # (the package may have started it before demo.yaml was there)
wait_for "medic serves /metrics where its shipped config says" 10 curl -fsS http://127.0.0.1:9968/metrics
curl -fsS http://127.0.0.1:9968/metrics | promtool check metrics || fail "/metrics does not pass promtool"

cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [$RULES]
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
firing() { query alerts | python3 -c 'import json,sys
for a in json.load(sys.stdin)["data"]["alerts"]:
    if a["labels"]["alertname"] == "MedicRecoveryGaveUp" and a["labels"]["service"] == "demo" and a["state"] == "firing":
        print(a["annotations"]["summary"]); sys.exit(0)
sys.exit(1)'; }
wait_for "the shipped rule MedicRecoveryGaveUp fires in Prometheus" 30 firing
note "$(firing)"
systemctl stop prom medic
echo "ok: scraped from the package, the shipped rule fired"
