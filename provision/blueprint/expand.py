"""Blueprint -> the list of desired `Resource`s with their dependencies.

One function per kind group; each returns resources whose `depends_on` names the addresses
(`provision.resources.addresses`) they need to exist first. Specs use Google's field names.
The order of the result is the blueprint's order (plans show changes in dependency order).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace

from provision.blueprint.imports import store_address, with_imports
from provision.blueprint.loader import LoadedBlueprint
from provision.blueprint.schema import BigQueryDestination, Binding, Blueprint, DicomStore, Grant
from provision.collector import collected_less_often
from provision.errors import PlanError
from provision.model import JSON, Address, Resource, SourceRef
from provision.resources import addresses, registry
from provision.resources.bigquery_dataset import BIGQUERY
from provision.resources.healthcare import READER_ROLE
from provision.resources.healthcare import SERVICE as HEALTHCARE
from provision.resources.kms import ENCRYPTER_ROLE
from provision.resources.kms import SERVICE as CLOUDKMS
from provision.resources.pubsub_topic import PUBSUB
from provision.resources.service_agent import AGENT_ROLES, agent_member, agent_spec
from provision.resources.symbols import project_number_ref

PUBLISHER_ROLE = "roles/pubsub.publisher"
"""What the Cloud Healthcare Service Agent needs on a topic a store notifies."""
EDITOR_ROLE = "roles/bigquery.dataEditor"
"""What it needs on a BigQuery dataset a store streams to (healthcare.v1.json)."""


def expand(loaded: LoadedBlueprint) -> list[Resource]:
    """Every resource the blueprint declares, with dependencies between them.

    Imports come last (`provision.blueprint.imports`); their buckets also decide the Cloud
    Healthcare Service Agent's default grants. The cyclic garbage collector runs less often
    meanwhile (`provision.collector`): a large blueprint's expansion allocates as much as its
    plan's reads (300 sites: 53 ms at CPython's thresholds, 18 ms under the raised ones).
    """
    blueprint = loaded.blueprint
    resources: list[Resource] = []
    with collected_less_often():
        resources += project_resources(loaded, blueprint)
        resources += custom_role_resources(loaded, blueprint)
        grants = Grants()
        resources += service_agent_resources(loaded, blueprint, grants)
        resources += healthcare_resources(loaded, blueprint)
        resources += storage_resources(loaded, blueprint)
        resources += topic_resources(loaded, blueprint)
        resources += bigquery_resources(loaded, blueprint)
        resources += key_ring_resources(loaded, blueprint)
        resources += audit_log_resources(loaded, blueprint)
        resources = with_encryption_keys(loaded, blueprint, resources)
        resources = with_destination_grants(loaded, blueprint, resources, grants)
        merged = grants.merge_into(resources)
        resources = with_imports(loaded, after_their_roles(blueprint, merged))
        return resources + deidentify_resources(loaded, blueprint)


def project_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """The project, its billing link, its enabled services and its IAM bindings."""
    project = blueprint.project
    pid = project.id
    project_address = addresses.project(pid)
    spec: JSON = {"projectId": pid, "labels": dict(project.labels), "create": project.create}
    if project.display_name:
        spec["displayName"] = project.display_name
    if project.parent:
        spec["parent"] = project.parent
    out = [Resource(project_address, spec, (), loaded.locate("project"))]
    service_deps: list[Address] = [project_address]
    if project.billing_account:
        billing = Resource(
            addresses.billing(pid),
            {"projectId": pid, "billingAccountName": project.billing_account},
            (project_address,),
            loaded.locate("project.billingAccount"),
        )
        out.append(billing)
        service_deps.append(billing.address)
    if wanted_services(blueprint):
        out.append(
            Resource(
                addresses.services(pid),
                {"projectId": pid, "services": wanted_services(blueprint)},
                tuple(service_deps),
                loaded.locate("services"),
            )
        )
    if blueprint.iam:
        out.append(
            Resource(
                addresses.project_iam(pid),
                {"bindings": [binding_spec(b) for b in blueprint.iam]},
                (project_address,),
                loaded.locate("iam"),
            )
        )
    return out


def custom_role_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """Each custom role, after its project."""
    pid = blueprint.project.id
    return [
        Resource(
            addresses.custom_role(pid, role.id),
            {
                "projectId": pid,
                "roleId": role.id,
                "title": role.title,
                "description": role.description,
                "includedPermissions": sorted(set(role.included_permissions)),
                "stage": role.stage,
            },
            (addresses.project(pid),),
            loaded.locate(f"customRoles[{index}]"),
        )
        for index, role in enumerate(blueprint.custom_roles)
    ]


def after_their_roles(blueprint: Blueprint, resources: Sequence[Resource]) -> list[Resource]:
    """`resources` with each IAM resource depending on the declared custom roles its bindings
    grant (Google refuses a policy naming a role that does not exist)."""
    pid = blueprint.project.id
    roles = {
        addresses.custom_role_name(pid, role.id): addresses.custom_role(pid, role.id)
        for role in blueprint.custom_roles
    }

    def after(resource: Resource) -> Resource:
        bindings = resource.spec.get("bindings") or []
        granted = [roles[b["role"]] for b in bindings if b.get("role") in roles]
        if not granted:
            return resource
        return replace(resource, depends_on=tuple(dict.fromkeys((*resource.depends_on, *granted))))

    return [after(resource) for resource in resources]


def binding_spec(binding: Binding) -> JSON:
    """A blueprint IAM binding in the shared IAM spec shape (see provision.resources.iam)."""
    spec: JSON = {"role": binding.role, "members": list(binding.members)}
    if binding.condition is not None:
        condition: JSON = {
            "title": binding.condition.title,
            "expression": binding.condition.expression,
        }
        if binding.condition.description:
            condition["description"] = binding.condition.description
        spec["condition"] = condition
    if binding.authoritative:
        spec["authoritative"] = True
    return spec


def derived_services(blueprint: Blueprint) -> set[str]:
    """The APIs the blueprint's objects need besides those it lists: Pub/Sub for `topics`,
    BigQuery for `bigqueryDatasets`."""
    needed = set()
    if blueprint.topics:
        needed.add(PUBSUB)
    if blueprint.bigquery_datasets:
        needed.add(BIGQUERY)
    return needed


def wanted_services(blueprint: Blueprint) -> list[str]:
    """Every API to enable: the listed ones and the derived ones, sorted."""
    return sorted(set(blueprint.services) | derived_services(blueprint))


def api_dependencies(blueprint: Blueprint) -> tuple[Address, ...]:
    """What Healthcare and Storage objects wait for: the project, and the enabled APIs (which
    wait for billing) or else billing."""
    pid = blueprint.project.id
    if wanted_services(blueprint):
        return (addresses.project(pid), addresses.services(pid))
    if blueprint.project.billing_account:
        return (addresses.project(pid), addresses.billing(pid))
    return (addresses.project(pid),)


def healthcare_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """Per location used: its dataset scan; per dataset: the dataset, its IAM, its stores and
    their IAM (services -> dataset -> store -> store IAM)."""
    pid = blueprint.project.id
    deps = api_dependencies(blueprint)
    out: list[Resource] = []
    locations = sorted({d.location for d in blueprint.datasets})
    for location in locations:
        out.append(
            Resource(
                addresses.healthcare_location(pid, location),
                {"projectId": pid, "location": location},
                deps,
                loaded.locate("datasets"),
            )
        )
    locations_of: dict[str, set[str]] = {}
    for dataset in blueprint.datasets:
        locations_of.setdefault(dataset.id, set()).add(dataset.location)
    for index, dataset in enumerate(blueprint.datasets):
        path = f"datasets[{index}]"
        address = addresses.dataset(pid, dataset.location, dataset.id)
        spec: JSON = {
            "projectId": pid,
            "location": dataset.location,
            "datasetId": dataset.id,
            "adopt": dataset.adopt,
            "declaredLocations": sorted(locations_of[dataset.id] - {dataset.location}),
        }
        if dataset.time_zone is not None:
            spec["timeZone"] = dataset.time_zone
        out.append(Resource(address, spec, deps, loaded.locate(path), adopt=dataset.adopt))
        if dataset.iam:
            out.append(
                Resource(
                    addresses.dataset_iam(pid, dataset.location, dataset.id),
                    {"bindings": [binding_spec(b) for b in dataset.iam]},
                    (address,),
                    loaded.locate(f"{path}.iam"),
                )
            )
        for store_index, store in enumerate(dataset.dicom_stores):
            store_path = f"{path}.dicomStores[{store_index}]"
            store_address = addresses.dicom_store(address.name, store.id)
            out.append(
                Resource(
                    store_address,
                    store_spec(
                        store,
                        protect=store.deletion_protection and dataset.deletion_protection,
                        project_id=pid,
                    ),
                    (address,),
                    loaded.locate(store_path),
                    adopt=store.adopt,
                )
            )
            if store.iam:
                out.append(
                    Resource(
                        addresses.dicom_store_iam(address.name, store.id),
                        {"bindings": [binding_spec(b) for b in store.iam]},
                        (store_address,),
                        loaded.locate(f"{store_path}.iam"),
                    )
                )
    return out


def declared_stores(blueprint: Blueprint) -> list[Address]:
    """The address of every DICOM store the blueprint declares, in declaration order."""
    pid = blueprint.project.id
    return [
        addresses.dicom_store(addresses.dataset_name(pid, d.location, d.id), store.id)
        for d in blueprint.datasets
        for store in d.dicom_stores
    ]


def store_spec(store: DicomStore, *, protect: bool, project_id: str) -> JSON:
    """Every notification config is an item of the store's `notificationConfigs` (Google
    refuses a body that also sets the deprecated `notificationConfig`: "NotificationConfig and
    NotificationConfigs are not compatible"), its topic a full name (a bare id names a topic of
    `project_id`). `protect`: the store's and its dataset's `deletionProtection` (datasets have
    no labels; their stores carry it, and either flag set to false lifts it)."""
    spec: JSON = {
        "labels": dict(store.labels),
        "adopt": store.adopt,
        "deletionProtection": protect,
        "notificationConfigs": [
            {"pubsubTopic": topic_ref(project_id, c.pubsub_topic)}
            for c in store.notification_configs
        ],
    }
    spec["streamConfigs"] = [
        {"bigqueryDestination": destination_spec(c.bigquery_destination)}
        for c in store.stream_configs
    ]
    return spec


def topic_ref(project_id: str, ref: str) -> str:
    """A notification topic's full name: `ref` itself, or the topic `ref` of `project_id`."""
    return ref if "/" in ref else addresses.topic_name(project_id, ref)


