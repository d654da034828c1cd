#!/usr/bin/env bash
# Exec checks run in transient scopes with TasksMax/MemoryMax: a fork bomb is stopped at
# its task limit and an endless allocation is killed at its memory limit, each reported
# unhealthy with the limit it met, while medic itself and its other checks go on untouched,
# and nothing of the runs outlives them. (The box's systemd has real pids and memory
# controllers, tests/system/box.sh; without the scopes neither limit exists and this fails.)
. "$(dirname "$0")/../lib.sh"

cat > "$WORK/medic.yaml" <<'YAML'
host:
  checks:
    - name: forkbomb
      type: exec
      shell: true
      command: "f() { f | f; }; f  # the-bomb"
      tasks_max: 32
      interval: 30s
      initial_delay: 0s  # at once: the waits below are shorter than a random first run in 30 s
      timeout: 2s
    - name: hog
      type: exec
      command: [/usr/bin/python3, -c, "kept = []\nwhile True: kept.append(bytearray(8 << 20))"]
      memory_max: 64MiB
      interval: 30s
      initial_delay: 0s
      timeout: 3s
    - name: fine
      type: exec
      command: [/bin/true]
      interval: 1s
      timeout: 900ms
    # Under the unit's system-call filter too, a run inherits nothing of medic's but its
    # stdio: ls sees 0, 1, 2 and the directory it reads.
    - name: fds
      type: exec
      shell: true
      command: 'fds=$(ls /proc/self/fd | tr "\n" " "); [ "$fds" = "0 1 2 3 " ] && echo "OK fds $fds" || { echo "CRITICAL fds $fds"; exit 2; }'
      interval: 5s
      initial_delay: 0s
YAML
install_control_policy
start_medic "$WORK/medic.yaml"
pid=$(main_pid medic.service)
# The bomb either gives up by itself (its shell cannot fork) or runs into its timeout.
wait_for "the fork bomb stopped at its task limit" 30 medic_logged "host/forkbomb: first result -> unhealthy: "
medic_log | grep -F "host/forkbomb: first result" | grep -qE "it reached tasks_max 32 \([0-9]+ forks? refused\)" ||
  fail "the fork bomb's result does not name its task limit"
wait_for "the allocation killed at its memory limit" 30 \
  medic_logged "host/hog: first result -> unhealthy: it reached memory_max 64 MiB (1 process killed by the kernel): killed by signal 9 (Killed)"
# (its first run comes anywhere in its first interval, maybe after the hog's end)
wait_for "the plain check's first result" 10 medic_logged "host/fine: first result -> "
medic_logged "host/fine: first result -> healthy" || fail "the plain check failed: $(medic_log | grep -F host/fine)"
wait_for "the descriptor check" 10 medic_logged "host/fds: first result -> "
medic_logged "host/fds: first result -> healthy: OK fds 0 1 2 3" || fail "a run inherits medic's descriptors: $(medic_log | grep -F host/fds)"
journalctl _PID=1 --no-pager -o cat | grep -qE "Started medic-exec-[0-9]+\.scope" || fail "no exec run was given a scope"

# More runs, each in its scope: medic is the same process throughout, never restarted, and
# its plain check never left healthy (a /bin/true that took 900 ms would mean medic starved).
runs_logged() { [ "$(journalctl _PID=1 --no-pager -o cat | grep -cE "Started medic-exec-[0-9]+\.scope")" -ge "$1" ]; }
wait_for "more runs, each in its scope" 60 runs_logged 20
[ "$(main_pid medic.service)" = "$pid" ] || fail "medic was restarted"
[ "$(systemctl show -p NRestarts --value medic.service)" = 0 ] || fail "medic was restarted"
medic_logged "host/fine: healthy ->" && fail "the plain check was disturbed: $(medic_log | grep -F 'host/fine: healthy ->')"
status_said() { "$MEDIC" status 2>&1 | tail -3; echo "(exit ${PIPESTATUS[0]})"; }
wait_for --show status_said "medic answering beside the runaway runs" 10 medic_answers

# Nothing outlives its run: once medic stops, no process of a run and no scope is left.
# (systemd here, in a container on cgroup v1, never sees a scope empty by itself: one that
# medic does not stop stays.)
scopes_left() { systemctl list-units --no-legend --all 'medic-exec-*' | grep -v ' inactive ' || true; }
no_runs_left() { ! pgrep -f 'the-bomb|bytearray|sleep 0.0' >/dev/null && [ -z "$(scopes_left)" ]; }
left_behind() {
  echo "left behind: $(pgrep -af 'the-bomb|bytearray|sleep 0.0') $(scopes_left)"
  for scope in $(scopes_left | grep -o 'medic-exec-[0-9]*\.scope'); do
    echo "PID 1 on $scope:"; journalctl _PID=1 --no-pager -o short-monotonic | grep -F "$scope"
  done
}
systemctl stop medic
wait_for --show left_behind "medic stopped, its runs and their scopes gone" 10 no_runs_left

# medic stopped again and again while runs are in flight, some still waiting for systemd to
# make their scope: whatever stage a run is at, its processes and its scope go with it.
# The quick checks keep the default timeout, half the interval (50 ms), on purpose: the
# longer sleeps and any slow scope start time out, so some runs are still in the reaper's
# grace (killed, not yet reaped) when medic stops; that path must leave nothing either.
{
  echo "agent: {log_level: debug}"  # (on failure, the journal shows each scope asked for and stopped)
  echo "host:"
  echo "  checks:"
  for i in 1 2 3 4; do
    echo "    - {name: quick$i, type: exec, shell: true, command: 'sleep 0.0$i', interval: 100ms}"
  done
} > "$WORK/quick.yaml"
for round in 1 2 3 4 5 6 7 8; do
  before=$(journalctl _PID=1 --no-pager -o cat | grep -cE "Started medic-exec-[0-9]+\.scope" || true)
  start_medic "$WORK/quick.yaml"
  more_runs() { [ "$(journalctl _PID=1 --no-pager -o cat | grep -cE "Started medic-exec-[0-9]+\.scope")" -ge $((before + 6 + round)) ]; }
  wait_for "runs in scopes, round $round" 30 more_runs
  systemctl stop medic
  wait_for --show left_behind "medic stopped in round $round, its runs and their scopes gone" 10 no_runs_left
done
echo "ok: a fork bomb and a runaway allocation were contained by their scopes, medic untouched"
