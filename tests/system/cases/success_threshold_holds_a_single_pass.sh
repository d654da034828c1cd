#!/usr/bin/env bash
# `success_threshold: 2` in a real systemd: after a recovery gave up, one passing run between
# failures does not count as healed; two in a row do ("healthy again without medic's help").
# The check is an exec plugin answering a queued sequence of exit codes, then a default, and
# counting its runs, so what it answers is exact and the waits wait for runs, not for time.
. "$(dirname "$0")/../lib.sh"

install_demo demo.service 8080
mkdir -p /var/lib/seq
cat > /usr/local/bin/next-code <<'SH'
#!/bin/sh
# The first code queued in /var/lib/seq/codes (dropped once answered), else /var/lib/seq/default.
d=/var/lib/seq
code=$(head -n 1 $d/codes 2>/dev/null)
if [ -n "$code" ]; then tail -n +2 $d/codes > $d/codes.new; mv $d/codes.new $d/codes; else code=$(cat $d/default); fi
echo run >> $d/runs
echo "sequence says $code"
exit "$code"
SH
chmod +x /usr/local/bin/next-code
: > /var/lib/seq/codes
echo 0 > /var/lib/seq/default
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
services:
  demo:
    unit: demo.service
    failure_threshold: 2
    success_threshold: 2
    checks:
      - {name: seq, type: exec, user: root, command: [/usr/local/bin/next-code], interval: 300ms, timeout: 250ms}
    recovery:
      verify_grace: 1s
      max_rounds: 1
      ladder: [{step: restart, attempts: 1}]
YAML
start_medic "$WORK/medic.yaml"
wait_for "the first result" 10 medic_logged "demo/seq: first result -> healthy"
runs() { wc -l < /var/lib/seq/runs; }
runs_past() { [ "$(runs)" -ge "$1" ]; }

note "failing for good: the restart does not heal it, medic gives up"
echo 2 > /var/lib/seq/default
wait_for "medic gives up" 20 medic_logged "demo: gave up after 1 round"

note "one pass between failures is not healed"
printf '0\n2\n' > /var/lib/seq/codes
n=$(runs)
wait_for "the pass, the failure after it and three more failures have run" 15 runs_past $((n + 5))
! medic_logged "healthy again without medic's help" || fail "one passing run counted as healed (success_threshold: 2)"

note "two passes in a row are"
echo 0 > /var/lib/seq/default
wait_for "healed by itself after two passes" 15 medic_logged "demo: healthy again without medic's help"
echo "ok: one pass between failures held, two in a row healed"
