#!/usr/bin/env bash
# A real systemd in a systemd-nspawn container, for medic's system tests and demo.
#
#   tests/system/box.sh rootfs              build (or reuse) the cached root filesystem
#   tests/system/box.sh run CMD [ARGS...]   boot a fresh box, run CMD inside as a transient
#                                           unit (exit code passed back), shut it down
#
# The rootfs is cached outside the repo under $MEDIC_BOX_CACHE (default
# /var/cache/medic-box), keyed by its package list, so a changed list builds a new one.
# Every boot uses --volatile=overlay: the cached tree is never written. The repository
# is bound into the box at the same path, so build outputs are found where they are.
# Whatever happens (a failing test, a signal), the box is halted and its cgroups removed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${MEDIC_BOX_CACHE:-/var/cache/medic-box}
PACKAGES="systemd,systemd-sysv,dbus,libsystemd0,libsdbus-c++1,libcurl4,libyaml-cpp0.7,libspdlog1.10,procps,python3,curl,iproute2,monitoring-plugins-basic,python3-jsonschema,passwd,prometheus-alertmanager,libmicrohttpd12,libhttp-parser2.9,libre2-9,prometheus,monit,python3-aiosmtpd"
KEY=$(printf '%s v2' "$PACKAGES" | sha256sum | cut -c1-12)
ROOTFS=$CACHE/rootfs-$KEY
INSIDE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'box: %s\n' "$*" >&2; }

host_tools() {
  local need=()
  command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
  command -v systemd-nspawn >/dev/null || need+=(systemd-container)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  fi
}

ensure_rootfs() {
  host_tools
  if [ -f "$ROOTFS/.medic-box-complete" ]; then return; fi
  log "building the rootfs (once per package list): $ROOTFS"
  mkdir -p "$CACHE"
  rm -rf "$ROOTFS.tmp"
  # The mirror comes from the host's own apt configuration on stdin; no host is named here.
  mmdebstrap --variant=minbase --mode=root --include="$PACKAGES" \
    --customize-hook='echo medic-box > "$1/etc/hostname"; : > "$1/etc/machine-id"' \
    --customize-hook='ln -sf /dev/null "$1/etc/systemd/system/prometheus-alertmanager.service"' \
    --customize-hook='ln -sf /dev/null "$1/etc/systemd/system/prometheus.service"' \
    --customize-hook='ln -sf /dev/null "$1/etc/systemd/system/prometheus-node-exporter.service"' \
    --customize-hook='ln -sf /dev/null "$1/etc/systemd/system/monit.service"' \
    bookworm "$ROOTFS.tmp" - < /etc/apt/sources.list.d/debian.sources >&2
  touch "$ROOTFS.tmp/.medic-box-complete"
  mv "$ROOTFS.tmp" "$ROOTFS"
  # Older rootfs builds are no longer wanted.
  find "$CACHE" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$KEY" -exec rm -rf {} + 2>/dev/null || true
}

NAME="" NSPAWN="" PID1="" ANCHOR="" TAIL=""
# The cgroup v1 controllers whose accounting systemd reports (MemoryCurrent, TasksCurrent,
# CPUUsageNSec) and enforces (MemoryMax), where the host binds them to v1 hierarchies.
CONTROLLERS=(memory pids cpu cpuacct)
OWN_CGROUPS=()

cleanup() {
  local rc=$?
  [ -z "$ANCHOR" ] || kill "$ANCHOR" 2>/dev/null || true
  [ -z "$TAIL" ] || kill "$TAIL" 2>/dev/null || true
  if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
    kill -TERM "$NSPAWN" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NSPAWN" 2>/dev/null || true
    wait "$NSPAWN" 2>/dev/null || true
  fi
  for dir in "${OWN_CGROUPS[@]}"; do
    [ -d "$dir" ] || continue
    # Depth-first: leaves before their parents.
    find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  exit $rc
}

inside() { nsenter -t "$PID1" -a -- env -i PATH="$INSIDE_PATH" "$@"; }

