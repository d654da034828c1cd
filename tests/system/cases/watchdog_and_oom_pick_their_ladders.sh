#!/usr/bin/env bash
# Causes the unit tests could only script, made real: a Type=notify service that stops
# pinging its WatchdogSec= is killed by systemd (Result=watchdog), a service past its
# RuntimeMaxSec= is stopped by systemd (Result=timeout), and a service that
# allocates past its MemoryMax= is killed by the kernel's OOM killer (the box's memory cgroup
# enforces MemoryMax=). medic reads why from systemd, journals the cause and climbs the ladder
# whose `when:` names it, not the default one. systemd tells an OOM kill apart
# (Result=oom-kill) only under cgroup v2; in this box's v1 legacy mode it sees a SIGKILL, and
# the case checks that medic says so rather than guess.
. "$(dirname "$0")/../lib.sh"

cat > /usr/local/bin/pinger <<'PY'
#!/usr/bin/python3 -u
# Type=notify: READY=1, then WATCHDOG=1 every 200 ms until /run/pinger-hang exists.
import os, socket, time
def notify(msg):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"): addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(msg.encode(), addr); s.close()
notify("READY=1")
while True:
    if not os.path.exists("/run/pinger-hang"): notify("WATCHDOG=1")
    time.sleep(0.2)
PY
cat > /usr/local/bin/hog <<'PY'
#!/usr/bin/python3 -u
# Waits; once /run/hog-eat exists, allocates 8 MiB a step without end.
import os, time
held = []
while True:
    if os.path.exists("/run/hog-eat"): held.append(bytearray(8 << 20))
    time.sleep(0.01)
PY
chmod +x /usr/local/bin/pinger /usr/local/bin/hog
cat > /etc/systemd/system/pinger.service <<UNIT
[Service]
Type=notify
NotifyAccess=main
WatchdogSec=1s
ExecStart=/usr/local/bin/pinger
UNIT
cat > /etc/systemd/system/capped.service <<UNIT
[Service]
ExecStart=/bin/sleep infinity
RuntimeMaxSec=2s
UNIT
cat > /etc/systemd/system/hog.service <<UNIT
[Service]
ExecStart=/usr/local/bin/hog
MemoryMax=64M
UNIT
systemctl daemon-reload
systemctl start pinger.service hog.service

ladders() {  # ladders CAUSE: the ladder for CAUSE restarts; the default one only reloads
  cat <<YAML
    recovery:
      verify_grace: 1s
      ladders:
        - when: $1
          ladder: [{step: restart, attempts: 1}]
      ladder: [{step: reload, attempts: 1}]
YAML
}
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
services:
  pinger:
    unit: pinger.service
$(ladders watchdog)
  hog:
    unit: hog.service
$(ladders oom-kill)
  capped:
    unit: capped.service
$(ladders timeout)
YAML
"$MEDIC" validate -c "$WORK/medic.yaml" || fail "the config"
start_medic "$WORK/medic.yaml"
wait_for "medic connected to systemd" 10 medic_logged "connected to systemd"

note "the watchdog: pinger stops pinging"
touch /run/pinger-hang
wait_for "systemd's watchdog kills pinger" 15 sh -c "journalctl -u pinger.service -o cat | grep -q 'Watchdog timeout'"
rm -f /run/pinger-hang   # the restarted one pings again
wait_for "medic reads the cause" 15 medic_logged "pinger: recovery started: pinger.service missed its watchdog (WatchdogSec=)"
wait_for "and climbs the watchdog ladder" 15 medic_logged "pinger: recovered by restart (attempt 1, round 1)"
[ "$(journalctl -u medic MEDIC_SERVICE=pinger MEDIC_EVENT=recovery-started MEDIC_CAUSE=watchdog -o cat | wc -l)" = 1 ] ||
  fail "no recovery-started entry with MEDIC_CAUSE=watchdog"
! medic_logged "reloading pinger.service" || fail "the default ladder ran for a watchdog timeout"

note "a timeout: capped runs past its RuntimeMaxSec=2s"
systemctl start capped.service
wait_for "systemd stops capped at its limit" 15 sh -c "journalctl -u capped.service -o cat | grep -qi 'timeout'"
wait_for "medic reads the cause" 15 medic_logged "capped: recovery started: capped.service timed out (starting, stopping, or running past its RuntimeMaxSec=)"
wait_for "and climbs the timeout ladder" 15 medic_logged "capped: recovered by restart (attempt 1, round 1)"
[ "$(journalctl -u medic MEDIC_SERVICE=capped MEDIC_EVENT=recovery-started MEDIC_CAUSE=timeout -o cat | wc -l)" -ge 1 ] ||
  fail "no recovery-started entry with MEDIC_CAUSE=timeout"
! medic_logged "reloading capped.service" || fail "the default ladder ran for a timeout"
systemctl stop capped.service   # (it would time out again every 2 s)

note "the OOM killer: hog allocates past MemoryMax=64M"
# (box.sh gives the box real v1 controllers: MemoryMax= is the memory cgroup's limit)
limit=$(cat /sys/fs/cgroup/memory/system.slice/hog.service/memory.limit_in_bytes 2>/dev/null ||
        cat /sys/fs/cgroup/system.slice/hog.service/memory.max)
[ "$limit" = 67108864 ] || fail "MemoryMax=64M is not the cgroup's limit here: $limit"
touch /run/hog-eat
wait_for "the kernel kills hog at its limit" 30 sh -c "[ \"\$(systemctl is-failed hog.service)\" = failed ]"
rm -f /run/hog-eat
result=$(systemctl show -p Result --value hog.service)
wait_for "medic reads the cause" 15 medic_logged "hog: recovery started: "
medic_log | grep -F "hog: recovery started" | head -1
if [ "$result" = oom-kill ]; then
  # cgroup v2 (a Debian 12 host): systemd tells an OOM kill apart, and medic climbs its ladder.
  [ "$(journalctl -u medic MEDIC_SERVICE=hog MEDIC_EVENT=recovery-started MEDIC_CAUSE=oom-kill -o cat | wc -l)" = 1 ] ||
    fail "no recovery-started entry with MEDIC_CAUSE=oom-kill"
  wait_for "and climbs the oom-kill ladder" 15 medic_logged "hog: recovered by restart (attempt 1, round 1)"
  ! medic_logged "reloading hog.service" || fail "the default ladder ran for an OOM kill"
  echo "ok: a missed watchdog, a timeout and an OOM kill, each read from systemd, each climbed its own ladder"
else
  # cgroup v1 (this box's legacy mode): the limit holds and the kernel kills, but systemd sees
  # only a SIGKILL (Result=$result): medic says exactly that, and claims no OOM it was not told of.
  [ "$result" = signal ] || fail "systemd's Result for hog: $result"
  medic_logged "hog: recovery started: hog.service was killed by signal 9 (KILL)" || fail "medic's cause for hog"
  [ "$(journalctl -u medic MEDIC_SERVICE=hog MEDIC_EVENT=recovery-started MEDIC_CAUSE=signal -o cat | wc -l)" = 1 ] ||
    fail "no recovery-started entry with MEDIC_CAUSE=signal"
  echo "ok: a missed watchdog and a timeout climbed their own ladders; an OOM kill under cgroup v1 is a SIGKILL to systemd, and medic says so"
fi
