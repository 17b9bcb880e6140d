"""`verify`: does the provisioned site actually work? Reads only; returns checks, prints nothing.

Each kind says what to check about its objects (`Kind.probes`); for a blueprint, against the
live state, that is:

* every DICOM store answers a QIDO-RS study search (`GET {store}/dicomWeb/studies`; 200 or
  204 both count), with its study and instance counts;
* every import is recorded as done on its store, and the store holds instances;
* the Cloud Healthcare Service Agent holds `roles/storage.objectViewer` (or a role including it)
  on every bucket an import reads from (the bucket's IAM policy);
* every member the blueprint grants a role on a dataset or DICOM store holds it (their IAM
  policies) — the viewer principals OHIF and Orthanc users sign in as.

Checks run concurrently and are listed in blueprint order; a check several objects ask for
(`Probe.shared`) runs once, after the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from provision.blueprint.expand import expand
from provision.blueprint.loader import LoadedBlueprint
from provision.errors import GoogleApiError, ProvisionError
from provision.model import Address, Resource
from provision.resources import registry
from provision.resources.base import Context, Probe

WORKERS = 8


@dataclass(frozen=True)
class Check:
    """One verified fact: `check` (what), `target` (on which object), whether it holds, why."""

    check: str
    target: str
    ok: bool
    detail: str


def verify_blueprint(
    loaded: LoadedBlueprint,
    ctx: Context,
    only: AbstractSet[Address] | None = None,
    resources: Sequence[Resource] | None = None,
) -> list[Check]:
    """Every check for `loaded` (in blueprint order); never raises for a failed check.

    `only`: check just these addresses (e.g. one site's, see `provision.site_scope`).
    `resources`: the blueprint's, when already expanded."""
    resources = expand(loaded) if resources is None else list(resources)
    if only is not None:
        resources = [r for r in resources if r.address in only]
    own: list[Probe] = []
    shared: dict[tuple[str, str], Probe] = {}
    for resource in resources:
        for probe in registry.get(resource.address.kind).probes(resource):
            if probe.shared:
                shared.setdefault((probe.check, probe.target), probe)
            else:
                own.append(probe)
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda probe: run(ctx, probe), [*own, *shared.values()]))


def run(ctx: Context, probe: Probe) -> Check:
    """The probe's answer; one that cannot read what it checks fails, saying why."""
    try:
        ok, detail = probe.run(ctx)
    except (GoogleApiError, ProvisionError) as error:
        message = getattr(error, "message", None) or str(error)
        return Check(probe.check, probe.target, False, f"cannot check: {message}")
    return Check(probe.check, probe.target, ok, detail)
