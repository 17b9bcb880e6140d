"""Additive labels are written over the labels the object has right before the write: a label
set by someone else after the plan (here, between a saved plan's check and apply's write) is
kept, not replaced by the map read when planning."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import BILLING, PROJECT, CliFn, control, write_after_the_check
from tests.e2e.test_healthcare_storage import BLUEPRINT as STORE_BLUEPRINT
from tests.e2e.test_healthcare_storage import STORE

Google = Callable[[str, str], Any]


def label_after_the_check(monkeypatch: pytest.MonkeyPatch, collection: Any, name: str) -> None:
    """Make another writer add the label `owner: radiology` to `name` (through the client
    `collection`, with `get` and `patch(updateMask=labels)`) right after a saved plan's check."""

    def label() -> None:
        labels = collection.get(name=name).execute().get("labels", {})
        body = {"labels": {**labels, "owner": "radiology"}}
        collection.patch(name=name, updateMask="labels", body=body).execute()

    write_after_the_check(monkeypatch, label)


def test_a_label_set_after_the_plan_is_kept(
    cli: CliFn,
    blueprint: Path,
    tmp_path: Path,
    emulator: RunningEmulator,
    google: Google,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    control(emulator, "projects", {"projectId": PROJECT, "billingAccountName": BILLING})
    assert cli("apply", blueprint, "--yes").exit_code == 0
    text = blueprint.read_text(encoding="utf-8")
    blueprint.write_text(text.replace("    env: test\n", "    env: test\n    tier: gold\n"))
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    projects = google("cloudresourcemanager", "v3").projects()
    name = f"projects/{PROJECT}"
    label_after_the_check(monkeypatch, projects, name)
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    labels = projects.get(name=name).execute()["labels"]
    assert labels == {"env": "test", "tier": "gold", "owner": "radiology"}


def test_a_store_label_set_after_the_plan_is_kept(
    cli: CliFn,
    tmp_path: Path,
    emulator: RunningEmulator,
    google: Google,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blueprint = tmp_path / "imaging.yaml"
    blueprint.write_text(STORE_BLUEPRINT, encoding="utf-8")
    control(emulator, "projects", {"projectId": PROJECT, "billingAccountName": BILLING})
    assert cli("apply", blueprint, "--yes").exit_code == 0
    text = blueprint.read_text(encoding="utf-8")
    blueprint.write_text(
        text.replace("          env: test\n", "          env: test\n          tier: gold\n")
    )
    saved = tmp_path / "plan.json"
    assert cli("plan", blueprint, "--out", saved).exit_code == 0
    stores = google("healthcare", "v1").projects().locations().datasets().dicomStores()
    label_after_the_check(monkeypatch, stores, STORE)
    applied = cli("apply", saved)
    assert applied.exit_code == 0, applied.output
    labels = stores.get(name=STORE).execute()["labels"]
    assert {"env": "test", "tier": "gold", "owner": "radiology"}.items() <= labels.items()
