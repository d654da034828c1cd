#!/usr/bin/env bash
# `failure_window: {failures: 2, of: 4}` in a real systemd: a check that fails, passes, then
# fails again starts recovery at the second failure, which `failure_threshold: 2` (in a row)
# never would. The check is an exec plugin that answers the next exit code of a script, one per run, so
# the sequence is exact whatever the timing.
. "$(dirname "$0")/../lib.sh"

install_control_policy
install_demo demo.service 8080
mkdir -p /var/lib/seq
cat > /usr/local/bin/next-code <<'SH'
#!/bin/sh
# Answers the first code of /var/lib/seq/codes and drops it; 0 once the list is empty.
f=/var/lib/seq/codes
code=$(head -n 1 "$f" 2>/dev/null); [ -n "$code" ] || code=0
tail -n +2 "$f" > "$f.new" 2>/dev/null; mv "$f.new" "$f"
echo "sequence says $code"
exit "$code"
SH
chmod +x /usr/local/bin/next-code
: > /var/lib/seq/codes
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
services:
  demo:
    unit: demo.service
    failure_window: {failures: 2, of: 4}
    checks:
      - {name: seq, type: exec, user: root, command: [/usr/local/bin/next-code], interval: 500ms, timeout: 400ms}
    recovery:
      verify_grace: 3s
      ladder: [{step: restart, attempts: 1}]
YAML
start_medic "$WORK/medic.yaml"
wait_for "the first result" 10 medic_logged "demo/seq: first result -> healthy"

note "fail, pass, fail: 2 failures of the last 4 results"
printf '2\n0\n2\n' > /var/lib/seq/codes
wait_for "recovery starts at the second failure" 15 medic_logged "demo: recovery started: check 'seq' failed 2 of the last 4: sequence says 2"
wait_for "and heals" 15 medic_logged "demo: recovered by restart (attempt 1, round 1)"
[ "$(medic_log | grep -c 'restarting demo.service')" = 1 ] || fail "expected one restart"

echo "ok: 2 failures of the last 4 started recovery where 2 in a row never came"
