#!/usr/bin/env bash
# The e-mail and Slack formats from medic in its shipped sandbox, in a real systemd, to a real
# SMTP server (python3-aiosmtpd) and a webhook receiver: a service whose unit keeps exiting
# gives up; the mail's subject says which service on which host and what happened, its body
# the cause and the unit's own last journal lines; Slack's one text says the same.
. "$(dirname "$0")/../lib.sh"

start_webhook slack 9095 "$WORK/slack.jsonl"
systemd-run --quiet --unit=smtp python3 "$MEDIC_REPO/tests/integration/alert_receivers.py" smtp --port 2525 --log "$WORK/mail.jsonl"
cat > /usr/local/bin/quitter <<'SH'
#!/bin/sh
# Runs until /run/quitter-broken exists; from then on it exits 3 at once, saying why.
while [ ! -e /run/quitter-broken ]; do sleep 0.1; done
echo "quitter: cannot open /var/lib/quitter/db: No such file or directory"
exit 3
SH
chmod +x /usr/local/bin/quitter
# Once broken, it cannot start again at all (its ExecStartPre= fails), so the restart fails
# as a job. (A main process that exits within milliseconds of starting may or may not be
# seen active by the verification first: a race the case must not depend on.)
cat > /etc/systemd/system/quitter.service <<UNIT
[Service]
ExecStartPre=/bin/sh -c 'test ! -e /run/quitter-broken'
ExecStart=/usr/local/bin/quitter
RemainAfterExit=no
UNIT
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
alerts:
  sinks:
    mail:
      type: email
      url: smtp://127.0.0.1:2525
      starttls: "off"
      from: medic@example.org
      to: [ops@example.org]
      min_severity: critical
      rate_limit: {max: 0}
    slack:
      type: webhook
      format: slack
      url: http://127.0.0.1:9095/services/T0/B0/x
      min_severity: critical
      rate_limit: {max: 0}
services:
  quitter:
    unit: quitter.service
    recovery:
      verify_grace: 1s
      max_rounds: 1
      ladder: [{step: restart, attempts: 1}]
YAML
wait_for "the SMTP server listens" 10 sh -c "ss -ltn | grep -q ':2525 '"
systemctl daemon-reload
systemctl start quitter.service
start_medic "$WORK/medic.yaml"
wait_for "medic connected to systemd" 10 medic_logged "connected to systemd"

note "the unit exits 3 and cannot start again: medic restarts it once, then gives up"
touch /run/quitter-broken
wait_for "medic gives up" 30 medic_logged "quitter: gave up after 1 round"
host=$(hostname)
mailed() { [ -s "$WORK/mail.jsonl" ] && grep -q "gave up" "$WORK/mail.jsonl"; }
wait_for "the gave-up mail arrives" 15 mailed
python3 - "$WORK/mail.jsonl" "$host" <<'PY' || fail "the mail: $(cat "$WORK/mail.jsonl")"
import json, sys
mails = [json.loads(l) for l in open(sys.argv[1])]
m = [m for m in mails if "gave up" in m["data"]][0]
d = m["data"]
assert m["to"] == ["ops@example.org"] and m["from"] == "medic@example.org", m
assert f"\nSubject: [medic] [CRITICAL] quitter on {sys.argv[2]}: gave up after 1 round" in d, d
assert "\ncause:    quitter.service exited with status 3" in d, d
assert "the unit's journal, last " in d and "quitter: cannot open /var/lib/quitter/db" in d, d
print("# mail:", [l for l in d.splitlines() if l.startswith("Subject:")][0])
PY
slacked() { [ -s "$WORK/slack.jsonl" ] && grep -q "gave up" "$WORK/slack.jsonl"; }
wait_for "the gave-up reaches Slack" 15 slacked
python3 - "$WORK/slack.jsonl" "$host" <<'PY' || fail "the Slack text: $(cat "$WORK/slack.jsonl")"
import json, sys
posts = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
t = [p["text"] for p in posts if "gave up" in p["text"]][0]
assert list(posts[0]) == ["text"], posts[0]
assert t.startswith(f"*[CRITICAL] quitter on {sys.argv[2]}: gave up after 1 round"), t
assert "\n*Cause:* quitter.service exited with status 3" in t, t
assert "quitter: cannot open /var/lib/quitter/db" in t, t
print("# slack:", t.splitlines()[0])
PY
echo "ok: the gave-up by mail and on Slack, each with the cause and the unit's own last lines"