SCHEMA_FIELDS = {"FLATTENED": "schemaFlattened", "JSON": "schemaJson"}
"""`schemaType` -> the (empty) message of Google's DicomBigQueryDestination that selects it."""


def destination_spec(destination: BigQueryDestination) -> JSON:
    """Google's DicomBigQueryDestination; the deprecated `force: true` is written as
    `writeDisposition: WRITE_TRUNCATE`, which healthcare.v1.json says it is equivalent to."""
    spec: JSON = {"tableUri": destination.table_uri}
    disposition = destination.write_disposition or ("WRITE_TRUNCATE" if destination.force else None)
    if disposition:
        spec["writeDisposition"] = disposition
    if destination.include_source_store:
        spec["includeSourceStore"] = True
    if destination.schema_type:
        spec[SCHEMA_FIELDS[destination.schema_type]] = {}
    return spec


def storage_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """The project's bucket scan, each bucket and its IAM (bucket -> bucket IAM).

    The scan (which finds buckets provision made that the blueprint dropped) runs only when the
    blueprint declares buckets, so a blueprint without any costs no Storage read."""
    if not blueprint.buckets:
        return []
    pid = blueprint.project.id
    deps = api_dependencies(blueprint)
    out = [
        Resource(addresses.storage_project(pid), {"projectId": pid}, deps, loaded.locate("buckets"))
    ]
    for index, bucket in enumerate(blueprint.buckets):
        path = f"buckets[{index}]"
        address = addresses.bucket(bucket.name)
        spec: JSON = {
            "name": bucket.name,
            "projectId": pid,
            "projectNumber": project_number_ref(pid),
            "location": bucket.location.upper(),
            "storageClass": bucket.storage_class,
            "uniformBucketLevelAccess": bucket.uniform_bucket_level_access,
            "labels": dict(bucket.labels),
            "adopt": bucket.adopt,
        }
        out.append(Resource(address, spec, deps, loaded.locate(path), adopt=bucket.adopt))
        if bucket.iam:
            out.append(
                Resource(
                    addresses.bucket_iam(bucket.name),
                    {"bindings": [binding_spec(b) for b in bucket.iam]},
                    (address,),
                    loaded.locate(f"{path}.iam"),
                )
            )
    return out


