#!/usr/bin/env bash
# dev/check-layers passes this tree and refuses an include that runs up a layer, or one the
# README's table does not allow, naming it; and a phase of the recovery machine written
# outside its transition table.
set -euo pipefail
check=$(dirname "$0")/../dev/check-layers
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/runtime" "$tree/agent" "$tree/checks"
printf '| layer | what | may include |\n|---|---|---|\n| `runtime/` | x | nothing of medic'"'"'s |\n| `checks/` | x | runtime |\n| `agent/` | x | the above |\n' >"$tree/README.md"
printf '#pragma once\n#include <string>\n' >"$tree/runtime/text.h"
printf '#include "runtime/text.h"\n#include "version.h"\n' >"$tree/agent/agent.cpp"
"$check" -C "$tree" runtime checks agent || { echo "FAIL: a downward include was refused"; exit 1; }
printf '#include "runtime/text.h"\n' >"$tree/checks/check.cpp"
"$check" -C "$tree" runtime checks agent || { echo "FAIL: an include the table allows was refused"; exit 1; }
printf '#include "agent/agent.h"\n' >>"$tree/runtime/text.h"
if out=$("$check" -C "$tree" runtime checks agent 2>&1); then
  echo "FAIL: an upward include passed"; exit 1
fi
expected='runtime/text.h:3: includes "agent/agent.h": agent/ is a layer above runtime/'
case "$out" in *"$expected"*) ;; *) echo "FAIL: expected '$expected', got: $out"; exit 1 ;; esac
sed -i '$d' "$tree/runtime/text.h"
# Narrower than the order: checks/ may include runtime/ only, and agent/ is not below it anyway;
# a layer the table narrows to runtime/ refuses the layer between.
printf '| `web/` | x | runtime |\n' >>"$tree/README.md"
mkdir "$tree/web" && printf '#include "checks/check.h"\n' >"$tree/web/server.cpp"
if out=$("$check" -C "$tree" runtime checks web agent 2>&1); then echo "FAIL: an include the table does not allow passed"; exit 1; fi
expected='web/server.cpp:1: includes "checks/check.h": web/ may include only runtime'
case "$out" in *"$expected"*) ;; *) echo "FAIL: expected '$expected', got: $out"; exit 1 ;; esac
printf '\n' >"$tree/web/server.cpp"
"$check" -C "$tree" runtime checks web agent || { echo "FAIL: the mended tree was refused"; exit 1; }
mkdir "$tree/recovery" && printf 'phase_ = t.to;\nphase_ = Phase::verifying;\n' >"$tree/recovery/recovery_machine.cpp"
printf '| `recovery/` | x | the above |\n' >>"$tree/README.md"
if out=$("$check" -C "$tree" runtime checks recovery web agent 2>&1); then echo "FAIL: a phase written outside fire() passed"; exit 1; fi
case "$out" in *"recovery/recovery_machine.cpp:2: the phase is written outside fire()"*) ;; *) echo "FAIL: got: $out"; exit 1 ;; esac
rm -r "$tree/recovery"
mkdir "$tree/cli" && printf '\n' >"$tree/cli/x.cpp"
if out=$("$check" -C "$tree" runtime checks web agent 2>&1); then echo "FAIL: a folder outside the layers passed"; exit 1; fi
case "$out" in *"cli/: C++ sources outside the layers"*) ;; *) echo "FAIL: got: $out"; exit 1 ;; esac
echo "ok"
