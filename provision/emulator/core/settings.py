"""Every knob of the emulator: fault injection, propagation windows, LRO timing, quotas and the
facts the fidelity spec marks unverified. All have CLI flags on `provision emulator serve` and can
be changed at run time with `POST /_emulator/settings`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class FaultRule:
    """Fail matching requests. Matching is on `api` and `method_id` (`*` = any), `mutating`.

    `after_commit`: perform the request, then answer with the error anyway.
    `status` is an HTTP code, or 0 for a connection reset. `times` caps how often it fires
    (an after-commit fault whose request fails on its own is not injected and does not count).
    """

    probability: float = 1.0
    status: int = 503
    api: str = "*"
    method_id: str = "*"
    mutating_only: bool = False
    after_commit: bool = False
    times: int | None = None


DEFAULT_BILLING_REQUIRED: tuple[str, ...] = (
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudkms.googleapis.com",
    "composer.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "dataflow.googleapis.com",
    "dataproc.googleapis.com",
    "file.googleapis.com",
    "healthcare.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "sqladmin.googleapis.com",
)


def _coerced(name: str, value: Any, current: Any) -> Any:
    """`value` in the type of the setting's current value; ValueError when it cannot be."""
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, int | float) and current is not None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return type(current)(value)
    elif isinstance(current, str):
        if isinstance(value, str):
            return value
    elif isinstance(current, tuple):
        if isinstance(value, list | tuple):
            return tuple(value)
    elif isinstance(current, dict):
        if isinstance(value, dict):
            return value
    else:
        return value
    raise ValueError(f"setting {name} expects {type(current).__name__}, got {value!r}")


DEFAULT_PROJECT_SERVICES: tuple[str, ...] = (
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",
    "cloudtrace.googleapis.com",
    "datastore.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "servicemanagement.googleapis.com",
    "serviceusage.googleapis.com",
    "sql-component.googleapis.com",
    "storage-api.googleapis.com",
    "storage-component.googleapis.com",
    "storage.googleapis.com",
)