def topic_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """Each Pub/Sub topic (after the APIs)."""
    pid = blueprint.project.id
    deps = api_dependencies(blueprint)
    return [
        Resource(
            addresses.topic(pid, topic.id),
            {
                "projectId": pid,
                "topicId": topic.id,
                "labels": dict(topic.labels),
                "adopt": topic.adopt,
            },
            deps,
            loaded.locate(f"topics[{index}]"),
            adopt=topic.adopt,
        )
        for index, topic in enumerate(blueprint.topics)
    ]


def bigquery_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """Each BigQuery dataset (after the APIs)."""
    pid = blueprint.project.id
    deps = api_dependencies(blueprint)
    out = []
    for index, dataset in enumerate(blueprint.bigquery_datasets):
        spec: JSON = {
            "projectId": pid,
            "datasetId": dataset.id,
            "location": dataset.location,
            "labels": dict(dataset.labels),
            "adopt": dataset.adopt,
        }
        if dataset.description is not None:
            spec["description"] = dataset.description
        address = addresses.bigquery_dataset(pid, dataset.id)
        out.append(
            Resource(
                address,
                spec,
                deps,
                loaded.locate(f"bigqueryDatasets[{index}]"),
                adopt=dataset.adopt,
            )
        )
    return out


def with_destination_grants(
    loaded: LoadedBlueprint, blueprint: Blueprint, resources: Sequence[Resource], grants: Grants
) -> list[Resource]:
    """Derive what the Cloud Healthcare Service Agent needs for each store's destinations:
    `roles/pubsub.publisher` on every declared topic it notifies and `roles/bigquery.dataEditor`
    on every declared BigQuery dataset it streams to (recorded in `grants`), and make the store
    wait for those grants (Google verifies a stream's dataset when the store is created or its
    `streamConfigs` change). Destinations the blueprint does not declare are left to the user
    (`blueprint.validate` warns). The agent is managed implicitly when the blueprint does not
    list it in `serviceAgents`."""
    pid = blueprint.project.id
    declared = {r.address for r in resources}
    agent = addresses.service_agent(pid, HEALTHCARE)
    member = agent_member(pid, HEALTHCARE)
    out = list(resources)
    index_of = {r.address: i for i, r in enumerate(resources)}
    needs_agent = False
    for store in declared_stores(blueprint):
        index = index_of[store]
        resource = resources[index]
        wanted: list[tuple[Address, Address, str]] = []
        for config in resource.spec.get("notificationConfigs") or []:
            project_id, topic_id = addresses.split_topic_name(config["pubsubTopic"])
            topic = addresses.topic(project_id, topic_id)
            wanted.append((topic, addresses.topic_iam(topic.name), PUBLISHER_ROLE))
        for config in resource.spec.get("streamConfigs") or []:
            table = config["bigqueryDestination"]["tableUri"]
            project_id, dataset_id = addresses.bigquery_dataset_of_table(table)
            bq = addresses.bigquery_dataset(project_id, dataset_id)
            wanted.append((bq, addresses.bigquery_dataset_iam(project_id, dataset_id), EDITOR_ROLE))
        deps = list(resource.depends_on)
        for target, iam, role in wanted:
            if target not in declared:
                continue
            grants.add(iam, role, member, agent, resource.source or loaded.locate("datasets"))
            deps += [target, iam]
            needs_agent = True
        out[index] = replace(resource, depends_on=tuple(dict.fromkeys(deps)))
    if needs_agent and agent not in declared:
        spec = agent_spec(pid, HEALTHCARE)
        out.append(Resource(agent, spec, api_dependencies(blueprint), loaded.locate("datasets")))
    return out


