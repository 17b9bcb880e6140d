#!/usr/bin/env bash
# The main job, offline on the emulator. Run through `make demo`; `make demo-viewer` (this script
# with --viewer) ends by serving the demo's studies in the OHIF Viewer until Ctrl-C.
#
# The emulator runs in the background (`provision emulator serve`) with its state in a fresh
# temporary directory, and every command reaches it with --endpoint, as they would reach Google.
# The blueprint creates the import buckets, so files can only be uploaded after a first apply;
# that apply finds nothing to import yet. After the upload, a second apply runs the imports,
# `provision verify` checks that the site works, and a last plan shows no changes.
set -euo pipefail
viewer=""
if [[ "${1:-}" == "--viewer" ]]; then viewer=yes; fi
cd "$(dirname "$0")/.."
repo="$PWD"
blueprint="$repo/blueprints/dev.yaml"
project="imaging-dev-4821"
provision version
provision validate "$blueprint"

work_dir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work_dir"
}
trap cleanup EXIT

provision emulator serve --port 0 --quiet --state "$work_dir/emulator.db" \
  2>"$work_dir/emulator.log" &
server_pid=$!
endpoint=""
for _ in $(seq 1 100); do
  endpoint="$(grep -o 'http://127.0.0.1:[0-9]*' "$work_dir/emulator.log" || true)"
  [[ -n "$endpoint" ]] && break
  sleep 0.1
done
[[ -n "$endpoint" ]] || { cat "$work_dir/emulator.log"; echo "demo: emulator did not start"; exit 1; }
echo "demo: emulator at $endpoint"
export PROVISION_ENDPOINT="$endpoint"
export PROVISION_POLL_INITIAL="${PROVISION_POLL_INITIAL:-0.05}"

echo "demo: 0. does the applying identity hold what apply needs? (testIamPermissions, no writes)"
provision validate "$blueprint" --check-permissions 2>/dev/null | tail -n 1

echo "demo: 1. plan and apply from nothing (the new buckets are empty: nothing to import yet)"
provision plan "$blueprint"
provision apply "$blueprint" --yes

echo "demo: 2. upload synthetic DICOM files to the import buckets"
python "$repo/scripts/upload_samples.py" "$endpoint" "$project" "$project-dicom-import" dicom/ 12
python "$repo/scripts/upload_samples.py" "$endpoint" "$project" "$project-general-import" dicom/ 2

echo "demo: 3. apply again: the imports run"
provision apply "$blueprint" --yes

echo "demo: 4. verify that the site works"
provision verify "$blueprint"

echo "demo: 5. plan again: nothing left to do"
provision plan "$blueprint" --detailed-exitcode
echo "demo: the last plan shows no changes"

echo "demo: 6. onboard a new site in one command (in a copy of the blueprints)"
cp -r "$repo/blueprints" "$work_dir/blueprints"
site_blueprint="$work_dir/blueprints/dev.yaml"
provision onboard st-marys --blueprint "$site_blueprint" --yes --config-dir "$work_dir/out/st-marys"
python "$repo/scripts/upload_samples.py" "$endpoint" "$project" "$project-st-marys-import" dicom/ 3
echo "demo: 7. onboard again after the upload: the site's import runs and verifies"
provision onboard st-marys --blueprint "$site_blueprint" --yes --config-dir "$work_dir/out/st-marys"
echo "demo: 8. destroy the site: its store and bucket hold data, so they are kept"
provision destroy "$site_blueprint" --site st-marys --yes

echo "demo: 9. the studies in the OHIF Viewer"
if [[ -n "$viewer" ]]; then
  provision viewer "$blueprint"  # http://localhost:3000, until Ctrl-C
else
  echo "demo: to see them, run \`make demo-viewer\`: this demo, then \`provision viewer\` serving"
  echo "demo: them on http://localhost:3000 until Ctrl-C"
fi
