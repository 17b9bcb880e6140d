"""The README demo as one function, run against the emulator (CI) or against Google (`make live`),
with every exchange of the tool recorded (`PROVISION_RECORD`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from provision.cli import commands  # noqa: F401  (registers the commands)
from provision.cli.app import app
from provision.emulator import samples
from provision.errors import ProvisionError
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target

REPO = Path(__file__).resolve().parents[2]
DEMO_PROJECT = "imaging-dev-4821"
SITE = "st-marys"


@dataclass(frozen=True)
class Step:
    command: str
    exit_code: int
    output: str


def write_blueprints(
    destination: Path,
    project_id: str,
    *,
    parent: str | None = None,
    billing_account: str | None = None,
    member: str | None = None,
) -> Path:
    """A copy of `blueprints/` for project `project_id` (optionally under another parent, with
    another billing account, and with `member` in place of the example groups); returns the
    copy of dev.yaml."""
    shutil.copytree(REPO / "blueprints", destination)
    for path in destination.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8").replace(DEMO_PROJECT, project_id)
        if parent:
            text = text.replace("parent: organizations/123456789012", f"parent: {parent}")
        if billing_account:
            text = text.replace(
                "billingAccount: billingAccounts/0A1B2C-3D4E5F-6A7B8C",
                f"billingAccount: {billing_account}",
            )
        if member:
            for group in ("imaging-team", "imaging-viewers", "imaging-auditors"):
                text = text.replace(f"group:{group}@example.com", member)
        path.write_text(text, encoding="utf-8")
    return destination / "dev.yaml"


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` in os.environ for the duration (as the CLI runs see it)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def upload_samples(target: Target, bucket: str, prefix: str, count: int) -> None:
    """Synthetic DICOM files into `gs://bucket/prefix/`, through the tool's own gateway (so a
    recording, `PROVISION_RECORD`, holds them too)."""
    api = GoogleApi(target)
    # 32 x 32 slices: the recording holds every upload, and replaying it stays quick.
    for sample in samples.generate(count, seed=len(bucket), studies=2, size=32):
        name = f"{prefix.rstrip('/')}/{sample.path}"
        api.call(
            "storage.objects.insert",
            bucket=bucket,
            body={"name": name, "contentType": "application/dicom"},
            media=sample.data,
            media_mime_type="application/dicom",
        )


def run(args: list[str], env: Mapping[str, str]) -> Step:
    result = CliRunner().invoke(app, args, env=dict(env))
    code, output = result.exit_code, result.stdout + result.stderr
    if isinstance(result.exception, ProvisionError):
        code, output = result.exception.exit_code, output + f"error: {result.exception}\n"
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    step = Step(" ".join(["provision", *args]), code, output)
    assert code == 0, f"{step.command} exited {code}:\n{output}"
    return step


def demo(blueprint: Path, project_id: str, target: Target, env: Mapping[str, str]) -> list[Step]:
    """The README tour: plan, apply, upload, apply, verify, plan (no changes), onboard a site,
    upload, onboard again, destroy the site. Every step must exit 0."""
    bp = str(blueprint)
    steps = [
        run(["validate", bp], env),
        run(["plan", bp], env),
        run(["apply", bp, "--yes"], env),
    ]
    with environment(env):
        upload_samples(target, f"{project_id}-dicom-import", "dicom/", 12)
        upload_samples(target, f"{project_id}-general-import", "dicom/", 2)
    steps += [
        run(["apply", bp, "--yes"], env),
        run(["verify", bp], env),
        run(["plan", bp, "--detailed-exitcode"], env),
    ]
    configs = str(blueprint.parent.parent / "out" / SITE)
    onboard = ["onboard", SITE, "--blueprint", bp, "--yes", "--config-dir", configs]
    steps.append(run(onboard, env))
    with environment(env):
        upload_samples(target, f"{project_id}-{SITE}-import", "dicom/", 3)
    steps += [run(onboard, env), run(["destroy", bp, "--site", SITE, "--yes"], env)]
    return steps