def deidentify_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """One `healthcare.dicom_deidentify` step per `deidentify` entry, after both stores and
    every import into the source (so the copy holds what the imports bring)."""
    out = []
    for index, entry in enumerate(blueprint.deidentify):
        source = store_address(loaded, entry.source)
        destination = store_address(loaded, entry.destination)
        feeding = dict.fromkeys(
            addresses.dicom_import(source.name, i.uri)
            for i in blueprint.imports
            if store_address(loaded, i.dicom_store) == source
        )
        config = entry.config.model_dump(by_alias=True, exclude_defaults=True)
        out.append(
            Resource(
                addresses.dicom_deidentify(destination.name, source.name),
                {"source": source.name, "destination": destination.name, "config": config},
                (source, destination, *feeding),
                loaded.locate(f"deidentify[{index}]"),
            )
        )
    return out


def service_agent_resources(
    loaded: LoadedBlueprint, blueprint: Blueprint, grants: Grants
) -> list[Resource]:
    """Each service agent (after its API), and its grants recorded in `grants`."""
    pid = blueprint.project.id
    out: list[Resource] = []
    for index, agent in enumerate(blueprint.service_agents):
        path = f"serviceAgents[{index}]"
        if agent.service not in AGENT_ROLES:
            raise PlanError(
                f"{loaded.locate(path)}: serviceAgents[{index}].service: provision manages the "
                f"service agents of {', '.join(sorted(AGENT_ROLES))} only; agents of other "
                f"services have other names and roles ({agent.service!r})"
            )
        address = addresses.service_agent(pid, agent.service)
        deps = api_dependencies(blueprint)
        out.append(Resource(address, agent_spec(pid, agent.service), deps, loaded.locate(path)))
        member = agent_member(pid, agent.service)
        for grant in agent_grants(blueprint, agent.service, agent.grants):
            target = grant_target(blueprint, grant)
            grants.add(target, grant.role, member, address, loaded.locate(f"{path}.grants"))
    return out


