"""`provision onboard SITE --blueprint B`: add a site and bring it up in one command.

Steps: write `SITE.yaml` into the blueprint's site folder (an identical existing file is
accepted, a different one refused) -> validate the whole blueprint (the new file is removed
again if that fails) -> plan only the site's resources and what they need -> confirm (as
`apply`) -> apply (DICOM imports included when the blueprint declares them) -> write the
site's OHIF and Orthanc configs -> print the `provision viewer` command that shows the site's
studies. Rerunning after success changes nothing; rerunning after a failure finishes the job.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provision.cli.app import app
from provision.cli.confirm import YesOption, assumes_yes, confirm
from provision.cli.target import (
    CredentialsOption,
    EmulatorOption,
    EndpointOption,
    ImpersonateOption,
    TargetOptions,
    connect,
)

if TYPE_CHECKING:
    from provision.apply import ApplyReport
    from provision.blueprint.loader import LoadedBlueprint
    from provision.gcp.api import GoogleApi
    from provision.model import Address, Plan

DEFAULT_EMULATOR_URL = "http://127.0.0.1:8765"
"""Where `provision emulator serve` listens by default (the viewers' URL with --emulator)."""
NOTHING_TO_IMPORT = "nothing to import yet"
"""How the plan explains an import whose source holds no files yet."""
OHIF_FILE = "ohif-config.js"
ORTHANC_FILE = "orthanc.json"


@app.command()
def onboard(
    site: Annotated[str, typer.Argument(help="The new site's name (e.g. st-marys).")],
    blueprint: Annotated[
        Path, typer.Option("--blueprint", help="The blueprint whose `sites` gets the site.")
    ],
    location: Annotated[
        str | None,
        typer.Option(help="Healthcare location of the site (default: sites.defaultLocation)."),
    ] = None,
    bucket: Annotated[
        str | None,
        typer.Option(
            help="gs:// URI of the site's DICOM files; the site template can use it as "
            "`{import_uri}`."
        ),
    ] = None,
    config_dir: Annotated[
        Path | None,
        typer.Option(help="Where to write the site's viewer configs (default: out/SITE)."),
    ] = None,
    viewer_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL the viewer configs use (default: --endpoint, "
            f"{DEFAULT_EMULATOR_URL} with --emulator, else Google)."
        ),
    ] = None,
    yes: YesOption = False,
    endpoint: EndpointOption = None,
    emulator: EmulatorOption = False,
    credentials: CredentialsOption = None,
    impersonate_service_account: ImpersonateOption = None,
) -> None:
    """Add a site file, validate, plan and apply only that site, and write its viewer configs.

    Exit codes: 0 done (also when there was nothing to do), 1 error (the site file is removed
    again when it was just written and nothing was applied), 130 interrupted.
    """
    from provision.blueprint.expand import expand
    from provision.blueprint.loader import load
    from provision.cli.verify_cmd import render as render_checks
    from provision.errors import ProvisionError
    from provision.onboard import new_site, remove_created, write_site_file
    from provision.resources.base import Context
    from provision.site_scope import site_addresses, site_file_path
    from provision.verify import verify_blueprint

    before = load(blueprint, site_folder_may_be_missing=True)  # writing the site file makes it
    wanted = new_site(site, location, bucket)
    path = site_file_path(before, site)
    sites = before.blueprint.sites
    default_location = sites.default_location if sites is not None else None
    written = write_site_file(path, wanted, _relative(before.path, path.parent), default_location)
    verb = "wrote" if written.created else "using the existing"
    typer.echo(f"onboard: {verb} site file {path}", err=True)
    try:
        loaded = load(blueprint)
        only = site_addresses(loaded, expand(loaded), site)
    except ProvisionError:
        if remove_created(written):
            typer.echo(f"onboard: removed {path} again; nothing was changed", err=True)
        raise
    target = TargetOptions(endpoint, emulator, credentials, impersonate_service_account)
    run = SiteRun(loaded, site, only, path)
    try:
        with connect(target) as connection:
            plan = run.plan_and_apply(connection.api, assumes_yes(yes))
            checks = verify_blueprint(loaded, Context.create(connection.api), only=only)
    except ProvisionError:
        if not run.applied and remove_created(written):
            typer.echo(f"onboard: removed {path} again; nothing was changed", err=True)
        raise
    out_dir = config_dir if config_dir is not None else Path("out") / site
    base = viewer_url or endpoint or (DEFAULT_EMULATOR_URL if emulator else None)
    for line in write_viewer_configs(loaded, site, out_dir, base):
        typer.echo(f"onboard: {line}", err=True)
    if emulator and viewer_url is None:
        typer.echo(
            "onboard: the viewer configs point at "
            f"{DEFAULT_EMULATOR_URL}; serve this state there with "
            "`provision emulator serve --state .provision/emulator.db`",
            err=True,
        )
    waiting = waiting_imports(plan)
    shown = [c for c in checks if c.ok or c.target not in waiting]
    typer.echo("")
    typer.echo(render_checks(shown), nl=False)
    failed = [c for c in shown if not c.ok]
    if failed:
        raise ProvisionError(
            f"site {site} was applied but {len(failed)} check(s) failed (see above); fix the "
            f"cause and run the same `provision onboard {site} ...` again"
        )
    if waiting:
        typer.echo(
            "Waiting for DICOM files: "
            + ", ".join(sorted({w.split(" <- ", 1)[-1] for w in waiting}))
            + f". Upload them, then run the same `provision onboard {site} ...` again to import."
        )
    typer.echo(f"Site {site} is ready.")
    from provision.viewer.session import viewer_command

    command = viewer_command(blueprint, site, endpoint=endpoint, emulator=emulator)
    typer.echo(f"Open its studies in the OHIF Viewer: {command}")