@dataclass(frozen=True)
class EmulatorSettings:
    seed: int = 0
    profile: str = ""
    """The timing profile the settings started from (`google`: see core/profiles.py; "" for
    none). Setting it applies the profile's values first, then the other changes given with
    it."""
    # --- fault injection
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    method_latency_ms: dict[str, float] = field(default_factory=dict)
    """Latency per method instead of `latency_ms`, keyed by `api.method_id` (e.g.
    `storage.buckets.insert`) or an fnmatch pattern of it (`*.setIamPolicy`); the first key that
    matches wins, an exact key before any pattern."""
    error_rate: float = 0.0
    """Probability that a request fails before doing anything, with one of `error_codes`."""
    error_codes: tuple[int, ...] = (503,)
    """HTTP codes for injected errors; 429 comes with RATE_LIMIT_EXCEEDED; 0 = connection reset."""
    errors_after_commit: float = 0.0
    """Probability that a mutating request commits and then answers with an injected error."""
    rules: tuple[FaultRule, ...] = ()
    # --- long-running operations
    lro_polls: int = 1
    """Polls (operations.get) before an operation reports done; 0 = done at once."""
    lro_seconds: float = 0.0
    """Minimum age before an operation reports done."""
    lro_seconds_by_method: dict[str, float] = field(default_factory=dict)
    """Minimum age per method that starts the operation instead of `lro_seconds`, keyed like
    `method_latency_ms` (e.g. `healthcare.datasets.create`)."""
    # --- eventual consistency windows (seconds)
    service_enable_propagation_s: float = 0.0
    """After enabling an API, calls to it still answer 403 SERVICE_DISABLED for this long."""
    service_agent_delay_s: float = 0.0
    """After enabling an API, its service agent appears only after this long."""
    service_identity_delay_s: float = 0.0
    """After `generateServiceIdentity` (which answers at once), grants naming the new agent
    still answer 400 "Service account ... does not exist." for this long."""
    iam_effect_delay_s: float = 0.0
    """A new binding is honoured (e.g. by imports) only after this long."""
    dataset_init_s: float = 0.0
    """After creating a dataset, calls under it answer 404 "dataset not initialized"."""
    # --- quotas
    quotas: bool = False
    """Enforce Google's default per-minute quotas (429 RATE_LIMIT_EXCEEDED)."""
    # --- facts the spec marks unverified
    qido_empty_status: int = 204
    """QIDO-RS answer for no matches: 204 (observed 2020) or 200 with `[]`."""
    qido_includefield_levels: bool = True
    """QIDO-RS `includefield` adds only attributes of the searched level and above (a study
    search never answers a series' Modality), as PS3.18 10.6.3.3 says; False answers any
    attribute of the first matching instance. Google's conformance statement does not say."""
    frame_part_headers: str = "type"
    """Headers of each part of a WADO-RS frames answer: `type` (`Content-Type:
    application/octet-stream`) or `standard` (also `transfer-syntax=1.2.840.10008.1.2.1` on the
    type and the frame's URL as `Content-Location`, as PS3.18 describes). What Google sends is
    not documented."""
    rendered_window: str = "instance"
    """The VOI transformation of DICOMweb rendered images when the request names none:
    `instance` (its first Window Center / Width; the frame's value range without one) or
    `range` (always the frame's value range). Google does not document which it applies."""
    rendered_jpeg_quality: int = 90
    """JPEG quality (1-95) of rendered images; Google's is not documented."""
    storage_unknown_names: str = "refuse"
    """What Cloud Storage does with a query parameter or JSON field its discovery document does
    not declare (`refuse`: 400 in Storage's envelope; `ignore`). Not recorded anywhere known;
    refusing is the stricter reading, so the tool never relies on Storage ignoring one."""
    healthcare_batch: bool = True
    """Answer Cloud Healthcare batches at `POST /batch` (see `healthcare/batch.py`: declared by
    the discovery document, not described by the guides); off, that path answers 404."""
    storage_error_status_field: bool = False
    """Add `status` to Cloud Storage error bodies, as some newer responses do."""
    auto_grant_service_agent_role: bool = True
    """Enabling an API grants its service agent its role on the project, as Google does."""
    billing_required_services: tuple[str, ...] = DEFAULT_BILLING_REQUIRED
    """Services whose enablement needs a billing account (400 UREQ_PROJECT_BILLING_NOT_FOUND).
    Observed for compute and healthcare; the rest of the list is inferred."""
    billing_propagation_s: float = 0.0
    """After linking billing, enabling a paid API still fails the billing check for this long."""
    closed_billing_accounts: tuple[str, ...] = ()
    """Billing accounts that are closed: linking one leaves `billingEnabled` false."""
    extra_services: tuple[str, ...] = ()
    """Service names Service Usage knows in addition to its built-in catalogue."""
    service_activation_conflict_s: float = 0.0
    """An enable/disable of a service changed less than this long ago answers 400 "Another
    activation or deactivation is in progress" (0 = never)."""
    services_list_lag_s: float = 0.0
    """`services.list?filter=state:ENABLED` omits services enabled less than this long ago."""
    noop_operation_status: int = 400
    """HTTP status of `operations.get` on `operations/noop.DONE_OPERATION` (third-party reports
    say 400; unverified)."""
    new_project_services: tuple[str, ...] = DEFAULT_PROJECT_SERVICES
    """Services already enabled on a newly created project, as Google does for its default set
    (the exact list is inferred and changes over time; `[]` gives a bare project). Not
    `cloudapis.googleapis.com`: enabling it on a new project ran a real operation in
    golden/resourcemanager__project.http.log."""
    # --- Resource Manager and IAM
    caller: str = "user:owner@example.com"
    """The identity the emulator treats as the caller: owner of every project it creates."""
    denied_permissions: tuple[str, ...] = ()
    """Permissions `testIamPermissions` reports as not held (everything else is held)."""
    project_search_lag_s: float = 0.0
    """`projects.search` omits projects created less than this long ago (eventually consistent)."""
    service_account_visible_s: float = 0.0
    """A new service account is invisible (404, and "does not exist" in grants) for this long."""
    quota_limits: dict[str, float] = field(default_factory=dict)
    """Per-limit overrides of Google's default quotas, keyed by limit name
    (e.g. `{"MutateRequestsPerMinutePerProject": 10}`)."""
    # --- Healthcare and Cloud Storage facts the spec marks unverified
    import_failure_code: int = 3
    """google.rpc.Code of a finished import operation's `error` when some files failed (the
    real code is unverified; 3 = INVALID_ARGUMENT)."""
    cmek_failure_in_operation: bool = False
    """A dataset create whose CMEK key the Healthcare agent cannot use is refused at once
    (False) or starts an operation that fails with the refusal and creates nothing (True);
    which one Google does is unverified."""
    notification_topic_check: bool = False
    """Creating or patching a DICOM store refuses (400) a notification topic that does not exist
    or that the Healthcare agent may not publish to. Google is not known to check then."""
    extra: dict[str, Any] = field(default_factory=dict)

    def updated(self, changes: dict[str, Any]) -> EmulatorSettings:
        """A copy with `changes` applied; unknown keys raise ValueError."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        values = dict(changes)
        if values.get("profile"):
            from provision.emulator.core.profiles import profile_settings

            values = {**profile_settings(str(values["profile"])), **values}
        if "rules" in values:
            values["rules"] = tuple(
                rule if isinstance(rule, FaultRule) else FaultRule(**rule)
                for rule in values["rules"]
            )
        if "error_codes" in values:
            values["error_codes"] = tuple(int(code) for code in values["error_codes"])
        for name, value in list(values.items()):
            values[name] = _coerced(name, value, getattr(self, name))
        if values.get("frame_part_headers", "type") not in ("type", "standard"):
            raise ValueError("setting frame_part_headers is `type` or `standard`")
        if values.get("rendered_window", "instance") not in ("instance", "range"):
            raise ValueError("setting rendered_window is `instance` or `range`")
        if not 1 <= values.get("rendered_jpeg_quality", 90) <= 95:
            raise ValueError("setting rendered_jpeg_quality is from 1 to 95")
        return replace(self, **values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def per_method(table: dict[str, float], method: str, default: float) -> float:
    """`table`'s value for `method` (`api.method_id`): its exact key, else the first fnmatch
    pattern matching it, else `default`."""
    if method in table:
        return float(table[method])
    for pattern, value in table.items():
        if fnmatchcase(method, pattern):
            return float(value)
    return default


def from_command_line(options: dict[str, Any], assignments: list[str]) -> EmulatorSettings:
    """The settings of `provision emulator serve`: its options (setting name -> value, with
    `error_codes` as a comma list of HTTP codes, 0 for a connection reset; a `profile` first,
    overridden by the options not at their default) and then each
    `KEY=VALUE` of `--set` (VALUE is JSON, or else a string). ValueError naming what is wrong."""
    values = dict(options)
    if "error_codes" in values:
        try:
            codes = [int(code) for code in str(values["error_codes"]).split(",") if code.strip()]
        except ValueError:
            raise ValueError("--error-codes takes HTTP codes like 429,503") from None
        values["error_codes"] = tuple(codes or [503])
    if values.get("profile"):  # the profile's values, then the options given (not at default)
        defaults = EmulatorSettings()
        values = {"profile": values["profile"]} | {
            name: value
            for name, value in values.items()
            if name != "profile" and value != getattr(defaults, name)
        }
    else:
        values.pop("profile", None)
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            values[key.strip()] = json.loads(raw)
        except ValueError:
            values[key.strip()] = raw
    try:
        return EmulatorSettings().updated(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"--set: {error}") from None