def agent_grants(blueprint: Blueprint, service: str, grants: list[Grant] | None) -> list[Grant]:
    """The declared grants; none declared means, for the Cloud Healthcare Service Agent,
    `roles/storage.objectViewer` on every declared bucket an import reads from."""
    if grants is not None:
        return list(grants)
    if service != HEALTHCARE:
        return []
    declared = {b.name for b in blueprint.buckets}
    buckets = []
    for entry in blueprint.imports:
        bucket = addresses.bucket_of_uri(entry.uri)
        if bucket in declared and bucket not in buckets:
            buckets.append(bucket)
    return [Grant(role=READER_ROLE, bucket=bucket) for bucket in buckets]


def grant_target(blueprint: Blueprint, grant: Grant) -> Address:
    """The IAM resource a grant lands in (validation guarantees the target is declared)."""
    pid = blueprint.project.id
    if grant.bucket is not None:
        return addresses.bucket_iam(grant.bucket)
    if grant.dataset is not None:
        for dataset in blueprint.datasets:
            if dataset.id == grant.dataset:
                return addresses.dataset_iam(pid, dataset.location, dataset.id)
        raise PlanError(f"service agent grant names undeclared dataset {grant.dataset!r}")
    if grant.topic is not None:
        return addresses.topic_iam(grant.topic)
    return addresses.project_iam(pid)


