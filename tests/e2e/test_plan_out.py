"""`plan --out`: a one-line error for a path it cannot use; it never replaces anything but a
regular plan file, never the blueprint or a site file, and leaves no temporary file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from provision.emulator.server import RunningEmulator
from tests.e2e.conftest import CliFn


def no_temporary_files(folder: Path) -> None:
    assert [p.name for p in folder.rglob("*") if p.name.endswith(".tmp")] == []


def refused(cli: CliFn, blueprint: Path, out: Path, *expected: str) -> None:
    result = cli("plan", blueprint, "--out", out)
    assert result.exit_code == 1, result.output
    error = result.stderr.strip()
    assert error.startswith("error: cannot write plan file"), error
    assert "\n" not in error and "Traceback" not in result.output
    for text in expected:
        assert text in error
    no_temporary_files(blueprint.parent)


def test_a_directory_is_not_replaced(cli: CliFn, blueprint: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    folder.mkdir()
    refused(cli, blueprint, folder, "it is a directory")
    assert folder.is_dir()


def test_a_missing_folder_is_an_error(cli: CliFn, blueprint: Path, tmp_path: Path) -> None:
    refused(cli, blueprint, tmp_path / "missing" / "plan.json", "No such file or directory")
    assert not (tmp_path / "missing").exists()


def test_a_file_as_folder_is_an_error(cli: CliFn, blueprint: Path, tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("keep me\n")
    refused(cli, blueprint, tmp_path / "notes" / "plan.json")
    assert (tmp_path / "notes").read_text() == "keep me\n"


def test_a_fifo_is_not_replaced(cli: CliFn, blueprint: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    refused(cli, blueprint, fifo, "it is a FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_the_blueprint_is_not_replaced(cli: CliFn, blueprint: Path) -> None:
    text = blueprint.read_text()
    refused(cli, blueprint, blueprint, "a file of the blueprint")
    assert blueprint.read_text() == text


@pytest.mark.parametrize("how", ["same path", "hard link"])
def test_a_site_file_is_not_replaced(cli: CliFn, tmp_path: Path, how: str) -> None:
    blueprint = tmp_path / "blueprint.yaml"
    blueprint.write_text(
        "version: 1\nproject:\n  id: e2e-imaging\nservices: [healthcare.googleapis.com]\n"
        "sites:\n  include: sites/*.yaml\n  defaultLocation: us-central1\n  template:\n"
        "    datasets:\n      - id: '{site}'\n        location: '{location}'\n"
    )
    (tmp_path / "sites").mkdir()
    site = tmp_path / "sites" / "north.yaml"
    site.write_text("name: north\n")
    target = site
    if how == "hard link":
        target = tmp_path / "plan.json"
        os.link(site, target)
    refused(cli, blueprint, target, "a file of the blueprint")
    assert site.read_text() == "name: north\n"


def test_a_saved_plan_replaces_an_older_one(
    cli: CliFn, blueprint: Path, tmp_path: Path, emulator: RunningEmulator
) -> None:
    out = tmp_path / "plan.json"
    out.write_text("old\n")
    result = cli("plan", blueprint, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("{")
    no_temporary_files(tmp_path)
