#!/usr/bin/env bash
# The main job, offline on the emulator. Run through `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
provision version
provision validate blueprints/dev.yaml
