"""Google's naming and syntax rules for the values a blueprint holds.

Every `check_*` function is pure: it takes a value and returns `None` when the value is valid,
or a short plain-English sentence that says which rule it breaks. Nothing here imports pydantic
or any Google library, so the rules can be reused anywhere (schema validators, planners, tests).
Sources are the API discovery documents and Google's documentation on naming requirements.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
import zoneinfo
from functools import cache
from typing import Literal
from urllib.parse import urlsplit

# --- Rule texts (reused by messages and by the schema's field descriptions) -----------------

PROJECT_ID_RULE = (
    "6 to 30 characters: lowercase letters, digits and hyphens, starting with a letter and "
    "not ending with a hyphen"
)
PROJECT_DISPLAY_NAME_RULE = (
    "4 to 30 characters: letters, digits, spaces, hyphens, single and double quotes and '!'"
)
PARENT_RULE = "`organizations/NUMBER` or `folders/NUMBER`"
BILLING_ACCOUNT_RULE = "`billingAccounts/XXXXXX-XXXXXX-XXXXXX` (six uppercase hex digits each)"
CRM_LABEL_RULE = (
    "keys are 1 to 63 characters of lowercase letters, digits and hyphens, starting with a "
    "letter and ending with a letter or digit; values are empty or follow the same rule; "
    "at most 64 labels"
)
LABEL_RULE = (
    "keys are 1 to 63 characters of lowercase letters, digits, '_' and '-' starting with a "
    "lowercase letter; values are at most 63 such characters; international lowercase letters "
    "are allowed; at most 64 labels"
)
DICOM_STORE_LABEL_RULE = (
    "keys are 1 to 63 characters (at most 128 bytes) of lowercase or caseless letters, digits, "
    "'_' and '-', starting with a letter; values are at most 63 such characters; at most 64 labels"
)
HEALTHCARE_ID_RULE = "1 to 256 characters: letters, digits, '_', '-' and '.'"
BUCKET_NAME_RULE = (
    "3 to 63 characters (up to 222 with dots, each dot-separated part at most 63) of lowercase "
    "letters, digits, '-', '_' and '.', starting and ending with a letter or digit; not an IP "
    "address; not starting with 'goog'; not containing 'google' or a look-alike"
)
SERVICE_NAME_RULE = "a DNS-like API name with at least one dot, e.g. `healthcare.googleapis.com`"
ROLE_RULE = (
    "`roles/SERVICE.ROLE` (or a basic role such as `roles/viewer`), "
    "`projects/PROJECT/roles/ROLE` or `organizations/NUMBER/roles/ROLE`"
)
CUSTOM_ROLE_ID_RULE = "3 to 64 characters: letters, digits, '_' and '.'"
PERMISSION_RULE = "`SERVICE.RESOURCE.VERB`, e.g. `healthcare.dicomStores.dicomWebRead`"
MEMBER_RULE = (
    "`user:EMAIL`, `group:EMAIL`, `serviceAccount:EMAIL`, `domain:DOMAIN`, `principal://...`, "
    "`principalSet://...`, `deleted:...`, `allUsers` or `allAuthenticatedUsers`"
)
PUBSUB_TOPIC_RULE = "`projects/PROJECT/topics/TOPIC`"
BIGQUERY_TABLE_RULE = "`bq://PROJECT.DATASET.TABLE`"
TOPIC_ID_RULE = (
    "3 to 255 characters: a letter, then letters, digits, '-', '_', '.', '~', '+' and '%'; "
    "not starting with 'goog'"
)
TOPIC_REF_RULE = f"{PUBSUB_TOPIC_RULE}, or the id of a topic declared in `topics`"
BIGQUERY_DATASET_RULE = "1 to 1024 letters, digits and '_'"
IMPORT_URI_RULE = (
    "`gs://BUCKET/PATH`; the path may use `*` (any characters except '/'), `?` (one character) "
    "or `**` (anything, including '/'); `**` must come at the end of the path, optionally "
    "followed by an extension such as `**.dcm`, and then no other wildcard may be used"
)
STORE_REF_RULE = "`DATASET/STORE`, naming a dataset and one of its DICOM stores"
TIME_ZONE_RULE = "an IANA time zone name such as `UTC` or `Europe/Paris`; empty means UTC"
OAUTH_ORIGIN_RULE = "`https://HOST` or `https://HOST:PORT` (no path, no trailing slash)"
OAUTH_CLIENT_ID_RULE = "`NUMBER-STRING.apps.googleusercontent.com`"
SITE_NAME_RULE = (
    "1 to 30 characters: lowercase letters, digits and hyphens, starting with a letter and not "
    "ending with a hyphen"
)
BUCKET_LOCATION_RULE = "a Cloud Storage location such as `US`, `EU` or `us-central1`"

STORAGE_REGIONS: frozenset[str] = frozenset(
    {
        # North America
        "northamerica-northeast1",
        "northamerica-northeast2",
        "northamerica-south1",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-east5",
        "us-south1",
        "us-west1",
        "us-west2",
        "us-west3",
        "us-west4",
        # South America
        "southamerica-east1",
        "southamerica-west1",
        # Europe
        "europe-central2",
        "europe-north1",
        "europe-north2",
        "europe-southwest1",
        "europe-west1",
        "europe-west2",
        "europe-west3",
        "europe-west4",
        "europe-west6",
        "europe-west8",
        "europe-west9",
        "europe-west10",
        "europe-west12",
        # Asia
        "asia-east1",
        "asia-east2",
        "asia-northeast1",
        "asia-northeast2",
        "asia-northeast3",
        "asia-south1",
        "asia-south2",
        "asia-southeast1",
        "asia-southeast2",
        # Middle East
        "me-central1",
        "me-central2",
        "me-west1",
        # Australia
        "australia-southeast1",
        "australia-southeast2",
        # Africa
        "africa-south1",
    }
)
"""Cloud Storage regions (cloud.google.com/storage/docs/locations, "Available locations").
Google adds regions from time to time; a region missing here is refused until it is added."""

STORAGE_DUAL_REGIONS: dict[str, frozenset[str]] = {
    "asia1": frozenset({"asia-northeast1", "asia-northeast2"}),
    "eur4": frozenset({"europe-north1", "europe-west4"}),
    "eur5": frozenset({"europe-west1", "europe-west2"}),
    "eur7": frozenset({"europe-west3", "europe-west10"}),
    "eur8": frozenset({"europe-west6", "europe-west8"}),
    "nam4": frozenset({"us-central1", "us-east1"}),
}
"""Predefined dual-regions and the regions each pairs (same page)."""

_EU_NOT_IN_EU = frozenset({"europe-west2", "europe-west6"})  # London, Zurich
STORAGE_MULTI_REGIONS: dict[str, frozenset[str]] = {
    "us": frozenset(r for r in STORAGE_REGIONS if r.startswith("us-")),
    "eu": frozenset(
        r for r in STORAGE_REGIONS if r.startswith("europe-") and r not in _EU_NOT_IN_EU
    ),
    "asia": frozenset(r for r in STORAGE_REGIONS if r.startswith("asia-")),
}
"""Multi-regions (same page) and the regions whose data centers they may use: the United
States, the member states of the European Union, and Asia."""


def residency_area(location: str) -> frozenset[str]:
    """The regions data for a dataset in `location` may stay in without leaving its
    jurisdiction: a multi-region as it is; a region widened to the multi-region that holds it
    (United States, European Union, Asia), else the region alone (e.g. London, Montreal)."""
    regions = storage_location_regions(location)
    if len(regions) != 1:
        return regions
    for area in STORAGE_MULTI_REGIONS.values():
        if regions <= area:
            return area
    return regions


def storage_location_regions(location: str) -> frozenset[str]:
    """The regions a bucket in `location` (any case) may keep data in; empty when unknown."""
    name = location.lower()
    if name in STORAGE_REGIONS:
        return frozenset({name})
    return STORAGE_DUAL_REGIONS.get(name) or STORAGE_MULTI_REGIONS.get(name) or frozenset()


HEALTHCARE_LOCATIONS: frozenset[str] = frozenset(
    {
        # Americas
        "northamerica-northeast1",
        "northamerica-northeast2",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-west1",
        "us-west2",
        "us-west3",
        "southamerica-east1",
        # Asia-Pacific
        "asia-east1",
        "asia-east2",
        "asia-northeast1",
        "asia-northeast2",
        "asia-northeast3",
        "asia-south1",
        "asia-southeast1",
        "asia-southeast2",
        "australia-southeast1",
        "australia-southeast2",
        # Europe
        "europe-north1",
        "europe-west2",
        "europe-west3",
        "europe-west4",
        "europe-west6",
        # Middle East
        "me-west1",
        "me-central1",
        "me-central2",
        # Multi-regions
        "us",
        "eu",
    }
)
"""Regions where the Cloud Healthcare API is available (Google's published list)."""

BASIC_ROLES: frozenset[str] = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
HUMAN_MEMBER_PREFIXES: tuple[str, ...] = ("user:", "group:", "domain:")
PUBLIC_MEMBERS: frozenset[str] = frozenset({"allUsers", "allAuthenticatedUsers"})
BANNED_SERVICES: dict[str, str] = {
    "bigquery-json.googleapis.com": "it was renamed; use `bigquery.googleapis.com`",
}

ResourceKind = Literal["project", "bucket", "dataset", "dicomStore"]
LabelProblem = tuple[str | None, Literal["key", "value"], str]
"""`(label key or None for the whole mapping, which part is wrong, message)`."""

_PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_PARENT = re.compile(r"(organizations|folders)/[1-9][0-9]{0,30}")
_BILLING = re.compile(r"billingAccounts/[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}")
_CRM_LABEL_KEY = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
_SERVICE = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})+")
_PREDEFINED_ROLE = re.compile(r"roles/[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*")
_CUSTOM_ROLE_ID = r"[A-Za-z0-9_.]{3,64}"
_PROJECT_ROLE = re.compile(rf"projects/[a-z][a-z0-9-]{{4,28}}[a-z0-9]/roles/{_CUSTOM_ROLE_ID}")
_ORG_ROLE = re.compile(rf"organizations/[0-9]+/roles/{_CUSTOM_ROLE_ID}")
_EMAIL = re.compile(r"[^@\s:]+@[^@\s:]+\.[^@\s:]+")
_DOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})+", re.IGNORECASE)
_WORKLOAD_SA = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]\.svc\.id\.goog\[[^/\]\s]+/[^/\]\s]+\]")
_TOPIC_ID = re.compile(r"[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}")
_BQ_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}")
_BQ_TABLE = re.compile(r"[\w\- ]{1,1024}")
_OAUTH_CLIENT_ID = re.compile(r"[0-9]+-[a-z0-9]+\.apps\.googleusercontent\.com")
_SITE_NAME = re.compile(r"[a-z]([a-z0-9-]{0,28}[a-z0-9])?")
_BUCKET_LOCATION = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,62}")
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_GOOGLE_LOOKALIKE = re.compile(r"go{2,}gl+e")


