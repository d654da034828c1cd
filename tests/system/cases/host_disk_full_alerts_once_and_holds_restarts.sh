#!/usr/bin/env bash
# A host-wide check (the top-level host: section) on a small tmpfs. Filled up, it fails and
# alerts once for the machine — not once per service — and a service whose recovery names
# it (conditions: {checks_healthy: [...]}) is held instead of restarted onto a full disk.
# Freed, the host alert resolves and the held recovery goes on at once: the check's change
# wakes it (its recheck is 10 minutes away).
. "$(dirname "$0")/../lib.sh"

install_control_policy
mkdir -p /mnt/scratch
mount -t tmpfs -o size=1M tmpfs /mnt/scratch
start_webhook hook 9099 "$WORK/hook.jsonl"
wait_for "the webhook receiver" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/9099"
install_demo demo.service 8080
install_demo demo2.service 8081
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
alerts:
  sinks:
    hook: {type: webhook, url: "http://127.0.0.1:9099/medic"}
host:
  failure_threshold: 1
  checks:
    - {name: scratch-disk, type: disk, path: /mnt/scratch, used_warn: 80, used_crit: 90, interval: 300ms}
services:
YAML
for svc in demo:8080 demo2:8081; do
  cat >> "$WORK/medic.yaml" <<YAML
  ${svc%%:*}:
    unit: ${svc%%:*}.service
    failure_threshold: 2
    checks:
      - {name: health, type: http, url: "http://127.0.0.1:${svc##*:}/health", interval: 300ms, timeout: 200ms}
    recovery:
      verify_grace: 2s
      conditions: {checks_healthy: [scratch-disk], recheck: 10m}
YAML
done
start_medic "$WORK/medic.yaml"
wait_for "medic answering" 10 medic_answers
wait_for "the host check's first result" 10 medic_logged "host/scratch-disk: first result -> healthy"

hook_count() { webhook_count "$WORK/hook.jsonl" "$@"; }
hook_has() { [ "$(hook_count "$1" "$2" "$3")" -ge 1 ]; }

note "the disk fills up: one host alert"
dd if=/dev/zero of=/mnt/scratch/fill bs=64K count=32 2>/dev/null || true
wait_for "the host check fails" 10 medic_logged "host/scratch-disk: healthy -> unhealthy: /mnt/scratch:"
wait_for "and is journalled as the host's" 10 medic_logged "host: check 'scratch-disk' failed: /mnt/scratch: 100.0% space used (warn 80.0%, crit 90.0%), 0.0% inodes used; a host check alerts, it has no recovery of its own"
wait_for "the host alert fires" 15 hook_has firing MedicHostUnhealthy host
status_json host | json_field service.health | grep -qx unhealthy || fail "medic status host is not unhealthy"

note "a service fails meanwhile: its restart is held by the host check, not run"
curl -fsS -X POST http://127.0.0.1:8080/control/unhealthy >/dev/null
wait_for "demo's recovery is held" 10 \
  medic_logged "demo: recovery held, no attempt used: host check 'scratch-disk' is unhealthy: /mnt/scratch:"
n=$(curl -fsS http://127.0.0.1:8080/stats)
wait_for "a few more checks of demo" 10 bash -c "[ \$(curl -fsS http://127.0.0.1:8080/stats) -ge $((n + 6)) ]"
if medic_logged "restarting demo.service"; then fail "demo was restarted onto a full disk"; fi
[ "$(hook_count firing MedicHostUnhealthy host)" = 1 ] || fail "the host alert fired $(hook_count firing MedicHostUnhealthy host) times, not once"
for svc in demo demo2; do
  if grep -q "scratch-disk" <(python3 -c 'import json,sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"])
    if b["service"] == sys.argv[2]: print(b["alert"], b["details"])' "$WORK/hook.jsonl" "$svc"); then
    fail "$svc alerted about the host's disk: the host check is alerted once, for the host"
  fi
done

note "space comes back: the host alert resolves and the held restart goes on"
rm /mnt/scratch/fill
wait_for "the host check heals" 10 medic_logged "host/scratch-disk: unhealthy -> healthy"
wait_for "the host alert resolves" 15 hook_has resolved MedicHostUnhealthy host
wait_for "demo's recovery goes on at once, woken by the check" 10 medic_logged "demo: recovery conditions met again; going on with restart"
wait_for "and heals" 15 medic_logged "demo: recovered by restart"
umount /mnt/scratch
python3 -c 'import json,sys
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)["body"]); print("#", b["state"], b["alert"], b["service"], b["summary"])' "$WORK/hook.jsonl"
echo "ok: one host alert for a full disk, demo's restart held until it had room, then healed"