boot() {
  NAME=medic-box-$$-$RANDOM
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  local console=${MEDIC_BOX_CONSOLE:-/dev/null}
  # nspawn with --keep-unit creates payload/ and supervisor/ under its caller's cgroup: give
  # it a cgroup of its own in both hierarchies, and move the launching shell there.
  local h mine
  for h in systemd unified; do
    [ -d "/sys/fs/cgroup/$h" ] && OWN_CGROUPS+=("/sys/fs/cgroup/$h/$NAME")
  done
  # Where the host binds the resource controllers to cgroup v1 (hybrid mode), the box boots
  # in legacy mode with a subtree of each controller of its own (under the caller's own
  # group, so the caller's limits still hold), made writable after boot: its systemd then
  # keeps real accounting and enforces MemoryMax, as on a host whose systemd owns its cgroups.
  local legacy=""
  if mountpoint -q /sys/fs/cgroup/memory 2>/dev/null; then
    legacy=1
    for h in "${CONTROLLERS[@]}"; do
      mountpoint -q "/sys/fs/cgroup/$h" || continue
      mine=$(awk -F: -v c="$h" '{ n = split($2, cs, ","); for (i = 1; i <= n; i++) if (cs[i] == c) print $3 }' /proc/self/cgroup)
      OWN_CGROUPS+=("/sys/fs/cgroup/$h${mine%/}/$NAME")
    done
  fi
  (
    for dir in "${OWN_CGROUPS[@]}"; do
      mkdir -p "$dir"
      echo "$BASHPID" > "$dir/cgroup.procs"
    done
    [ -z "$legacy" ] || export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0
    # --private-network: each box has its own loopback, so boxes running side by side
    # never collide on ports, and nothing inside reaches beyond the box.
    exec systemd-nspawn -q -D "$ROOTFS" -M "$NAME" --boot --register=no --keep-unit \
      --console=read-only --volatile=overlay --private-network \
      --bind="$REPO" ${MEDIC_BOX_BIND:+--bind="$MEDIC_BOX_BIND"}
  ) >"$console" 2>&1 &
  NSPAWN=$!
  local deadline=$((SECONDS + 30))
  until PID1=$(pgrep -P "$NSPAWN" -x systemd); do
    [ $SECONDS -lt $deadline ] || { log "systemd did not start in the box"; exit 1; }
    sleep 0.05
  done
  wait_running "$deadline"
  if [ -n "$legacy" ]; then
    # nspawn mounts the v1 controllers read-only; the box's own subtree is made writable
    # and its systemd re-executed, so it finds the controllers usable.
    for h in "${CONTROLLERS[@]}"; do
      nsenter -t "$PID1" -m -- mount -o remount,bind,rw "/sys/fs/cgroup/$h" 2>/dev/null || true
    done
    inside systemctl daemon-reexec
    wait_running "$deadline"
  fi
}

wait_running() {
  local state=""
  until [[ $state == running || $state == degraded ]]; do
    [ $SECONDS -lt "$1" ] || { log "the box did not finish booting (state: $state)"; exit 1; }
    sleep 0.05
    state=$(inside systemctl is-system-running 2>/dev/null || true)
  done
}

case "${1:-}" in
  rootfs)
    ensure_rootfs
    echo "$ROOTFS"
    ;;
  run)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 run CMD [ARGS...]" >&2; exit 2; }
    # systemd-run wants an absolute path; a repo-relative script is made absolute.
    if [[ $1 != /* && -e $1 ]]; then set -- "$(realpath "$1")" "${@:2}"; fi
    ensure_rootfs
    boot
    # Start the case as a transient unit and follow it by polling, not with a long-lived
    # D-Bus client (systemd-run --wait): a case may restart dbus or re-execute systemd, and
    # the harness must not lose its case then. RemainAfterExit keeps the unit (and its exit
    # status) after the command ends.
    inside systemd-run --quiet --unit=medic-case -p RemainAfterExit=yes -p WorkingDirectory="$REPO" \
      -p StandardOutput=file:/run/medic-case.log -p StandardError=inherit \
      -E MEDIC_REPO="$REPO" -E MEDIC_BUILD="${MEDIC_BUILD:-$REPO/build}" "$@"
    # tail follows the log until ANCHOR ends, then reads to the end once more and exits.
    sleep infinity & ANCHOR=$!
    tail -n +1 -F -s 0.1 --pid=$ANCHOR "/proc/$PID1/root/run/medic-case.log" 2>/dev/null &
    TAIL=$!
    deadline=$((SECONDS + ${MEDIC_BOX_TIMEOUT:-600}))
    while :; do
      # A case may restart dbus or re-execute systemd: a failed query is simply asked again.
      state=$(inside systemctl show -p SubState --value medic-case.service 2>/dev/null || true)
      [[ $state == exited || $state == failed || $state == dead ]] && break
      [ $SECONDS -lt $deadline ] || { log "the case did not finish within ${MEDIC_BOX_TIMEOUT:-600}s"; kill $ANCHOR; exit 124; }
      sleep 0.1
    done
    rc=""
    until [ -n "$rc" ] || [ $SECONDS -ge $deadline ]; do
      rc=$(inside systemctl show -p ExecMainStatus --value medic-case.service 2>/dev/null || true)
    done
    kill $ANCHOR; wait $TAIL 2>/dev/null || true
    exit "${rc:-1}"
    ;;
  *)
    echo "usage: $0 rootfs | run CMD [ARGS...]" >&2
    exit 2
    ;;
esac
