#!/usr/bin/env bash
# Targets on a network this host cannot reach: the box has only loopback, so nothing
# leaves it. The checks fail fast with the system's reason and the agent is unharmed.
. "$(dirname "$0")/../lib.sh"

cat > "$WORK/medic.yaml" <<YAML
services:
  remote:
    unit: remote.service
    checks:
      - {name: http, type: http, url: "http://198.51.100.7/health", timeout: 2s}
      - {name: tcp, type: tcp, host: 198.51.100.7, port: 5432, timeout: 2s}
      - {name: https, type: http, url: "https://198.51.100.7/health", timeout: 2s}
YAML
set +e
out=$($MEDIC check -c "$WORK/medic.yaml" --json)
rc=$?
set -e
[ $rc = 2 ] || fail "exit code $rc, expected 2 (unhealthy)"
python3 - "$out" <<'PY'
import json, sys
checks = {c["check"]: c for c in json.loads(sys.argv[1])["checks"]}
assert checks["tcp"]["message"] == "connect to 198.51.100.7:5432 failed: Network is unreachable", checks["tcp"]
assert checks["http"]["message"] == "connect to 198.51.100.7:80 failed: Network is unreachable", checks["http"]
assert "Couldn't connect to server" in checks["https"]["message"], checks["https"]  # libcurl's reason
for c in checks.values():
    assert c["status"] == "unhealthy" and c["duration_ms"] < 1000, c
print("# " + " | ".join(c["message"] for c in checks.values()))
PY
echo "ok: unreachable targets fail fast with the reason"