@dataclass
class Grants:
    """Service-agent grants collected per IAM resource, merged in after everything else."""

    bindings: dict[Address, list[JSON]] = field(default_factory=dict)
    needs: dict[Address, list[Address]] = field(default_factory=dict)
    sources: dict[Address, SourceRef] = field(default_factory=dict)

    def add(self, target: Address, role: str, member: str, agent: Address, src: SourceRef) -> None:
        """Grant `role` to `member` on `target` once, however many stores need it."""
        binding: JSON = {"role": role, "members": [member]}
        bindings = self.bindings.setdefault(target, [])
        if binding not in bindings:
            bindings.append(binding)
        needs = self.needs.setdefault(target, [])
        if agent not in needs:
            needs.append(agent)
        self.sources.setdefault(target, src)

    def merge_into(self, resources: Sequence[Resource]) -> list[Resource]:
        """`resources` with each grant added to its target's IAM resource (created when the
        blueprint gives that target no IAM of its own), depending on the agent. The IAM of an
        object the blueprint does not declare (a topic outside it) is marked `manual`: provision
        does not change IAM on objects it does not manage, the plan shows the step instead."""
        out = list(resources)
        index = {r.address: i for i, r in enumerate(out)}
        for target, bindings in self.bindings.items():
            needs = tuple(self.needs[target])
            if target in index:
                current = out[index[target]]
                spec = {**current.spec, "bindings": [*current.spec["bindings"], *bindings]}
                deps = tuple(dict.fromkeys((*current.depends_on, *needs)))
                out[index[target]] = replace(current, spec=spec, depends_on=deps)
                continue
            parent = registry.get(target.kind).parent(target)
            new: JSON = {"bindings": bindings}
            if parent is not None and parent not in index:
                new["manual"] = True  # not provision's object: a step for the user
            deps = tuple(dict.fromkeys((*((parent,) if parent in index else ()), *needs)))
            out.append(Resource(target, new, deps, self.sources[target]))
        return out


# -- Cloud KMS keys (CMEK) and audit logs --------------------------------------------------


def key_ring_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """Each key ring (after the APIs) and its keys (ring -> key)."""
    pid = blueprint.project.id
    deps = api_dependencies(blueprint)
    out: list[Resource] = []
    for index, ring in enumerate(blueprint.key_rings):
        path = f"keyRings[{index}]"
        address = addresses.key_ring(pid, ring.location, ring.id)
        spec: JSON = {"projectId": pid, "location": ring.location, "keyRingId": ring.id}
        out.append(Resource(address, spec, deps, loaded.locate(path)))
        for key_index, key in enumerate(ring.crypto_keys):
            key_spec: JSON = {"projectId": pid, "labels": dict(key.labels), "adopt": key.adopt}
            if key.rotation_period is not None:
                key_spec["rotationPeriod"] = key.rotation_period
            out.append(
                Resource(
                    addresses.crypto_key(address.name, key.id),
                    key_spec,
                    (address,),
                    loaded.locate(f"{path}.cryptoKeys[{key_index}]"),
                    adopt=key.adopt,
                )
            )
    return out


