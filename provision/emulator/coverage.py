"""Which methods of the emulated Google APIs the emulator serves, as a Markdown page.

Reads the discovery documents bundled with google-api-python-client (the same ones the tool's
clients are built from) and asks the emulator's router whether it would route each method:
the method's HTTP verb on a sample path made from its `flatPath` (and, for media uploads, its
upload paths), counted only when the route found is that method's and emulates it. Each API's
batch endpoint (the document's `batchPath`) is listed too, with whether the emulator answers
batches there. `scripts/emulator_coverage.py` writes the page to `docs/emulator-coverage.md`;
a test keeps the committed page current."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.emulator.app import BATCH_ENDPOINTS, api_routes
from provision.emulator.core import gate
from provision.emulator.core.discovery import documents_dir, walk_methods
from provision.emulator.core.routing import NotEmulated, Route, Router

APIS: tuple[tuple[str, str, str], ...] = (
    ("cloudresourcemanager", "v3", "Cloud Resource Manager"),
    ("cloudresourcemanager", "v1", "Cloud Resource Manager"),
    ("serviceusage", "v1", "Service Usage"),
    ("serviceusage", "v1beta1", "Service Usage (beta)"),
    ("cloudbilling", "v1", "Cloud Billing"),
    ("iam", "v1", "Identity and Access Management"),
    ("healthcare", "v1", "Cloud Healthcare"),
    ("storage", "v1", "Cloud Storage JSON"),
    ("cloudkms", "v1", "Cloud Key Management Service (KMS)"),
    ("pubsub", "v1", "Cloud Pub/Sub"),
    ("bigquery", "v2", "BigQuery"),
)


@dataclass(frozen=True)
class MethodCoverage:
    method_id: str
    http_method: str
    path: str
    served_by: str
    """The emulator route's method id, or "" when not emulated."""


SAMPLE_VALUES: dict[tuple[str, str], dict[str, str]] = {
    ("cloudresourcemanager", "v1"): {"operationsId": "cp.1"},
}
"""Parameter values an API's sample paths need: Resource Manager v1 and Service Usage share
`/v1/operations/...` on the emulator's one host, told apart by the operation name's prefix."""


def sample_path(template: str, values: dict[str, str] | None = None) -> str:
    """A concrete path for a discovery path template: `{v1Id}`-style leading parameters (a
    resource collection, e.g. `projects`) become `projects`, a parameter named in `values`
    that value, every other parameter `x<n>`."""
    counter = iter(range(1, 1000))

    def value(match: re.Match[str]) -> str:
        if values and match.group(1) in values:
            return values[match.group(1)]
        if re.fullmatch(r"v\d\w*Id", match.group(1)):
            return "projects"
        return f"x{next(counter)}"

    return re.sub(r"\{\+?([^}]+)\}", value, template)


def api_coverage(
    api: str, version: str, router: Router
) -> tuple[dict[str, Any], list[MethodCoverage]]:
    document = json.loads((documents_dir() / f"{api}.{version}.json").read_text())
    service_path = "/" + document.get("servicePath", "").lstrip("/")
    rows = []
    for method in sorted(walk_methods(document.get("resources", {})), key=lambda m: m["id"]):
        verb = method["httpMethod"]
        flat = method.get("flatPath", method["path"])
        paths = [service_path + flat]
        protocols = method.get("mediaUpload", {}).get("protocols", {})
        paths += [protocol["path"] for protocol in protocols.values() if "path" in protocol]
        served_by = ""
        for path in paths:
            matched = router.match(verb, sample_path(path, SAMPLE_VALUES.get((api, version))))
            if matched is not None and _serves(matched[0], method["id"]):
                served_by = f"{matched[0].api}.{matched[0].method_id}"
                break
        rows.append(
            MethodCoverage(
                method["id"].removeprefix(f"{api}."), verb, service_path + flat, served_by
            )
        )
    return document, rows


