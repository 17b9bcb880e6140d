"""`onboard`: add a site and bring it up in one run.

Steps: write `SITE.yaml` into the blueprint's site folder (an identical existing file is
accepted, a different one refused) -> validate the whole blueprint (the new file is removed
again if that fails) -> plan only the site's resources and what they need -> confirm -> apply
under the lease (DICOM imports included) -> verify the site -> write its OHIF and Orthanc
configs -> say the `provision viewer` command that shows the site's studies. Rerunning after
success changes nothing; rerunning after a failure finishes the job.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provision.blueprint.expand import expand
from provision.blueprint.loader import LoadedBlueprint, load
from provision.blueprint.schema import OAuth
from provision.errors import ProvisionError
from provision.model import Address, Plan, Resource
from provision.onboard import SiteFileResult, new_site, remove_created, write_site_file
from provision.plan import plan_blueprint
from provision.resources import registry
from provision.resources.base import Context
from provision.site_scope import site_addresses, site_file_path
from provision.verify import Check, verify_blueprint
from provision.viewer.session import open_in_viewer
from provision.workflows import leasing, sequence
from provision.workflows.sequence import Finished, Flags, Job
from provision.workflows.ui import Connect, Ui
from provision.workflows.viewer_configs import write_viewer_configs

if TYPE_CHECKING:
    from provision.gcp.api import GoogleApi

DEFAULT_EMULATOR_URL = "http://127.0.0.1:8765"
"""Where `provision emulator serve` listens by default (the viewers' URL with --emulator)."""


@dataclass(frozen=True)
class SiteRequest:
    """What to onboard, and where the viewer configs go and point."""

    site: str
    blueprint: Path
    location: str | None = None
    bucket: str | None = None
    """gs:// URI of the site's DICOM files (the site var `import_uri`)."""
    config_dir: Path | None = None
    """Where the viewer configs go (default: out/SITE)."""
    viewer_url: str | None = None
    endpoint: str | None = None
    emulator: bool = False
    wait: float = 0.0
    """Seconds to wait while another run holds the lease."""

    @property
    def viewer_base(self) -> str | None:
        """The viewer configs' base URL: --viewer-url, else --endpoint, else the emulator's
        default URL with --emulator; None for Google."""
        default = DEFAULT_EMULATOR_URL if self.emulator else None
        return self.viewer_url or self.endpoint or default

    @property
    def again(self) -> str:
        return f"run the same `provision onboard {self.site} ...` again"


@dataclass
class _SiteRun:
    """One onboarding: the blueprint with the site's file, its resources, the site's
    addresses, and whether anything may have been applied."""

    request: SiteRequest
    written: SiteFileResult
    loaded: LoadedBlueprint
    resources: Sequence[Resource]
    only: AbstractSet[Address]
    applying: bool = False

    def plan(self, ctx: Context) -> Plan:
        return plan_blueprint(self.loaded, ctx, only=self.only, resources=self.resources)


def onboard(request: SiteRequest, ui: Ui, connect: Connect) -> Finished:
    """Onboard `request.site` (see module doc). Raises ProvisionError when the site cannot be
    added or a check fails after applying; ApplyError when a change failed."""
    written = _write_site_file(request, ui)
    with _removed_on_error(written, ui):
        loaded = load(request.blueprint)
        resources = expand(loaded)
        only = site_addresses(loaded, resources, request.site)
    run = _SiteRun(request, written, loaded, resources, only)
    with _removed_on_error(written, ui, keep=lambda: run.applying), connect() as api:
        finished, waiting = _plan_and_apply(api, run, ui)
        if finished.interrupted:
            return finished
        checks = verify_blueprint(loaded, Context.create(api), only=only, resources=resources)
    out_dir = request.config_dir or Path("out") / request.site
    for line in write_viewer_configs(loaded, request.site, out_dir, request.viewer_base):
        ui.note(f"onboard: {line}")
    if request.emulator and request.viewer_url is None:
        ui.note(
            f"onboard: the viewer configs point at {DEFAULT_EMULATOR_URL}; serve this state "
            "there with `provision emulator serve --state .provision/emulator.db`"
        )
    _report_checks(request, checks, waiting, loaded.blueprint.oauth, ui)
    return finished


def _write_site_file(request: SiteRequest, ui: Ui) -> SiteFileResult:
    before = load(request.blueprint, site_folder_may_be_missing=True)  # writing the file makes it
    wanted = new_site(request.site, request.location, request.bucket)
    path = site_file_path(before, request.site)
    sites = before.blueprint.sites
    default_location = sites.default_location if sites is not None else None
    relative = os.path.relpath(before.path, path.parent).replace(os.sep, "/")
    written = write_site_file(path, wanted, relative, default_location)
    verb = "wrote" if written.created else "using the existing"
    ui.note(f"onboard: {verb} site file {path}")
    return written


@contextmanager
def _removed_on_error(
    written: SiteFileResult, ui: Ui, keep: Callable[[], bool] = lambda: False
) -> Iterator[None]:
    """Remove the site file this run created when the block fails, unless `keep()` says that
    something may have been applied."""
    try:
        yield
    except ProvisionError:
        if not keep() and remove_created(written):
            ui.note(f"onboard: removed {written.path} again; nothing was changed")
        raise


def _plan_and_apply(api: GoogleApi, run: _SiteRun, ui: Ui) -> tuple[Finished, set[str]]:
    """Plan the site and show it; if it changes anything, confirm and apply it under the
    lease. Returns how it ended and the imports still waiting for files."""
    ctx = Context.create(api, Flags().options(api))
    lease = leasing.prepare(api, run.loaded.blueprint)

    def context(plan: Plan) -> Context:
        run.applying = True
        return ctx

    heading = f"Planned changes for site {run.request.site} of {run.loaded.path}"
    plan = run.plan(ctx)
    job = Job(heading, context, lambda: run.plan(ctx), wait=run.request.wait)
    applied = sequence.run(job, plan, lease, ui)
    hint = f"The site file {run.written.path} stays; fix the cause and {run.request.again}."
    return sequence.finish(applied, ui, hint=hint), waiting_imports(plan, applied)


def waiting_imports(shown: Plan, applied: sequence.Applied | None) -> set[str]:
    """The verify targets of steps still waiting for input (`Kind.awaiting`; an import
    whose source holds no files yet: `STORE <- URI`)."""
    plan = applied.plan if applied is not None else shown
    idle = set() if applied is None else {r.address for r in applied.report.results if r.idle}
    kinds = set(registry.names())
    waiting = (
        registry.get(c.address.kind).awaiting(c, idle=c.address in idle)
        for c in plan.changes
        if c.address.kind in kinds  # not the manual OAuth steps
    )
    return {target for target in waiting if target is not None}


def _report_checks(
    request: SiteRequest, checks: list[Check], waiting: set[str], oauth: OAuth | None, ui: Ui
) -> None:
    """Show the site's checks (but those of imports still waiting for files); raise when one
    fails, else say what waits, that the site is ready and how to open it in the viewer."""
    shown = [c for c in checks if c.ok or c.target not in waiting]
    ui.say("")
    ui.show_checks(shown)
    failed = [c for c in shown if not c.ok]
    if failed:
        raise ProvisionError(
            f"site {request.site} was applied but {len(failed)} check(s) failed (see above); "
            f"fix the cause and {request.again}"
        )
    if waiting:
        uris = ", ".join(sorted({w.split(" <- ", 1)[-1] for w in waiting}))
        ui.say(f"Waiting for DICOM files: {uris}. Upload them, then {request.again} to import.")
    ui.say(f"Site {request.site} is ready.")
    ui.say(
        open_in_viewer(
            request.blueprint,
            request.site,
            oauth,
            endpoint=request.endpoint,
            emulator=request.emulator,
        )
    )