def with_encryption_keys(
    loaded: LoadedBlueprint, blueprint: Blueprint, resources: Sequence[Resource]
) -> list[Resource]:
    """`resources` with each CMEK dataset's key: the dataset's `encryptionSpec`, the Cloud
    Healthcare Service Agent's `roles/cloudkms.cryptoKeyEncrypterDecrypter` on the key
    (`kms.crypto_key_iam`, derived), which the dataset depends on, the agent itself when the
    blueprint does not declare it, and `cloudkms.googleapis.com` among the enabled services when
    the blueprint declares key rings or uses a key of its own project."""
    pid = blueprint.project.id
    keys: dict[str, str] = {}
    for index, dataset in enumerate(blueprint.datasets):
        if dataset.encryption_spec is not None:
            keys.setdefault(dataset.encryption_spec.kms_key_name, f"datasets[{index}]")
    out = list(resources)
    if blueprint.key_rings or any(key.split("/")[1] == pid for key in keys):
        services = addresses.services(pid)
        out = [with_service(r, CLOUDKMS) if r.address == services else r for r in out]
    if not keys:
        return out
    agent = addresses.service_agent(pid, HEALTHCARE)
    if agent not in {r.address for r in out}:
        first = loaded.locate(f"{next(iter(keys.values()))}.encryptionSpec")
        out.append(Resource(agent, agent_spec(pid, HEALTHCARE), api_dependencies(blueprint), first))
    declared = {r.address for r in out}
    for key, path in keys.items():
        out.append(key_grant(blueprint, key, declared, loaded.locate(f"{path}.encryptionSpec")))
    index_of = {r.address: i for i, r in enumerate(out)}
    for dataset in blueprint.datasets:
        if dataset.encryption_spec is None:
            continue
        key = dataset.encryption_spec.kms_key_name
        position = index_of[addresses.dataset(pid, dataset.location, dataset.id)]
        current = out[position]
        out[position] = replace(
            current,
            spec={**current.spec, "encryptionSpec": {"kmsKeyName": key}},
            depends_on=(*current.depends_on, addresses.crypto_key_iam(key)),
        )
    return out


def key_grant(
    blueprint: Blueprint, key: str, declared: AbstractSet[Address], source: SourceRef | None
) -> Resource:
    """The agent's encrypter grant on `key`: after the agent, the key when declared, and the
    APIs when the key is in the blueprint's project."""
    pid = blueprint.project.id
    agent = addresses.service_agent(pid, HEALTHCARE)
    key_address = Address(addresses.CRYPTO_KEY, key)
    deps = [agent]
    if key_address in declared:
        deps.insert(0, key_address)
    if key.split("/")[1] == pid:
        deps += api_dependencies(blueprint)
    spec: JSON = {
        "bindings": [{"role": ENCRYPTER_ROLE, "members": [agent_member(pid, HEALTHCARE)]}],
        "keyDeclared": key_address in declared,
    }
    return Resource(addresses.crypto_key_iam(key), spec, tuple(dict.fromkeys(deps)), source)


def with_service(resource: Resource, service: str) -> Resource:
    """The `services` resource with `service` among the enabled ones."""
    wanted = sorted({*resource.spec.get("services", []), service})
    return replace(resource, spec={**resource.spec, "services": wanted})


def audit_log_resources(loaded: LoadedBlueprint, blueprint: Blueprint) -> list[Resource]:
    """The project IAM policy's audit configs (`project_audit`), entries of one service
    merged: log types in the blueprint's order, exempted members united."""
    if not blueprint.audit_logs:
        return []
    pid = blueprint.project.id
    merged: dict[str, dict[str, list[str]]] = {}
    for entry in blueprint.audit_logs:
        types = merged.setdefault(entry.service, {})
        for log_type in entry.log_types:
            members = types.setdefault(log_type, [])
            for member in entry.exempted_members.get(log_type, []):
                if member not in members:
                    members.append(member)
    configs: list[JSON] = [
        {
            "service": service,
            "auditLogConfigs": [
                {"logType": log_type, **({"exemptedMembers": list(m)} if m else {})}
                for log_type, m in types.items()
            ],
        }
        for service, types in merged.items()
    ]
    return [
        Resource(
            addresses.project_audit(pid),
            {"projectId": pid, "auditConfigs": configs},
            (addresses.project(pid),),
            loaded.locate("auditLogs"),
        )
    ]
