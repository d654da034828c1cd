#!/usr/bin/env bash
# dev/check-layers passes this tree and refuses an include that runs up a layer, naming it.
set -euo pipefail
check=$(dirname "$0")/../dev/check-layers
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/runtime" "$tree/agent"
printf '#pragma once\n#include <string>\n' >"$tree/runtime/text.h"
printf '#include "runtime/text.h"\n#include "version.h"\n' >"$tree/agent/agent.cpp"
"$check" -C "$tree" runtime agent || { echo "FAIL: a downward include was refused"; exit 1; }
printf '#include "agent/agent.h"\n' >>"$tree/runtime/text.h"
if out=$("$check" -C "$tree" runtime agent 2>&1); then
  echo "FAIL: an upward include passed"; exit 1
fi
expected='runtime/text.h:3: includes "agent/agent.h": agent/ is a layer above runtime/'
case "$out" in *"$expected"*) ;; *) echo "FAIL: expected '$expected', got: $out"; exit 1 ;; esac
mkdir "$tree/web" && printf '\n' >"$tree/web/server.cpp"
if out=$("$check" -C "$tree" runtime agent 2>&1); then echo "FAIL: a folder outside the layers passed"; exit 1; fi
case "$out" in *"web/: C++ sources outside the layers"*) ;; *) echo "FAIL: got: $out"; exit 1 ;; esac
echo "ok"