@dataclass
class SiteRun:
    """Planning and applying one site; `applied` once a change may have been made."""

    loaded: LoadedBlueprint
    site: str
    only: AbstractSet[Address]
    path: Path
    applied: bool = False

    def plan_and_apply(self, api: GoogleApi, assume_yes: bool) -> Plan:
        """Plan the site, show it; if it changes anything, confirm and apply it under the lease
        (planned again there when another run held it since). Returns the site's plan as it
        stands afterwards."""
        from provision.apply import apply_plan
        from provision.cli import lease_step
        from provision.cli.engine_flags import engine_options
        from provision.cli.reporter import StderrReporter
        from provision.plan import plan_blueprint
        from provision.resources.base import Context

        options = engine_options(api, None, None, False)
        ctx = Context.create(api, options)
        step = lease_step.prepare(api, self.loaded.blueprint)

        def site_plan() -> Plan:
            return plan_blueprint(self.loaded, ctx, only=self.only)

        def show(plan: Plan) -> None:
            show_site_plan(self.site, plan)

        def run(plan: Plan) -> ApplyReport:
            self.applied = True
            return apply_plan(plan, ctx, reporter=StderrReporter())

        plan = site_plan()
        show(plan)
        if not plan.has_changes:
            return plan
        confirm(assume_yes)
        report = lease_step.run_under_lease(
            step, plan, site_plan, run, show=show, assume_yes=assume_yes
        )
        if report is None:
            return plan
        report_site_apply(report, self.path, self.site)
        return plan_blueprint(self.loaded, Context.create(api, options), only=self.only)


def show_site_plan(site: str, plan: Plan) -> None:
    """Print the plan of one site (`Planned changes for site SITE of BLUEPRINT`)."""
    from provision.outputs import plan_text

    text = plan_text.render(plan, color=sys.stdout.isatty())
    heading = f"Planned changes for site {site} of "
    typer.echo(text.replace("Planned changes for ", heading, 1), nl=False)


def report_site_apply(report: ApplyReport, path: Path, site: str) -> None:
    """Print the apply summary; exit 130 when interrupted, ApplyError when a change failed."""
    from provision.apply import failure_lines
    from provision.errors import ApplyError

    if report.interrupted:
        typer.echo(report.summary())
        typer.echo("\n".join(failure_lines(report)), err=True)
        raise typer.Exit(130)
    if not report.ok:
        lines = "\n".join(failure_lines(report))
        raise ApplyError(
            f"{report.summary()}\n{lines}\nThe site file {path} stays; fix the "
            f"cause and run the same `provision onboard {site} ...` again."
        )
    typer.echo(report.summary())


def waiting_imports(plan: Plan) -> set[str]:
    """Imports planned as nothing-to-do because their source holds no files yet, as verify
    names them (`STORE <- URI`)."""
    from provision.model import Action

    return {
        f"{(c.after or {}).get('store')} <- {(c.after or {}).get('uri')}"
        for c in plan.changes
        if c.address.kind == "healthcare.dicom_import"
        and c.action is Action.NOOP
        and c.reason.startswith(NOTHING_TO_IMPORT)
    }


def write_viewer_configs(
    loaded: LoadedBlueprint, site: str, out_dir: Path, base_url: str | None
) -> list[str]:
    """Write `ohif-config.js` and `orthanc.json` for the site's stores into `out_dir`.

    `base_url` None means real Google; otherwise the configs point there with no sign-in.
    Returns one line per file written or skipped (a config that cannot be made for this
    blueprint, e.g. OHIF without `oauth.clientId`, is skipped with the reason).
    """
    from provision.errors import ProvisionError
    from provision.outputs.ohif import ohif_config
    from provision.outputs.orthanc import orthanc_config, orthanc_json
    from provision.outputs.stores import ViewerConfigError

    blueprint = loaded.blueprint

    def ohif() -> str:
        if base_url is None:
            return ohif_config(blueprint, site=site)
        return ohif_config(blueprint, site=site, base_url=base_url, emulator=True)

    def orthanc() -> str:
        if base_url is None:
            return orthanc_json(orthanc_config(blueprint, site=site))
        return orthanc_json(orthanc_config(blueprint, site=site, base_url=base_url, emulator=True))

    makers = {OHIF_FILE: ohif, ORTHANC_FILE: orthanc}
    lines = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ProvisionError(f"cannot create {out_dir}: {error.strerror or error}") from None
    for name, make in makers.items():
        try:
            text = make()
        except ViewerConfigError as error:
            lines.append(f"{name} not written: {error}")
            continue
        target = out_dir / name
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as error:
            raise ProvisionError(f"cannot write {target}: {error.strerror or error}") from None
        where = base_url or "Google Cloud Healthcare"
        lines.append(f"wrote {target} (stores at {where})")
    return lines


def _relative(path: Path, start: Path) -> str:
    return os.path.relpath(path, start).replace(os.sep, "/")
