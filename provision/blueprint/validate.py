"""Checks that span several parts of a blueprint: duplicates, references, risky grants.

These run on the plain data (after site expansion) rather than on the pydantic model, so they
still run when some other part of the blueprint is malformed: values of the wrong type are
skipped here (the schema reports them), and every problem is reported in one go.

Decisions:
- An import whose `gs://` bucket is not declared in the blueprint is a *warning*, not an error:
  the bucket may exist outside the blueprint (e.g. a shared landing bucket). The import then
  relies on the Cloud Healthcare Service Agent already being able to read it.
- Grants of a service agent must name declared buckets and datasets (errors): the tool would
  otherwise change IAM on objects it does not manage.
- An import that would read the project's lease object (`provision-locks/<project>.lease`, see
  `provision.lease`) is an error, not a warning: once the lease exists such an import fails on
  every apply (the lease is not a DICOM file). So is a blueprint without `lease.bucket` whose
  every bucket is read that way: the lease then has nowhere to go and `lease.bucket` is required.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from provision.blueprint import rules
from provision.blueprint import warning_codes as codes
from provision.blueprint.schema import FORCE_DEPRECATED
from provision.blueprint.source import Finding, Path
from provision.lease import choose_site, lease_readers, object_name
from provision.resources.healthcare import READER_ROLES
from provision.resources.healthcare import SERVICE as HEALTHCARE_SERVICE

RISKY_HUMAN_ROLES: dict[str, tuple[str, str]] = {
    "roles/healthcare.dicomStoreAdmin": (
        codes.STORE_ADMIN_ROLE,
        "it includes setIamPolicy, so the holder can grant itself (or anyone) read access to "
        "the images; keep it for the accounts that run provisioning",
    ),
    "roles/healthcare.dicomViewer": (
        codes.DICOM_VIEWER_EXPORTS,
        "besides reading images it includes healthcare.dicomStores.export, so the holder can "
        "copy the store to Cloud Storage or BigQuery; for view-only access declare a custom "
        "role without export under `customRoles` (e.g. `id: dicomReader` with "
        "includedPermissions healthcare.dicomStores.dicomWebRead and the get and list "
        "permissions of dicomStores, datasets and locations) and grant "
        "`projects/{project}/roles/dicomReader` instead, or roles/healthcare.dicomStoreViewer "
        "if store metadata is enough",
    ),
}
"""Role -> (warning code, why granting it to a person or group is risky; `{project}` is the
blueprint's project id)."""


def check_references(doc: Any) -> list[Finding]:
    """Every cross-object problem (errors) and every risky-but-valid choice (warnings)."""
    if not isinstance(doc, Mapping):
        return []
    findings: list[Finding] = []
    findings += _duplicate_services(doc)
    findings += _duplicate_roles(doc)
    datasets = _declared_datasets(doc, findings)
    buckets = _declared_buckets(doc, findings)
    findings += _check_service_agents(doc, datasets, buckets)
    findings += _check_imports(doc, datasets, buckets)
    findings += _check_destinations(doc)
    findings += _check_deidentify(doc, datasets)
    findings += _residency_warnings(doc)
    findings += _check_lease(doc)
    findings += _risky_grants(doc)
    findings += _other_warnings(doc)
    findings += _check_encryption_keys(doc)
    return findings


def _entries(container: Any, key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """`(index, mapping)` for each mapping in the list `container[key]`."""
    items = container.get(key) if isinstance(container, Mapping) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                yield index, item


def _text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) else None


def _duplicate_services(doc: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    services = doc.get("services")
    if not isinstance(services, list):
        return findings
    first: dict[str, int] = {}
    for index, service in enumerate(services):
        if not isinstance(service, str):
            continue
        if service in first:
            findings.append(
                Finding(
                    ("services", index),
                    f"service {service!r} is listed twice",
                    related=("services", first[service]),
                )
            )
        else:
            first[service] = index
    return findings


def _duplicate_roles(doc: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    first: dict[str, Path] = {}
    for index, role in _entries(doc, "customRoles"):
        role_id = _text(role, "id")
        if role_id is None:
            continue
        path: Path = ("customRoles", index, "id")
        if role_id in first:
            message = f"custom role {role_id!r} is declared twice"
            findings.append(Finding(path, message, related=first[role_id]))
        else:
            first[role_id] = path
    return findings


def _declared_datasets(doc: Mapping[str, Any], findings: list[Finding]) -> dict[str, set[str]]:
    """Dataset id -> its store ids; reports duplicate dataset and store ids."""
    datasets: dict[str, set[str]] = {}
    first: dict[str, Path] = {}
    for index, dataset in _entries(doc, "datasets"):
        dataset_id = _text(dataset, "id")
        if dataset_id is None:
            continue
        path: Path = ("datasets", index, "id")
        if dataset_id in first:
            findings.append(
                Finding(
                    path,
                    f"dataset id {dataset_id!r} is used twice; imports and grants refer to "
                    "datasets by id, so ids must be unique in a blueprint",
                    related=first[dataset_id],
                )
            )
        else:
            first[dataset_id] = path
        stores = datasets.setdefault(dataset_id, set())
        store_first: dict[str, Path] = {}
        for store_index, store in _entries(dataset, "dicomStores"):
            store_id = _text(store, "id")
            if store_id is None:
                continue
            store_path: Path = ("datasets", index, "dicomStores", store_index, "id")
            if store_id in store_first:
                findings.append(
                    Finding(
                        store_path,
                        f"DICOM store id {store_id!r} is used twice in dataset {dataset_id!r}",
                        related=store_first[store_id],
                    )
                )
            else:
                store_first[store_id] = store_path
            stores.add(store_id)
    return datasets


def _declared_buckets(doc: Mapping[str, Any], findings: list[Finding]) -> set[str]:
    first: dict[str, Path] = {}
    for index, bucket in _entries(doc, "buckets"):
        name = _text(bucket, "name")
        if name is None:
            continue
        path: Path = ("buckets", index, "name")
        if name in first:
            findings.append(
                Finding(path, f"bucket {name!r} is declared twice", related=first[name])
            )
        else:
            first[name] = path
    return set(first)


def _names(values: set[str]) -> str:
    return ", ".join(sorted(values)) if values else "none"


def _check_service_agents(
    doc: Mapping[str, Any], datasets: dict[str, set[str]], buckets: set[str]
) -> list[Finding]:
    findings: list[Finding] = []
    first: dict[str, Path] = {}
    for index, agent in _entries(doc, "serviceAgents"):
        service = _text(agent, "service")
        if service is not None:
            path: Path = ("serviceAgents", index, "service")
            if service in first:
                findings.append(
                    Finding(
                        path,
                        f"the service agent of {service!r} is declared twice; list all its "
                        "grants under one entry",
                        related=first[service],
                    )
                )
            else:
                first[service] = path
        for grant_index, grant in _entries(agent, "grants"):
            grant_path: Path = ("serviceAgents", index, "grants", grant_index)
            bucket = _text(grant, "bucket")
            if bucket is not None and bucket not in buckets:
                findings.append(
                    Finding(
                        (*grant_path, "bucket"),
                        f"bucket {bucket!r} is not declared in this blueprint "
                        f"(declared: {_names(buckets)}); grants can only target declared buckets",
                    )
                )
            dataset = _text(grant, "dataset")
            if dataset is not None and dataset not in datasets:
                findings.append(
                    Finding(
                        (*grant_path, "dataset"),
                        f"dataset {dataset!r} is not declared in this blueprint "
                        f"(declared: {_names(set(datasets))})",
                    )
                )
    return findings


def _healthcare_agent(doc: Mapping[str, Any]) -> tuple[bool, list[Mapping[str, Any]] | None]:
    """(declared?, its explicit grants or None when it relies on the default grants)."""
    for _, agent in _entries(doc, "serviceAgents"):
        if agent.get("service") == HEALTHCARE_SERVICE:
            grants = agent.get("grants")
            if not isinstance(grants, list):
                return True, None
            return True, [g for g in grants if isinstance(g, Mapping)]
    return False, None


def _agent_can_read(grants: list[Mapping[str, Any]], bucket: str) -> bool:
    for grant in grants:
        if grant.get("role") not in READER_ROLES:
            continue
        if grant.get("bucket") == bucket or grant.get("project") is True:
            return True
    return False


def _declared_ids(
    doc: Mapping[str, Any], section: str, noun: str
) -> tuple[set[str], list[Finding]]:
    """The `id`s of the entries of `section`; a duplicate is an error."""
    findings: list[Finding] = []
    first: dict[str, Path] = {}
    for index, entry in _entries(doc, section):
        entry_id = _text(entry, "id")
        if entry_id is None:
            continue
        path: Path = (section, index, "id")
        if entry_id in first:
            message = f"{noun} {entry_id!r} is declared twice"
            findings.append(Finding(path, message, related=first[entry_id]))
        else:
            first[entry_id] = path
    return set(first), findings


def _stores(doc: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    for index, dataset in _entries(doc, "datasets"):
        for store_index, store in _entries(dataset, "dicomStores"):
            yield ("datasets", index, "dicomStores", store_index), store


def _agent_topic_grants(doc: Mapping[str, Any]) -> set[str]:
    """Topics the blueprint grants a service agent a role on by hand (`grants[].topic`)."""
    return {
        topic
        for _, agent in _entries(doc, "serviceAgents")
        for _, grant in _entries(agent, "grants")
        if (topic := _text(grant, "topic")) is not None
    }


def _check_destinations(doc: Mapping[str, Any]) -> list[Finding]:
    """Topic and dataset ids are unique; a notification topic given by id is declared; a
    destination outside the blueprint is a warning (the Cloud Healthcare Service Agent's
    grant there is the user's to make); the deprecated `force` is a warning."""
    topics, findings = _declared_ids(doc, "topics", "Pub/Sub topic")
    bq_datasets, more = _declared_ids(doc, "bigqueryDatasets", "BigQuery dataset")
    findings += more
    project = doc.get("project")
    pid = _text(project, "id") if isinstance(project, Mapping) else None
    granted = _agent_topic_grants(doc)
    for path, store in _stores(doc):
        for index, config in _entries(store, "notificationConfigs"):
            topic = _text(config, "pubsubTopic")
            where: Path = (*path, "notificationConfigs", index, "pubsubTopic")
            if topic is None:
                continue
            if "/" not in topic and topic not in topics:
                findings.append(
                    Finding(
                        where,
                        f"topic {topic!r} is not declared in `topics` (declared: "
                        f"{_names(topics)}); name a declared topic or write its full name "
                        "`projects/PROJECT/topics/TOPIC`",
                    )
                )
            elif "/" in topic and topic not in granted and not _declared_topic(topic, pid, topics):
                findings.append(
                    Finding(
                        where,
                        f"topic {topic} is not declared in `topics`, so provision does not grant "
                        "the Cloud Healthcare Service Agent roles/pubsub.publisher on it: grant "
                        "it yourself (or declare the topic), else notifications are not published",
                        severity="warning",
                    )
                )
        for index, config in _entries(store, "streamConfigs"):
            findings += _stream_findings(
                config, (*path, "streamConfigs", index, "bigqueryDestination"), pid, bq_datasets
            )
    return findings


def _declared_topic(topic: str, pid: str | None, topics: set[str]) -> bool:
    parts = topic.split("/")
    return len(parts) == 4 and parts[1] == pid and parts[3] in topics


def _stream_findings(
    config: Mapping[str, Any], where: Path, pid: str | None, declared: set[str]
) -> list[Finding]:
    destination = config.get("bigqueryDestination")
    if not isinstance(destination, Mapping):
        return []
    findings: list[Finding] = []
    if destination.get("force") is True:
        findings.append(Finding((*where, "force"), FORCE_DEPRECATED, severity="warning", at="key"))
    table = _text(destination, "tableUri")
    if table is None or not table.startswith("bq://") or table.count(".") < 2:
        return findings
    project_id, dataset_id, _ = table.removeprefix("bq://").split(".", 2)
    if project_id != pid or dataset_id not in declared:
        findings.append(
            Finding(
                (*where, "tableUri"),
                f"BigQuery dataset {project_id}:{dataset_id} is not declared in "
                "`bigqueryDatasets`, so provision does not grant the Cloud Healthcare Service "
                "Agent roles/bigquery.dataEditor on it: grant it yourself (or declare the "
                "dataset), else Google refuses the store (403 failed to verify dataset)",
                severity="warning",
            )
        )
    return findings


def _check_deidentify(doc: Mapping[str, Any], datasets: dict[str, set[str]]) -> list[Finding]:
    """Both stores of a de-identified copy are declared and differ, their datasets share a
    location (Google de-identifies within one location), and neither dataset is encrypted with
    a customer-managed key (Google cannot de-identify CMEK-encrypted data)."""
    findings: list[Finding] = []
    dataset_of = {_text(d, "id"): d for _, d in _entries(doc, "datasets")}
    seen: dict[tuple[str, str], Path] = {}
    for index, entry in _entries(doc, "deidentify"):
        refs = {key: _text(entry, key) for key in ("source", "destination")}
        found: dict[str, Mapping[str, Any]] = {}
        for key, ref in refs.items():
            if ref is None or "/" not in ref:
                continue
            dataset_id, _, store_id = ref.partition("/")
            if store_id not in datasets.get(dataset_id, set()):
                findings.append(
                    Finding(
                        ("deidentify", index, key),
                        f"{key} {ref!r} is not a DICOM store declared in this blueprint",
                    )
                )
            elif dataset_id in dataset_of:
                found[key] = dataset_of[dataset_id]
        findings += _copy_findings(("deidentify", index), refs, found, seen)
    return findings


def _copy_findings(
    path: Path,
    refs: Mapping[str, str | None],
    datasets: Mapping[str, Mapping[str, Any]],
    seen: dict[tuple[str, str], Path],
) -> list[Finding]:
    findings: list[Finding] = []
    source, destination = refs["source"], refs["destination"]
    if source is not None and source == destination:
        findings.append(Finding((*path, "destination"), "a store cannot be its own copy"))
    pair = (str(source), str(destination))
    if pair in seen:
        message = f"the copy of {source} into {destination} is declared twice"
        findings.append(Finding(path, message, related=seen[pair]))
    seen.setdefault(pair, path)
    locations = {key: _text(d, "location") for key, d in datasets.items()}
    if len(set(locations.values())) > 1:
        findings.append(
            Finding(
                (*path, "destination"),
                f"the destination's dataset is in {locations['destination']} but the source's in "
                f"{locations['source']}: Google de-identifies only within one location",
            )
        )
    for key, dataset in datasets.items():
        if isinstance(dataset.get("encryptionSpec"), Mapping):
            findings.append(
                Finding(
                    (*path, key),
                    f"the {key}'s dataset {_text(dataset, 'id')!r} is encrypted with a "
                    "customer-managed key (encryptionSpec): Google cannot de-identify "
                    "CMEK-encrypted data",
                )
            )
    return findings


DEFAULT_BUCKET_LOCATION = "US"
"""What Cloud Storage (and the blueprint schema) uses when a bucket names no location."""


def _residency_warnings(doc: Mapping[str, Any]) -> list[Finding]:
    """Warn when an import's bucket may keep data outside the area of its dataset's location
    (`rules.residency_area`): the DICOM files are patient data, and residency rules usually
    bind them as much as the dataset."""
    dataset_locations = {_text(d, "id"): _text(d, "location") for _, d in _entries(doc, "datasets")}
    bucket_locations = {
        _text(b, "name"): (index, _text(b, "location") or DEFAULT_BUCKET_LOCATION)
        for index, b in _entries(doc, "buckets")
    }
    findings: list[Finding] = []
    warned: set[str] = set()
    for _, entry in _entries(doc, "imports"):
        store_ref, uri = _text(entry, "dicomStore"), _text(entry, "uri")
        parsed = rules.parse_gcs_uri(uri) if uri is not None else None
        if store_ref is None or parsed is None or parsed[0] in warned:
            continue
        dataset_location = dataset_locations.get(store_ref.partition("/")[0])
        index, bucket_location = bucket_locations.get(parsed[0], (None, None))
        if index is None or bucket_location is None or dataset_location is None:
            continue
        inside = rules.residency_area(dataset_location)
        used = rules.storage_location_regions(bucket_location)
        if not inside or not used or used <= inside:
            continue
        warned.add(parsed[0])
        findings.append(
            Finding(
                ("buckets", index, "location"),
                f"bucket {parsed[0]!r} ({bucket_location}) may keep the DICOM files it imports "
                f"outside {dataset_location}, the location of dataset "
                f"{store_ref.partition('/')[0]!r}; for patient-data residency put the bucket in "
                f"{dataset_location}",
                severity="warning",
                code=codes.BUCKET_RESIDENCY,
            )
        )
    return findings


def _check_imports(
    doc: Mapping[str, Any], datasets: dict[str, set[str]], buckets: set[str]
) -> list[Finding]:
    findings: list[Finding] = []
    first: dict[tuple[str, str], Path] = {}
    agent_declared, agent_grants = _healthcare_agent(doc)
    for index, entry in _entries(doc, "imports"):
        store_ref = _text(entry, "dicomStore")
        uri = _text(entry, "uri")
        path: Path = ("imports", index)
        if store_ref is not None and rules.check_store_ref(store_ref) is None:
            dataset_id, store_id = rules.split_store_ref(store_ref)
            if dataset_id not in datasets:
                findings.append(
                    Finding(
                        (*path, "dicomStore"),
                        f"dataset {dataset_id!r} is not declared in this blueprint "
                        f"(declared: {_names(set(datasets))})",
                    )
                )
            elif store_id not in datasets[dataset_id]:
                findings.append(
                    Finding(
                        (*path, "dicomStore"),
                        f"dataset {dataset_id!r} has no DICOM store {store_id!r} "
                        f"(its stores: {_names(datasets[dataset_id])})",
                    )
                )
        if store_ref is not None and uri is not None:
            key = (store_ref, uri)
            if key in first:
                findings.append(
                    Finding(
                        path,
                        f"the import of {uri!r} into {store_ref!r} is listed twice",
                        related=first[key],
                    )
                )
            else:
                first[key] = path
        parsed = rules.parse_gcs_uri(uri) if uri is not None else None
        if parsed is None or rules.check_import_uri(uri or "") is not None:
            continue
        bucket = parsed[0]
        if bucket not in buckets:
            findings.append(
                Finding(
                    (*path, "uri"),
                    f"bucket {bucket!r} is not declared in this blueprint; the import assumes "
                    "it exists and that the Cloud Healthcare Service Agent can already read it",
                    severity="warning",
                    code=codes.UNDECLARED_IMPORT_BUCKET,
                )
            )
        elif not agent_declared:
            findings.append(
                Finding(
                    (*path, "uri"),
                    "the Cloud Healthcare Service Agent must be able to read this bucket; declare "
                    f"it under serviceAgents (`- service: {HEALTHCARE_SERVICE}`) so that it gets "
                    "roles/storage.objectViewer on the bucket",
                    severity="warning",
                    code=codes.AGENT_NOT_DECLARED,
                )
            )
        elif agent_grants is not None and not _agent_can_read(agent_grants, bucket):
            findings.append(
                Finding(
                    (*path, "uri"),
                    f"the Cloud Healthcare Service Agent has no read grant on bucket {bucket!r}, "
                    "so this import will fail; add `{role: roles/storage.objectViewer, bucket: "
                    f"{bucket}}}` to its grants",
                    severity="warning",
                    code=codes.AGENT_CANNOT_READ,
                )
            )
    return findings


def _check_lease(doc: Mapping[str, Any]) -> list[Finding]:
    """No import may read the lease object; without `lease.bucket` some bucket must be safe."""
    project = doc.get("project")
    project_id = _text(project, "id") if isinstance(project, Mapping) else None
    lease = doc.get("lease")
    lease_bucket = _text(lease, "bucket") if isinstance(lease, Mapping) else None
    if project_id is None:
        return []
    name = object_name(project_id)
    imports = [(i, uri) for i, entry in _entries(doc, "imports") if (uri := _text(entry, "uri"))]
    uris = [uri for _, uri in imports]
    if lease_bucket:
        return [
            Finding(
                ("imports", imports[i][0], "uri"),
                f"this import would read the lease object gs://{lease_bucket}/{name} "
                "(lease.bucket), which is not a DICOM file, so it would fail on every apply; "
                f"import from a folder (e.g. gs://{lease_bucket}/dicom/**) or keep the lease in "
                "a bucket no import reads",
            )
            for i in lease_readers(name, lease_bucket, uris)
        ]
    declared = [b for _, entry in _entries(doc, "buckets") if (b := _text(entry, "name"))]
    site = choose_site(project_id, bucket=None, declared_buckets=declared, import_uris=uris)
    if not declared or site is not None:
        return []
    first = lease_readers(name, declared[0], uris)[0]
    return [
        Finding(
            ("imports", imports[first][0], "uri"),
            f"every bucket this blueprint declares is read by an import that would also read "
            f"the lease object ({name}, not a DICOM file), so the lease has nowhere to go; set "
            "lease.bucket to a bucket no import reads (best one outside the project), or import "
            f"from folders (e.g. gs://{declared[0]}/dicom/**)",
        )
    ]


def _bindings(doc: Mapping[str, Any]) -> Iterator[tuple[Path, str, Mapping[str, Any]]]:
    """`(path, resource kind, binding)` for every IAM binding in the blueprint."""
    for index, binding in _entries(doc, "iam"):
        yield ("iam", index), "project", binding
    for d_index, dataset in _entries(doc, "datasets"):
        for index, binding in _entries(dataset, "iam"):
            yield ("datasets", d_index, "iam", index), "dataset", binding
        for s_index, store in _entries(dataset, "dicomStores"):
            for index, binding in _entries(store, "iam"):
                path: Path = ("datasets", d_index, "dicomStores", s_index, "iam", index)
                yield path, "DICOM store", binding
    for b_index, bucket in _entries(doc, "buckets"):
        for index, binding in _entries(bucket, "iam"):
            yield ("buckets", b_index, "iam", index), "bucket", binding


def _risky_grants(doc: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    project = doc.get("project")
    project_id = (_text(project, "id") if isinstance(project, Mapping) else None) or "PROJECT"
    for path, kind, binding in _bindings(doc):
        role = binding.get("role")
        members = binding.get("members")
        if not isinstance(members, list):
            continue
        for position, member in enumerate(members):
            if not isinstance(member, str):
                continue
            member_path: Path = (*path, "members", position)
            if (
                isinstance(role, str)
                and role in RISKY_HUMAN_ROLES
                and rules.is_human_member(member)
            ):
                code, why = RISKY_HUMAN_ROLES[role]
                findings.append(
                    Finding(
                        member_path,
                        f"{member} gets {role}: {why.replace('{project}', project_id)}",
                        severity="warning",
                        code=code,
                    )
                )
            if member in rules.PUBLIC_MEMBERS and kind != "project":
                findings.append(
                    Finding(
                        member_path,
                        f"{member} makes this {kind} accessible to "
                        + (
                            "anyone on the internet"
                            if member == "allUsers"
                            else "any Google account"
                        ),
                        severity="warning",
                        code=codes.PUBLIC_ACCESS,
                    )
                )
    return findings


def _other_warnings(doc: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    services = doc.get("services")
    listed = services if isinstance(services, list) else []
    if any(True for _ in _entries(doc, "datasets")) and HEALTHCARE_SERVICE not in listed:
        findings.append(
            Finding(
                ("services",),
                f"datasets are declared but {HEALTHCARE_SERVICE} is not in services; applying "
                "will fail unless the API is already enabled",
                severity="warning",
                code=codes.HEALTHCARE_API_NOT_LISTED,
            )
        )
    for index, dataset in _entries(doc, "datasets"):
        if dataset.get("labels"):
            findings.append(
                Finding(
                    ("datasets", index, "labels"),
                    "the Cloud Healthcare API has no labels on datasets, so these labels are not "
                    "applied; put them on the DICOM stores instead",
                    severity="warning",
                    code=codes.DATASET_LABELS,
                    at="key",
                )
            )
    oauth = doc.get("oauth")
    origins = oauth.get("origins") if isinstance(oauth, Mapping) else None
    if isinstance(origins, list):
        for index, origin in enumerate(origins):
            if (
                isinstance(origin, str)
                and origin.startswith("http://")
                and rules.check_oauth_origin(origin) is None
                and not rules.is_local_origin(origin)
            ):
                findings.append(
                    Finding(
                        ("oauth", "origins", index),
                        "Google accepts plain http:// origins only for localhost; use https://",
                        severity="warning",
                        code=codes.PLAIN_HTTP_ORIGIN,
                    )
                )
    return findings


def _check_encryption_keys(doc: Mapping[str, Any]) -> list[Finding]:
    """Key rings and keys declared once; a dataset's key in a key ring this blueprint declares
    is one of that ring's keys (a key of another ring, or of another project, must exist)."""
    project = doc.get("project")
    project_id = _text(project, "id") if isinstance(project, Mapping) else None
    findings: list[Finding] = []
    rings: dict[tuple[str, str], tuple[Path, set[str]]] = {}
    for index, ring in _entries(doc, "keyRings"):
        ring_id, location = _text(ring, "id"), _text(ring, "location")
        if ring_id is None or location is None:
            continue
        path: Path = ("keyRings", index, "id")
        if (location, ring_id) in rings:
            message = f"key ring {ring_id!r} in {location} is declared twice"
            findings.append(Finding(path, message, related=rings[(location, ring_id)][0]))
            continue
        keys: set[str] = set()
        rings[(location, ring_id)] = (path, keys)
        for key_index, key in _entries(ring, "cryptoKeys"):
            key_id = _text(key, "id")
            if key_id is None:
                continue
            if key_id in keys:
                key_path: Path = ("keyRings", index, "cryptoKeys", key_index, "id")
                findings.append(
                    Finding(key_path, f"key {key_id!r} is declared twice in {ring_id!r}")
                )
            keys.add(key_id)
    for index, dataset in _entries(doc, "datasets"):
        spec = dataset.get("encryptionSpec")
        name = _text(spec, "kmsKeyName") if isinstance(spec, Mapping) else None
        parts = rules.kms_key_parts(name) if name is not None else None
        if parts is None or parts[0] != project_id or (parts[1], parts[2]) not in rings:
            continue
        declared = rings[(parts[1], parts[2])][1]
        if parts[3] not in declared:
            findings.append(
                Finding(
                    ("datasets", index, "encryptionSpec", "kmsKeyName"),
                    f"key ring {parts[2]!r} of this blueprint has no key {parts[3]!r} "
                    f"(its keys: {_names(declared)}); declare it under keyRings[].cryptoKeys",
                )
            )
    return findings
