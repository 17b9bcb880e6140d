#!/usr/bin/env bash
# The main job, offline on the emulator. Run through `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
provision version
provision validate blueprints/dev.yaml

# Plan, apply, and plan again against the bundled emulator. `--emulator` keeps the emulated world
# in .provision/emulator.db of the working directory, so separate runs share it; the demo runs in
# a fresh temporary directory so it always starts from nothing (rerun the commands in one
# directory to see the state reused).
(
  blueprint="$PWD/blueprints/dev.yaml"
  work_dir="$(mktemp -d)"
  trap 'rm -rf "$work_dir"' EXIT
  cd "$work_dir"
  export PROVISION_POLL_INITIAL="${PROVISION_POLL_INITIAL:-0.05}"
  provision plan "$blueprint" --emulator
  provision apply "$blueprint" --emulator --yes
  provision plan "$blueprint" --emulator --detailed-exitcode
  echo "demo: the second plan shows no changes"
)