def _serves(route: Route, method_id: str) -> bool:
    """Whether `route` is the emulation of discovery method `method_id`: a route of the same
    method that does more than say it is not emulated (a route answering some other method's
    path, e.g. `objects.get` for `.../o/NAME/acl`, does not count)."""
    return f"{route.api}.{route.method_id}" == method_id and not isinstance(
        route.handler, NotEmulated
    )


def batch_cell(document: dict[str, Any]) -> str:
    """`/batch/...`: yes|— for a discovery document's batch endpoint ("—" without one): yes
    when the emulator answers batches of that API there (`EmulatorApp.dispatch`)."""
    batch_path = document.get("batchPath")
    if not batch_path:
        return "—"
    path = "/" + str(batch_path).lstrip("/")
    endpoint = BATCH_ENDPOINTS.get(path)
    if endpoint is None or endpoint.api != document.get("name"):
        return f"`{path}`: —"
    if endpoint.setting:  # Google's own guides do not describe it
        return f"`{path}`: yes (*unverified*; setting `{endpoint.setting}`)"
    return f"`{path}`: yes"


GATE_SECTION = """\
## What every request is checked for

Before any handler runs, the emulator's discovery gate (`provision/emulator/core/gate.py`) checks
each request against the discovery document of its API and refuses it as Google does:

- the method exists for that path and HTTP verb (a test holds every route against its document;
  routes outside discovery: {outside});
- a media method (`supportsMediaUpload`) is called on one of its upload paths with an
  `uploadType` it offers, else Cloud Storage's 400 `wrongUrlForUpload`;
- every query parameter is declared by the method or is a system parameter of the document, and
  its value is of the declared type, range or enum (DICOMweb methods, whose body is `HttpBody`,
  pass their other parameters to QIDO-RS);
- a JSON body reads as the method's request schema: no unknown field, every value of its field's
  type, every enum value one of its names (ESF APIs: 400 `INVALID_ARGUMENT` "Invalid JSON payload
  received. Unknown name ..." with `google.rpc.BadRequest` field violations; Cloud Storage: its
  own envelope, reason `invalid`).

In the test suite every JSON answer is checked too (`provision/emulator/core/answers.py`): against
the method's response schema, the fields Google always sets, the type URLs of long-running
operations and each API's error envelope. Exchanges recorded against real Google are replayed
against the emulator (`tests/golden/`).
"""


def gate_section() -> list[str]:
    outside = "; ".join(
        f"`{api} {method}`, {why}" for (api, method), why in gate.OUTSIDE_DISCOVERY.items()
    )
    return [*GATE_SECTION.format(outside=outside).splitlines(), ""]


def render_page() -> str:
    router = Router(api_routes())
    lines = [
        "# Emulator coverage",
        "",
        "Generated by `scripts/emulator_coverage.py` from the discovery documents bundled with",
        "google-api-python-client and the emulator's routes; do not edit by hand. A method is",
        "emulated when the emulator routes its HTTP method and path to that method's own",
        "emulation (not to another method's route, nor to a 501 saying it is not emulated).",
        "Batch is the API's batch endpoint (the document's `batchPath`) and whether the",
        "emulator answers batches there.",
        "",
        *gate_section(),
        "## Methods",
        "",
    ]
    summary = ["| API | Version | Revision | Emulated | Batch |", "|---|---|---|---|---|"]
    sections: list[str] = []
    for api, version, title in APIS:
        document, rows = api_coverage(api, version, router)
        served = sum(1 for row in rows if row.served_by)
        summary.append(
            f"| [{title}](#{api}-{version}) | {version} | {document.get('revision', '')} "
            f"| {served} of {len(rows)} | {batch_cell(document)} |"
        )
        sections += [
            "",
            f'<a id="{api}-{version}"></a>',
            "",
            f"## {title} {version} ({served} of {len(rows)})",
            "",
            "| Method | HTTP | Path | Emulated |",
            "|---|---|---|---|",
        ]
        sections += [
            f"| `{row.method_id}` | {row.http_method} | `{row.path}` | "
            f"{'yes' if row.served_by else '—'} |"
            for row in rows
        ]
    return "\n".join([*lines, *summary, *sections]) + "\n"


def write_page(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(), encoding="utf-8")
