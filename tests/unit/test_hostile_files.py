"""Blueprints and site files must be readable regular files of bounded size; site globs are
bounded; whatever a glob matches is either a site or an error. One line each, no traceback."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from provision.blueprint.loader import load
from provision.errors import BlueprintError

BLUEPRINT = """\
version: 1
project:
  id: demo-imaging
services: [healthcare.googleapis.com]
sites:
  include: {include}
  defaultLocation: us-central1
  template:
    datasets:
      - id: "{{site}}"
        location: "{{location}}"
"""


def provision(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """The real CLI in its own process, with 1 GiB of memory and 20 s at most."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "provision.cli", *[os.fsencode(a) for a in args]],
        capture_output=True,
        timeout=20,
        preexec_fn=limit_memory,
        cwd=cwd,
        check=False,
    )


def assert_one_error(result: subprocess.CompletedProcess[bytes], *expected: str) -> None:
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    for text in expected:
        assert text in stderr


def test_a_fifo_blueprint_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "blueprint.yaml"
    os.mkfifo(fifo)
    assert_one_error(provision("validate", fifo), "it is a FIFO, not a file")


def test_a_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "blueprint.yaml"
    link.symlink_to("/dev/zero")
    assert_one_error(provision("validate", link), "it is a device, not a file")
    assert_one_error(provision("apply", link, "--emulator"), "it is a device, not a file")


def test_a_huge_blueprint_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "blueprint.yaml"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    with pytest.raises(BlueprintError, match="larger than 16 MiB"):
        load(big)


def test_an_undecodable_blueprint_name_is_one_line(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff.yaml")
    (tmp_path / name).write_text(BLUEPRINT.format(include="sites/*.yaml"))
    result = provision("validate", name, cwd=tmp_path)
    assert_one_error(result, "is not valid UTF-8; rename it", "bad\\xff.yaml")


def site_tree(tmp_path: Path, include: str = "sites/*.yaml") -> Path:
    blueprint = tmp_path / "blueprint.yaml"
    blueprint.write_text(BLUEPRINT.format(include=include))
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "north.yaml").write_text("name: north\n")
    return blueprint


def test_an_undecodable_site_file_name_is_an_error(tmp_path: Path) -> None:
    blueprint = site_tree(tmp_path)
    (tmp_path / "sites" / os.fsdecode(b"s\xff.yaml")).write_text("name: south\n")
    with pytest.raises(BlueprintError, match=r"s\\xff.yaml is not valid UTF-8"):
        load(blueprint)


@pytest.mark.parametrize("odd", ["fifo", "directory", "dangling symlink", "device"])
def test_a_glob_match_that_is_not_a_regular_file_is_an_error(tmp_path: Path, odd: str) -> None:
    """Such a site used to vanish from the blueprint, and its objects were planned `forget`."""
    blueprint = site_tree(tmp_path)
    south = tmp_path / "sites" / "south.yaml"
    if odd == "fifo":
        os.mkfifo(south)
    elif odd == "directory":
        south.mkdir()
    elif odd == "dangling symlink":
        south.symlink_to(tmp_path / "gone.yaml")
    else:
        south.symlink_to("/dev/null")
    with pytest.raises(BlueprintError) as raised:
        load(blueprint)
    assert f"{south}: error: cannot read site file" in str(raised.value)


def test_symlink_loops_in_a_site_glob_end(tmp_path: Path) -> None:
    blueprint = site_tree(tmp_path, include="sites/**/*.yaml")
    (tmp_path / "sites" / "again").symlink_to(".")
    (tmp_path / "sites" / "more").symlink_to(tmp_path / "sites")
    script = (
        "import sys; from provision.blueprint.loader import load; "
        "print(len(load(sys.argv[1]).blueprint.datasets))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(blueprint)],
        capture_output=True,
        timeout=20,
        check=False,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"  # north, once


def test_a_site_folder_that_cannot_be_read_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blueprint = site_tree(tmp_path, include="sites/**/*.yaml")
    locked = tmp_path / "sites" / "locked"
    locked.mkdir()
    scandir = os.scandir

    def refuse(path: str | os.PathLike[str]) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(BlueprintError, match=f"cannot read site folder {locked}"):
        load(blueprint)


def test_an_include_outside_the_blueprint_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "inner").mkdir()
    blueprint = tmp_path / "inner" / "blueprint.yaml"
    blueprint.write_text(BLUEPRINT.format(include="../*.yaml"))
    (tmp_path / "secret.yaml").write_text("root:x:0:0:do-not-show\n")
    with pytest.raises(BlueprintError) as raised:
        load(blueprint)
    assert "must stay inside the blueprint's directory" in str(raised.value)
    assert "do-not-show" not in str(raised.value)


def test_file_contents_never_appear_in_an_error(tmp_path: Path) -> None:
    blueprint = site_tree(tmp_path)
    (tmp_path / "sites" / "south.yaml").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "secret.txt").write_text("root:x:0:0:do-not-show\n")
    with pytest.raises(BlueprintError) as raised:
        load(blueprint)
    assert "a site file is a mapping with `name:`, not a string" in str(raised.value)
    assert "do-not-show" not in str(raised.value)
    whole = tmp_path / "whole.yaml"
    whole.write_text("root:x:0:0:do-not-show\n")
    with pytest.raises(BlueprintError) as raised:
        load(whole)
    assert "do-not-show" not in str(raised.value)


@pytest.mark.parametrize("written", ["true", "1.0"])
def test_the_version_is_written_one(tmp_path: Path, written: str) -> None:
    path = tmp_path / "blueprint.yaml"
    path.write_text(f"version: {written}\nproject:\n  id: demo-imaging\n")
    with pytest.raises(BlueprintError, match=f"version: the version is written 1, not {written}"):
        load(path)


def test_a_shared_default_location_error_is_reported_once_at_its_line(tmp_path: Path) -> None:
    blueprint = site_tree(tmp_path)
    blueprint.write_text(blueprint.read_text().replace("us-central1", "moon-central1"))
    for name in ("south", "east"):
        (tmp_path / "sites" / f"{name}.yaml").write_text(f"name: {name}\n")
    with pytest.raises(BlueprintError) as raised:
        load(blueprint)
    errors = [d for d in raised.value.diagnostics if d.severity == "error"]
    assert len(errors) == 1, errors
    assert (errors[0].file, errors[0].line, errors[0].path) == (
        str(blueprint),
        7,
        "sites.defaultLocation",
    )
    assert "moon-central1" in errors[0].message
