# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo demo-viewer lint fmt typecheck unit faults bench bench-readme viewer-check live clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check provision tests benchmarks scripts
	$(BIN)/ruff format --check provision tests benchmarks scripts

fmt: install
	$(BIN)/ruff format provision tests benchmarks scripts
	$(BIN)/ruff check --fix provision tests benchmarks scripts

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit viewer-check

# The full fault matrix (seeded faults, kills, concurrent writers); `make test` runs a subset.
faults: install
	$(BIN)/pytest -q -m 'not live' tests/faults

# The README demo against real Google in a throwaway project (never in CI): needs
# PROVISION_LIVE_PARENT, PROVISION_LIVE_BILLING and PROVISION_LIVE_MEMBER (tests/live/test_live.py).
# Prints where the recorded exchanges are; the project is deleted at the end.
live: install
	$(BIN)/pytest -q -s -m live tests/live

# A benchmark, not a test: plan/apply time against the emulator for growing blueprints, an
# onboarding under the emulator's google profile, CLI start times (README "Performance"). Pass
# options with BENCH_ARGS, e.g. BENCH_ARGS="--sites 1,10 --google-scale 0.1".
bench: install
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

# The README's benchmark tables, rewritten from the last `make bench` (.provision/bench/latest.json).
bench-readme: install
	$(BIN)/python -m benchmarks.readme

# Real viewers on loopback against the emulator: the generated Orthanc config in Debian's Orthanc
# + DICOMweb plugin, and `provision viewer` (the published OHIF build) in Debian's Chromium,
# driven by Playwright, with Orthanc serving the same files as the control. Installs `orthanc`,
# `orthanc-dicomweb` and `chromium` with apt-get when missing; screenshots go to
# .provision/artifacts/viewer/.
VIEWER_PACKAGES := orthanc orthanc-dicomweb chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
viewer-check: install
	@if [ ! -x /usr/sbin/Orthanc ] || [ ! -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] \
		|| [ ! -x /usr/bin/chromium ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(VIEWER_PACKAGES); \
	fi
	$(BIN)/pytest -q -m viewer tests/viewers

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

# The demo's studies in the OHIF Viewer on http://localhost:3000 until Ctrl-C, from the state
# the last `make demo` left in .provision/demo/ (running the demo first when there is none).
DEMO_STATE := .provision/demo/emulator.db
demo-viewer: install
	@[ -e $(DEMO_STATE) ] || PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh
	$(BIN)/provision viewer blueprints/dev.yaml --emulator-state $(DEMO_STATE)

clean:
	rm -rf $(VENV) .provision .mypy_cache .pytest_cache .ruff_cache