def _fullmatch(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


def has_placeholder(value: str) -> bool:
    """True when `value` holds a site-template placeholder such as `{site}`."""
    return _PLACEHOLDER.search(value) is not None


# --- Projects ---------------------------------------------------------------------------------


def check_project_id(value: str) -> str | None:
    """Project ids: `^[a-z][a-z0-9-]{4,28}[a-z0-9]$`."""
    if _fullmatch(_PROJECT_ID, value):
        return None
    detail = ""
    if not 6 <= len(value) <= 30:
        detail = f" (it has {len(value)})"
    elif value != value.lower():
        detail = " (it has uppercase letters)"
    elif not value[:1].isalpha():
        detail = " (it does not start with a letter)"
    elif value.endswith("-"):
        detail = " (it ends with a hyphen)"
    return f"project id {value!r} is invalid: it must be {PROJECT_ID_RULE}{detail}"


def check_project_display_name(value: str) -> str | None:
    """Project display names: 4-30 of letters, digits, space, `-`, `'`, `"`, `!`."""
    allowed = all(c.isalpha() or c.isdigit() or c in " -'\"!" for c in value)
    if 4 <= len(value) <= 30 and allowed:
        return None
    return f"project display name {value!r} is invalid: it must be {PROJECT_DISPLAY_NAME_RULE}"


def check_parent(value: str) -> str | None:
    if _fullmatch(_PARENT, value):
        return None
    return f"parent {value!r} is invalid: it must be {PARENT_RULE}"


def check_billing_account(value: str) -> str | None:
    if _fullmatch(_BILLING, value):
        return None
    hint = ""
    if _fullmatch(_BILLING, value.replace("billingaccounts/", "billingAccounts/").upper()):
        hint = " (use uppercase letters)"
    elif _fullmatch(_BILLING, f"billingAccounts/{value}"):
        hint = f" (write `billingAccounts/{value}`)"
    return f"billing account {value!r} is invalid: it must be {BILLING_ACCOUNT_RULE}{hint}"


# --- Labels -----------------------------------------------------------------------------------


def _too_many_labels(labels: dict[str, str]) -> list[LabelProblem]:
    if len(labels) > 64:
        return [(None, "key", f"there are {len(labels)} labels; at most 64 are allowed")]
    return []


def check_crm_labels(labels: dict[str, str]) -> list[LabelProblem]:
    """Project (Resource Manager) labels."""
    problems = _too_many_labels(labels)
    for key, value in labels.items():
        if not (len(key) <= 63 and _fullmatch(_CRM_LABEL_KEY, key)):
            problems.append((key, "key", f"label key {key!r} is invalid: {CRM_LABEL_RULE}"))
        if value and not (len(value) <= 63 and _fullmatch(_CRM_LABEL_KEY, value)):
            problems.append((key, "value", f"label value {value!r} is invalid: {CRM_LABEL_RULE}"))
    return problems


def _is_lower_or_caseless_letter(char: str) -> bool:
    return unicodedata.category(char) in ("Ll", "Lo")


def _is_number(char: str) -> bool:
    return unicodedata.category(char).startswith("N")


def _label_char(char: str) -> bool:
    return _is_lower_or_caseless_letter(char) or _is_number(char) or char in "_-"


def check_labels(labels: dict[str, str]) -> list[LabelProblem]:
    """Generic Google Cloud labels (buckets, datasets)."""
    problems = _too_many_labels(labels)
    for key, value in labels.items():
        key_ok = (
            1 <= len(key) <= 63
            and _is_lower_or_caseless_letter(key[0])
            and all(_label_char(c) for c in key)
        )
        if not key_ok:
            problems.append((key, "key", f"label key {key!r} is invalid: {LABEL_RULE}"))
        if not (len(value) <= 63 and all(_label_char(c) for c in value)):
            problems.append((key, "value", f"label value {value!r} is invalid: {LABEL_RULE}"))
    return problems


def check_dicom_store_labels(labels: dict[str, str]) -> list[LabelProblem]:
    """DICOM store labels: key `[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}`, <=128 bytes."""
    problems = _too_many_labels(labels)
    for key, value in labels.items():
        key_ok = (
            1 <= len(key) <= 63
            and len(key.encode()) <= 128
            and _is_lower_or_caseless_letter(key[0])
            and all(_label_char(c) for c in key)
        )
        if not key_ok:
            problems.append((key, "key", f"label key {key!r} is invalid: {DICOM_STORE_LABEL_RULE}"))
        value_ok = (
            len(value) <= 63 and len(value.encode()) <= 128 and all(_label_char(c) for c in value)
        )
        if not value_ok:
            problems.append(
                (key, "value", f"label value {value!r} is invalid: {DICOM_STORE_LABEL_RULE}")
            )
    return problems


# --- Healthcare -------------------------------------------------------------------------------


def check_healthcare_id(value: str, what: str = "id") -> str | None:
    """Dataset and DICOM store ids: `[\\p{L}\\p{N}_\\-\\.]{1,256}`."""
    ok = 1 <= len(value) <= 256 and all(
        unicodedata.category(c)[0] in "LN" or c in "_-." for c in value
    )
    if ok:
        return None
    return f"{what} {value!r} is invalid: it must be {HEALTHCARE_ID_RULE}"


def check_dataset_id(value: str) -> str | None:
    return check_healthcare_id(value, "dataset id")


def check_dicom_store_id(value: str) -> str | None:
    return check_healthcare_id(value, "DICOM store id")


def check_healthcare_location(value: str) -> str | None:
    if value in HEALTHCARE_LOCATIONS:
        return None
    hint = ""
    close = difflib.get_close_matches(value.lower(), sorted(HEALTHCARE_LOCATIONS), n=1)
    if value.lower() in HEALTHCARE_LOCATIONS:
        hint = f" (write it in lowercase: {value.lower()!r})"
    elif close:
        hint = f" (did you mean {close[0]!r}?)"
    return (
        f"location {value!r} does not offer the Cloud Healthcare API{hint}; use one of: "
        + ", ".join(sorted(HEALTHCARE_LOCATIONS))
    )


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _loads_as_time_zone(value: str) -> bool:
    """Whether `value` names a zone the tz database has (without listing the whole database,
    which reads every one of its ~600 files), as `zoneinfo.available_timezones` would list it."""
    if value == "posixrules" or value.startswith(("posix/", "right/")):
        return False
    try:
        zoneinfo.ZoneInfo(value)
    except (KeyError, ValueError, OSError):  # not found, not a zone file, a directory
        return False
    return True


def check_time_zone(value: str) -> str | None:
    """IANA time zone names; empty means UTC. Unchecked when the system has no tz database."""
    if not value or _loads_as_time_zone(value):
        return None
    zones = _time_zones()
    if not zones or value in zones:
        return None
    return f"time zone {value!r} is unknown: it must be {TIME_ZONE_RULE}"


def check_pubsub_topic(value: str) -> str | None:
    parts = value.split("/")
    ok = (
        len(parts) == 4
        and parts[0] == "projects"
        and parts[2] == "topics"
        and (_fullmatch(_PROJECT_ID, parts[1]) or _domain_scoped_project(parts[1]))
        and _fullmatch(_TOPIC_ID, parts[3])
        and not parts[3].startswith("goog")
    )
    if ok:
        return None
    return f"Pub/Sub topic {value!r} is invalid: it must be {PUBSUB_TOPIC_RULE}"


def check_topic_id(value: str) -> str | None:
    if _fullmatch(_TOPIC_ID, value) and not value.lower().startswith("goog"):
        return None
    return f"Pub/Sub topic id {value!r} is invalid: it must be {TOPIC_ID_RULE}"


def check_topic_ref(value: str) -> str | None:
    """A notification topic: its full name, or the bare id of a topic of `topics`."""
    if "/" not in value:
        return check_topic_id(value)
    problem = check_pubsub_topic(value)
    return None if problem is None else f"{problem}, or a topic id of `topics`"


def check_bigquery_dataset_id(value: str) -> str | None:
    if _fullmatch(_BQ_DATASET, value):
        return None
    return f"BigQuery dataset id {value!r} is invalid: it must be {BIGQUERY_DATASET_RULE}"


def _domain_scoped_project(value: str) -> bool:
    domain, sep, project = value.partition(":")
    return bool(sep) and _fullmatch(_DOMAIN, domain) and _fullmatch(_PROJECT_ID, project)


def check_bigquery_table_uri(value: str) -> str | None:
    ok = False
    if value.startswith("bq://"):
        parts = value[len("bq://") :].split(".")
        ok = (
            len(parts) == 3
            and (_fullmatch(_PROJECT_ID, parts[0]) or _domain_scoped_project(parts[0]))
            and _fullmatch(_BQ_DATASET, parts[1])
            and _fullmatch(_BQ_TABLE, parts[2])
        )
    if ok:
        return None
    return f"BigQuery table {value!r} is invalid: it must be {BIGQUERY_TABLE_RULE}"


def check_store_ref(value: str) -> str | None:
    """`DATASET/STORE` as used by `imports[].dicomStore`."""
    dataset, sep, store = value.partition("/")
    if sep and check_dataset_id(dataset) is None and check_dicom_store_id(store) is None:
        return None
    return f"DICOM store reference {value!r} is invalid: it must be {STORE_REF_RULE}"


def split_store_ref(value: str) -> tuple[str, str]:
    """`DATASET/STORE` -> `(DATASET, STORE)`; call only on values `check_store_ref` accepts."""
    dataset, _, store = value.partition("/")
    return dataset, store


# --- Cloud Storage ----------------------------------------------------------------------------


def _looks_like_google(name: str) -> bool:
    normalised = name.replace("0", "o").replace("1", "l").replace("3", "e")
    return _GOOGLE_LOOKALIKE.search(normalised) is not None


def check_bucket_name(value: str) -> str | None:
    """Cloud Storage bucket names (see `BUCKET_NAME_RULE`)."""
    problem = _bucket_name_problem(value)
    if problem is None:
        return None
    if problem.startswith(("it has", "it contains", "a dot")):
        problem += "; names must be 3 to 63 characters (up to 222 with dots, at most 63 between "
        problem += "dots) of lowercase letters, digits, '-', '_' and '.'"
    return f"bucket name {value!r} is invalid: {problem}"


def _bucket_name_problem(value: str) -> str | None:
    limit = 222 if "." in value else 63
    if not 3 <= len(value) <= limit:
        return f"it has {len(value)} characters"
    bad = sorted(
        {c for c in value if not (c.isascii() and (c.islower() or c.isdigit()))} - set("-_.")
    )
    if bad:
        return "it contains " + ", ".join(repr(c) for c in bad)
    if not (value[0].isalnum() and value[-1].isalnum()):
        return "it must start and end with a letter or digit"
    if "." in value and any(not 1 <= len(part) <= 63 for part in value.split(".")):
        return "a dot-separated part is empty or longer than 63 characters"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return "it is an IP address"
    if value.startswith("goog"):
        return "it starts with 'goog'"
    if _looks_like_google(value):
        return "it contains 'google' or a look-alike"
    return None


def check_bucket_location(value: str) -> str | None:
    if not _fullmatch(_BUCKET_LOCATION, value):
        return f"bucket location {value!r} is invalid: it must be {BUCKET_LOCATION_RULE}"
    if storage_location_regions(value):
        return None
    known = sorted(STORAGE_MULTI_REGIONS) + sorted(STORAGE_DUAL_REGIONS) + sorted(STORAGE_REGIONS)
    close = difflib.get_close_matches(value.lower(), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"bucket location {value!r} is not a Cloud Storage location{hint}; use a region "
        "(e.g. us-central1), a dual-region (asia1, eur4, eur5, eur7, eur8, nam4) or a "
        "multi-region (US, EU, ASIA)"
    )


def parse_gcs_uri(value: str) -> tuple[str, str] | None:
    """`gs://bucket/object` -> `(bucket, object)`, or None when it is not a `gs://` URI."""
    if not value.startswith("gs://"):
        return None
    bucket, _, path = value[len("gs://") :].partition("/")
    return bucket, path


def check_import_uri(value: str) -> str | None:
    """A `gs://` source for `dicomStores.import`, with Google's wildcard rules."""
    parsed = parse_gcs_uri(value)
    if parsed is None:
        return f"import URI {value!r} is invalid: it must be {IMPORT_URI_RULE}"
    bucket, path = parsed
    bucket_problem = _bucket_name_problem(bucket)
    if bucket_problem is not None:
        return f"import URI {value!r} names an invalid bucket {bucket!r}: {bucket_problem}"
    if not path:
        return (
            f"import URI {value!r} has no object path; write e.g. `gs://{bucket}/**` to import "
            "every object in the bucket"
        )
    if "**" in path:
        before, _, after = path.partition("**")
        if "*" in before or "?" in before or "*" in after or "?" in after:
            return f"import URI {value!r} is invalid: `**` cannot be combined with other wildcards"
        if after and not re.fullmatch(r"\.[^/]+", after):
            return (
                f"import URI {value!r} is invalid: `**` must come at the end of the path, "
                "optionally followed by an extension such as `.dcm`"
            )
    return None


def import_regex(pattern: str) -> re.Pattern[str]:
    """An import URI's object pattern as a regex: `*` (no `/`), `?` (one character), `**`
    (anything), as `dicomStores.import` reads them."""
    out = ""
    for token in re.split(r"(\*\*|\*|\?)", pattern):
        out += {"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(f"^{out}$", re.DOTALL)


def import_reads(uri: str, bucket: str, name: str) -> bool:
    """Whether the import URI `uri` reads the object `name` of `bucket`."""
    parsed = parse_gcs_uri(uri)
    return parsed is not None and parsed[0] == bucket and bool(import_regex(parsed[1]).match(name))


# --- Services, roles, members -----------------------------------------------------------------


def check_service_name(value: str) -> str | None:
    if value in BANNED_SERVICES:
        return f"service {value!r} cannot be enabled: {BANNED_SERVICES[value]}"
    if _fullmatch(_SERVICE, value):
        return None
    hint = ""
    if "." not in value and _fullmatch(re.compile(_DNS_LABEL), value):
        hint = f" (did you mean `{value}.googleapis.com`?)"
    return f"service {value!r} is invalid: it must be {SERVICE_NAME_RULE}{hint}"


def is_basic_role(role: str) -> bool:
    """Owner, editor and viewer: they cannot carry IAM conditions."""
    return role in BASIC_ROLES


_PERMISSION = re.compile(r"[a-z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*){2,}")


ADDRESS_RULE = (
    "`KIND:NAME`, as a plan names the object (e.g. `storage.bucket:projects/_/buckets/b`)"
)
_ADDRESS = re.compile(r"[a-z][a-z0-9_.]*:\S+")


def check_address(value: str) -> str | None:
    if _fullmatch(_ADDRESS, value):
        return None
    return f"{value!r} is not an address: it must be {ADDRESS_RULE}"


def check_custom_role_id(value: str) -> str | None:
    if re.fullmatch(_CUSTOM_ROLE_ID, value):
        return None
    return f"custom role id {value!r} is invalid: it must be {CUSTOM_ROLE_ID_RULE}"


def check_permission(value: str) -> str | None:
    if _fullmatch(_PERMISSION, value):
        return None
    return f"permission {value!r} is invalid: it must be {PERMISSION_RULE}"


def check_role(value: str) -> str | None:
    if (
        _fullmatch(_PREDEFINED_ROLE, value)
        or _fullmatch(_PROJECT_ROLE, value)
        or _fullmatch(_ORG_ROLE, value)
    ):
        return None
    hint = ""
    if _fullmatch(_PREDEFINED_ROLE, f"roles/{value}"):
        hint = f" (did you mean `roles/{value}`?)"
    return f"role {value!r} is invalid: it must be {ROLE_RULE}{hint}"


def _check_principal_uri(value: str) -> bool:
    scheme, _, rest = value.partition("://")
    return (
        scheme in ("principal", "principalSet")
        and rest.startswith("iam.googleapis.com/")
        and ("/workforcePools/" in rest or "/workloadIdentityPools/" in rest)
        and not any(c.isspace() for c in rest)
    )


def _check_email_member(prefix: str, address: str) -> bool:
    if prefix == "serviceAccount" and _fullmatch(_WORKLOAD_SA, address):
        return True
    return _fullmatch(_EMAIL, address)


_MEMBER_FOLLOWERS = {
    "user": "an email address",
    "group": "an email address",
    "serviceAccount": "an email address",
    "domain": "a domain name",
    "projectOwner": "a project id",
    "projectEditor": "a project id",
    "projectViewer": "a project id",
}
"""Member prefixes and what follows the colon."""


def check_member(value: str) -> str | None:
    """IAM principal syntax (any resource). See `check_member_allowed` for per-resource rules."""
    if value in PUBLIC_MEMBERS:
        return None
    if value.startswith(("principal://", "principalSet://")):
        if _check_principal_uri(value):
            return None
        return (
            f"member {value!r} is invalid: principal identifiers look like "
            "`principal://iam.googleapis.com/locations/global/workforcePools/POOL/subject/ID`"
        )
    if value.startswith("deleted:"):
        return _check_deleted_member(value)
    prefix, sep, rest = value.partition(":")
    if sep and prefix in _MEMBER_FOLLOWERS:
        if _member_value_ok(prefix, rest):
            return None
        follower = _MEMBER_FOLLOWERS[prefix]
        return f"member {value!r} is invalid: `{prefix}:` must be followed by {follower}"
    return f"member {value!r} is invalid: it must be {MEMBER_RULE}{_member_hint(value)}"


def _check_deleted_member(value: str) -> str | None:
    inner, _, uid = value[len("deleted:") :].partition("?uid=")
    if uid and check_member(inner) is None:
        return None
    if inner.startswith("principal") and check_member(inner) is None:
        return None
    return f"member {value!r} is invalid: deleted principals look like `deleted:user:EMAIL?uid=ID`"


def _member_value_ok(prefix: str, rest: str) -> bool:
    if prefix in ("user", "group", "serviceAccount"):
        return _check_email_member(prefix, rest)
    if prefix == "domain":
        return _fullmatch(_DOMAIN, rest)
    return _fullmatch(_PROJECT_ID, rest)


def _member_hint(value: str) -> str:
    """How a malformed member was probably meant (a misspelt prefix, a bare e-mail)."""
    prefix, sep, _ = value.partition(":")
    if sep:
        for candidate in ("user", "group", "serviceAccount", "domain"):
            if prefix.lower() == candidate.lower():
                return f" (the prefix is spelled `{candidate}:`)"
        return ""
    if _fullmatch(_EMAIL, value):
        return f" (did you mean `user:{value}` or `group:{value}`?)"
    return ""


def check_member_allowed(value: str, resource: ResourceKind) -> str | None:
    """Per-resource restrictions on principals that are otherwise well formed."""
    if resource == "project" and value in PUBLIC_MEMBERS:
        return f"member {value!r} cannot be granted roles on a project (Google rejects it)"
    if resource != "bucket" and value.startswith(
        ("projectOwner:", "projectEditor:", "projectViewer:")
    ):
        return f"member {value!r} is only meaningful on Cloud Storage buckets"
    return None


def is_human_member(member: str) -> bool:
    """Members that stand for people (users, groups, whole domains)."""
    return member.startswith(HUMAN_MEMBER_PREFIXES)


def check_condition_allowed(
    resource: ResourceKind, role: str, *, uniform_bucket_level_access: bool = True
) -> str | None:
    """Where IAM conditions are accepted: projects, and buckets with uniform access only."""
    if is_basic_role(role):
        return f"basic role {role!r} cannot have a condition; use a predefined or custom role"
    if resource in ("dataset", "dicomStore"):
        what = "datasets" if resource == "dataset" else "DICOM stores"
        return (
            f"Cloud Healthcare {what} do not accept IAM conditions; put conditional grants on "
            "the project instead"
        )
    if resource == "bucket" and not uniform_bucket_level_access:
        return "conditions on a bucket need `uniformBucketLevelAccess: true`"
    return None


# --- OAuth ------------------------------------------------------------------------------------


def check_oauth_client_id(value: str) -> str | None:
    if _fullmatch(_OAUTH_CLIENT_ID, value):
        return None
    return f"OAuth client id {value!r} is invalid: it must be {OAUTH_CLIENT_ID_RULE}"


def check_oauth_origin(value: str) -> str | None:
    """A JavaScript origin: scheme, host and optional port, nothing else."""
    problem = None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return f"OAuth origin {value!r} is invalid: it must be {OAUTH_ORIGIN_RULE}"
    if parts.scheme not in ("http", "https"):
        problem = "it must start with https:// (or http:// for localhost)"
    elif not parts.hostname:
        problem = "it has no host"
    elif parts.path or parts.query or parts.fragment or parts.username or parts.password:
        problem = "it must not have a path, query, fragment, user or trailing slash"
    elif "*" in value:
        problem = "it must not contain wildcards"
    elif port == 0:
        problem = "port 0 is not a valid port"
    if problem is None:
        return None
    return f"OAuth origin {value!r} is invalid: {problem}"


def is_local_origin(value: str) -> bool:
    """Origins on this machine (plain http is acceptable only for these)."""
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return False
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")


# --- Sites ------------------------------------------------------------------------------------


def check_site_name(value: str) -> str | None:
    if _fullmatch(_SITE_NAME, value):
        return None
    return f"site name {value!r} is invalid: it must be {SITE_NAME_RULE}"


# ----- Cloud KMS keys (CMEK) and audit logs

KMS_ID_RULE = "1 to 63 characters: letters, digits, '_' and '-'"
KMS_KEY_NAME_RULE = "`projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY`"
KMS_LOCATION_RULE = "a Cloud KMS location such as `us-central1`, `europe-west4` or `us`"
ROTATION_PERIOD_RULE = (
    "a number of seconds written like `7776000s` (90 days), from `86400s` (24 hours) to "
    "`3153600000s` (876,000 hours)"
)
AUDIT_SERVICE_RULE = f"`allServices` or {SERVICE_NAME_RULE}"
ALL_SERVICES = "allServices"

_KMS_ID = re.compile(r"[A-Za-z0-9_-]{1,63}")
_KMS_LOCATION = re.compile(r"[a-z][a-z0-9-]{0,62}")
_ROTATION = re.compile(r"([0-9]{1,12})s")
MIN_ROTATION_SECONDS = 86_400
MAX_ROTATION_SECONDS = 876_000 * 3600


def check_kms_id(value: str) -> str | None:
    if _fullmatch(_KMS_ID, value):
        return None
    return f"Cloud KMS id {value!r} is invalid: it must be {KMS_ID_RULE}"


def check_kms_location(value: str) -> str | None:
    if _fullmatch(_KMS_LOCATION, value):
        return None
    return f"Cloud KMS location {value!r} is invalid: it must be {KMS_LOCATION_RULE}"


def kms_key_parts(value: str) -> tuple[str, str, str, str] | None:
    """(project, location, key ring, key) of a well-formed crypto key name, else None."""
    parts = value.split("/")
    if len(parts) != 8 or parts[0::2] != ["projects", "locations", "keyRings", "cryptoKeys"]:
        return None
    project, location, ring, key = parts[1::2]
    if not (_fullmatch(_PROJECT_ID, project) or _domain_scoped_project(project)):
        return None
    if not _fullmatch(_KMS_LOCATION, location):
        return None
    if not (_fullmatch(_KMS_ID, ring) and _fullmatch(_KMS_ID, key)):
        return None
    return project, location, ring, key


def check_kms_key_name(value: str) -> str | None:
    if kms_key_parts(value) is not None:
        return None
    return f"Cloud KMS key {value!r} is invalid: it must be {KMS_KEY_NAME_RULE}"


def check_rotation_period(value: str) -> str | None:
    found = re.fullmatch(_ROTATION, value)
    if found and MIN_ROTATION_SECONDS <= int(found[1]) <= MAX_ROTATION_SECONDS:
        return None
    return f"rotation period {value!r} is invalid: it must be {ROTATION_PERIOD_RULE}"


def check_audit_service(value: str) -> str | None:
    if value == ALL_SERVICES or _fullmatch(_SERVICE, value):
        return None
    return f"audit log service {value!r} is invalid: it must be {AUDIT_SERVICE_RULE}"
