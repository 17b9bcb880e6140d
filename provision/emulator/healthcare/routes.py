"""Cloud Healthcare v1 admin API over HTTP: locations, datasets (with CMEK), DICOM stores, IAM,
operations, `dicomStores.import`, `deidentify` and `setBlobStorageSettings`, and an instance's
`getStorageInfo`; FHIR, HL7v2 and consent stores exist (create, get, list, delete) without
contents.

Every call first requires the API to be enabled on the project (403 SERVICE_DISABLED otherwise,
or 403 "(or it may not exist)" for an unknown project), then a supported location.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provision.emulator.core import iam, lro, paging
from provision.emulator.core.errors import ApiError, invalid_argument
from provision.emulator.core.routing import Ctx, Route
from provision.emulator.dicomweb import instances
from provision.emulator.healthcare import (
    blob_storage,
    deidentify,
    destinations,
    encryption,
    models,
    resource_paths,
)
from provision.emulator.healthcare.models import SERVICE, Names

V1 = "/v1/projects/{project}/locations"
LOCATION = f"{V1}/{{location}}"
DATASETS = f"{LOCATION}/datasets"
DATASET = f"{DATASETS}/{{dataset}}"
STORES = f"{DATASET}/dicomStores"
STORE = f"{STORES}/{{store}}"
INSTANCE = f"{STORE}/dicomWeb/studies/{{study}}/series/{{series}}/instances/{{instance}}"
PREFIX = "projects.locations"


def _names(ctx: Ctx) -> Names:
    project = ctx.world.require_service(ctx.params["project"], SERVICE, domain=SERVICE)
    return Names(ctx.world, project, ctx.params["project"])


def _location(ctx: Ctx) -> tuple[Names, str]:
    names = _names(ctx)
    location = ctx.params["location"]
    models.check_location(location)
    return names, names.canonical(f"locations/{location}")


def _dataset_name(ctx: Ctx) -> tuple[Names, str]:
    names, location = _location(ctx)
    return names, f"{location}/datasets/{ctx.params['dataset']}"


def _dataset(ctx: Ctx, *, initialized: bool = True) -> tuple[Names, dict[str, Any]]:
    names, name = _dataset_name(ctx)
    return names, models.require_dataset(ctx.world, name, initialized=initialized)


def _store(ctx: Ctx) -> tuple[Names, dict[str, Any]]:
    names, dataset = _dataset(ctx)
    name = f"{dataset['name']}/dicomStores/{ctx.params['store']}"
    return names, models.require_store(ctx.world, name)


def _page(
    ctx: Ctx, items: list[dict[str, Any]], default: int, maximum: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page by `pageSize` / `pageToken` (tokens are bound to this list and filter)."""
    size = paging.page_size(ctx.query.get("pageSize"), default=default, maximum=maximum)
    scope = f"{ctx.request.path}?{ctx.query.get('filter', '')}"
    return paging.paginate(items, size=size, token=ctx.query.get("pageToken"), scope=scope)


def _listing(key: str, page: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    if page:
        answer[key] = page
    if token:
        answer["nextPageToken"] = token
    return answer


def _requested_version(ctx: Ctx) -> int:
    return iam.requested_version(ctx.query.get("options.requestedPolicyVersion"))


def _set_policy(ctx: Ctx, resource: str) -> dict[str, Any]:
    return iam.set_policy_request(ctx.world, resource, ctx.json(), iam.HEALTHCARE)


# ----- locations


def _location_resource(names: Names, location: str) -> dict[str, Any]:
    return {"name": names.shown(names.canonical(f"locations/{location}")), "locationId": location}


def list_locations(ctx: Ctx) -> dict[str, Any]:
    names = _names(ctx)
    everything = [_location_resource(names, location) for location in models.LOCATIONS]
    page, token = _page(ctx, everything, 100, 1000)
    return _listing("locations", page, token)


def get_location(ctx: Ctx) -> dict[str, Any]:
    names, _ = _location(ctx)
    return _location_resource(names, ctx.params["location"])


# ----- datasets


def create_dataset(ctx: Ctx) -> dict[str, Any]:
    names, location = _location(ctx)
    dataset_id = models.check_id(ctx.query.get("datasetId"), "datasetId", "dataset")
    name = f"{location}/datasets/{dataset_id}"
    created = ctx.world.now_rfc3339()
    body = ctx.json()
    models.check_new_dataset(ctx.world, name, body)
    refused = None
    if "encryptionSpec" in body:
        number = names.project["number"]
        refused = encryption.check_spec(
            ctx.world, number, ctx.params["location"], body["encryptionSpec"]
        )
    if refused is not None and not ctx.world.settings.cmek_failure_in_operation:
        raise refused
    response = None
    if refused is None:
        record = models.create_dataset(ctx.world, name, body)
        response = {"@type": models.DATASET_TYPE, **models.render(record, names)}
    operation = lro.start(
        ctx.world,
        models.new_operation_name(ctx.world, name),
        metadata=models.operation_metadata(ctx.world, models.CREATE_DATASET_METHOD, created),
        response=response,
        error=None if refused is None else models.rpc_status(refused),
    )
    return models.render_operation(operation, names)


def get_dataset(ctx: Ctx) -> dict[str, Any]:
    names, dataset = _dataset(ctx, initialized=False)
    return models.render(dataset, names)


def list_datasets(ctx: Ctx) -> dict[str, Any]:
    names, location = _location(ctx)
    datasets = [models.render(d, names) for d in models.list_datasets(ctx.world, location)]
    page, token = _page(ctx, datasets, 100, 1000)
    return _listing("datasets", page, token)


def patch_dataset(ctx: Ctx) -> dict[str, Any]:
    names, dataset = _dataset(ctx)
    record = models.patch_dataset(ctx.world, dataset, ctx.json(), ctx.query.get("updateMask"))
    return models.render(record, names)


def delete_dataset(ctx: Ctx) -> dict[str, Any]:
    _, dataset = _dataset(ctx, initialized=False)
    models.delete_dataset(ctx.world, dataset["name"])
    return {}


def get_dataset_iam(ctx: Ctx) -> dict[str, Any]:
    _, dataset = _dataset(ctx)
    return iam.get_policy(ctx.world, dataset["name"], _requested_version(ctx))


def set_dataset_iam(ctx: Ctx) -> dict[str, Any]:
    _, dataset = _dataset(ctx)
    return _set_policy(ctx, dataset["name"])


# ----- DICOM stores


def create_store(ctx: Ctx) -> dict[str, Any]:
    names, dataset = _dataset(ctx)
    store_id = models.check_id(ctx.query.get("dicomStoreId"), "dicomStoreId", "DICOM store")
    name = f"{dataset['name']}/dicomStores/{store_id}"
    record = models.create_store(ctx.world, name, ctx.json())
    destinations.check_streams(ctx.world, record)
    destinations.check_topics(ctx.world, record)
    return models.render(record, names)


def get_store(ctx: Ctx) -> dict[str, Any]:
    names, store = _store(ctx)
    return models.render(store, names)


def list_stores(ctx: Ctx) -> dict[str, Any]:
    names, dataset = _dataset(ctx)
    stores = models.list_stores(ctx.world, dataset["name"], ctx.query.get("filter"))
    page, token = _page(ctx, [models.render(s, names) for s in stores], 100, 1000)
    return _listing("dicomStores", page, token)


def patch_store(ctx: Ctx) -> dict[str, Any]:
    names, store = _store(ctx)
    mask = ctx.query.get("updateMask") or ""
    record = models.patch_store(ctx.world, store, ctx.json(), mask)
    if "streamConfigs" in mask:
        destinations.check_streams(ctx.world, record)
    if "notificationConfig" in mask:
        destinations.check_topics(ctx.world, record)
    return models.render(record, names)


def delete_store(ctx: Ctx) -> dict[str, Any]:
    _, store = _store(ctx)
    models.delete_store(ctx.world, store["name"])
    return {}


def get_store_iam(ctx: Ctx) -> dict[str, Any]:
    _, store = _store(ctx)
    return iam.get_policy(ctx.world, store["name"], _requested_version(ctx))


def set_store_iam(ctx: Ctx) -> dict[str, Any]:
    _, store = _store(ctx)
    return _set_policy(ctx, store["name"])


def _tested(ctx: Ctx) -> dict[str, Any]:
    return iam.tested_permissions(ctx.world, ctx.json())


def test_dataset_permissions(ctx: Ctx) -> dict[str, Any]:
    _dataset(ctx)
    return _tested(ctx)


def test_store_permissions(ctx: Ctx) -> dict[str, Any]:
    _store(ctx)
    return _tested(ctx)


# ----- FHIR, HL7v2 and consent stores (existence only)


def _other_store_name(ctx: Ctx, store_type: models.StoreType) -> tuple[Names, str]:
    names, dataset = _dataset(ctx)
    return names, f"{dataset['name']}/{store_type.segment}/{ctx.params['store']}"


def other_store_handlers(store_type: models.StoreType) -> dict[str, Callable[[Ctx], Any]]:
    """`create`, `get`, `list` and `delete` of one store type (e.g. `fhirStores`)."""
    id_param = f"{store_type.segment[:-1]}Id"  # fhirStoreId, hl7V2StoreId, consentStoreId

    def create(ctx: Ctx) -> dict[str, Any]:
        names, dataset = _dataset(ctx)
        store_id = models.check_id(ctx.query.get(id_param), id_param, store_type.kind)
        name = f"{dataset['name']}/{store_type.segment}/{store_id}"
        return models.render(
            models.create_other_store(ctx.world, store_type, name, ctx.json()), names
        )

    def get(ctx: Ctx) -> dict[str, Any]:
        names, name = _other_store_name(ctx, store_type)
        return models.render(models.require_other_store(ctx.world, store_type, name), names)

    def listing(ctx: Ctx) -> dict[str, Any]:
        names, dataset = _dataset(ctx)
        stores = models.list_other_stores(
            ctx.world, store_type, dataset["name"], ctx.query.get("filter")
        )
        page, token = _page(ctx, [models.render(s, names) for s in stores], 100, 1000)
        return _listing(store_type.segment, page, token)

    def delete(ctx: Ctx) -> dict[str, Any]:
        _, name = _other_store_name(ctx, store_type)
        models.require_other_store(ctx.world, store_type, name)
        models.delete_other_store(ctx.world, name)
        return {}

    return {"create": create, "get": get, "list": listing, "delete": delete}


def import_dicom(ctx: Ctx) -> dict[str, Any]:
    names, store = _store(ctx)
    body = ctx.json()
    models.reject_unknown_fields(
        body, frozenset({"gcsSource", "blobStorageSettings"}), "import_dicom_data_request"
    )
    source = body.get("gcsSource")
    if not isinstance(source, dict) or not source.get("uri"):
        raise invalid_argument("gcsSource.uri is required.")
    uri = source["uri"]
    models.check_import_uri(uri)
    created = ctx.world.now_rfc3339()
    failure_code = ctx.world.settings.import_failure_code
    settings = body.get("blobStorageSettings") or {}
    storage_class = models.storage_class(settings.get("blobStorageClass"))
    counter, error = models.run_import(
        ctx.world, store["name"], names.project, uri, failure_code, storage_class
    )
    dataset = store["name"].split("/dicomStores/")[0]
    operation = lro.start(
        ctx.world,
        models.new_operation_name(ctx.world, dataset),
        metadata=models.operation_metadata(ctx.world, models.IMPORT_METHOD, created, **counter),
        response=None if error else {"@type": models.IMPORT_RESPONSE_TYPE},
        error=error,
    )
    return models.render_operation(operation, names)


def deidentify_store(ctx: Ctx) -> dict[str, Any]:
    names, store = _store(ctx)
    body = ctx.json()
    source_dataset = models.require_dataset(ctx.world, store["name"].split("/dicomStores/")[0])
    deidentify.refuse_encrypted(source_dataset)
    target = deidentify.destination(ctx.world, store["name"], body.get("destinationStore"))
    models.require_dataset(ctx.world, target.split("/dicomStores/")[0])
    models.require_store(ctx.world, target)
    config, error = deidentify.config_of(ctx.world, names.project, body)
    rules = deidentify.tag_filter(config.get("dicom") or {})
    selected: resource_paths.Selector = resource_paths.everything
    uri = (body.get("filterConfig") or {}).get("resourcePathsGcsUri")
    if uri and error is None:
        selected, error = resource_paths.read(ctx.world, names.project, uri)
    created = ctx.world.now_rfc3339()
    counter = {} if error else deidentify.run(ctx.world, store["name"], target, rules, selected)
    operation = lro.start(
        ctx.world,
        models.new_operation_name(ctx.world, source_dataset["name"]),
        metadata=models.operation_metadata(ctx.world, deidentify.METHOD, created, **counter),
        response=None if error else {"@type": deidentify.RESPONSE_TYPE},
        error=error,
    )
    return models.render_operation(operation, names)


def set_blob_storage(ctx: Ctx) -> dict[str, Any]:
    names, store = _store(ctx)
    created = ctx.world.now_rfc3339()
    counter, error = blob_storage.set_store_class(ctx.world, store, names.project, ctx.json())
    dataset = store["name"].split("/dicomStores/")[0]
    operation = lro.start(
        ctx.world,
        models.new_operation_name(ctx.world, dataset),
        metadata=models.operation_metadata(ctx.world, blob_storage.SET_METHOD, created, **counter),
        response=None if error else {"@type": blob_storage.SET_RESPONSE_TYPE},
        error=error,
    )
    return models.render_operation(operation, names)


def get_storage_info(ctx: Ctx) -> dict[str, Any]:
    names, store = _store(ctx)
    study, series, sop = (ctx.params[key] for key in ("study", "series", "instance"))
    found = instances.find(ctx.world, store["name"], study, series, sop)
    shown = names.shown(store["name"])
    if not found:
        where = f"{shown}/dicomWeb/studies/{study}/series/{series}/instances/{sop}"
        raise models.not_found("Instance", where)
    return blob_storage.storage_info(shown, found[0])


# ----- operations


def get_operation(ctx: Ctx) -> dict[str, Any]:
    names, dataset_name = _dataset_name(ctx)
    name = f"{dataset_name}/operations/{ctx.params['operation']}"
    operation = lro.poll(ctx.world, name)
    if operation is None:
        raise ApiError("NOT_FOUND", f"Operation {names.shown(name)} not found.")
    return models.render_operation(operation, names)


def list_operations(ctx: Ctx) -> dict[str, Any]:
    names, dataset = _dataset(ctx, initialized=False)
    operations = models.list_operations(ctx.world, dataset["name"], ctx.query.get("filter"))
    rendered = [models.render_operation(op, names) for op in operations]
    page, token = _page(ctx, rendered, 100, 1000)
    return _listing("operations", page, token)


# ----- routing


def routes() -> list[Route]:

    def route(method: str, template: str, handler: Callable[[Ctx], Any], method_id: str) -> Route:
        mutating = method in ("POST", "PATCH", "DELETE", "PUT") and not method_id.endswith(
            ("getIamPolicy", "testIamPermissions")
        )
        return Route(method, template, handler, "healthcare", f"{PREFIX}.{method_id}", mutating)

    other_stores = []
    for segment, store_type in models.STORE_TYPES.items():
        handlers = other_store_handlers(store_type)
        collection, item = f"{DATASET}/{segment}", f"{DATASET}/{segment}/{{store}}"
        other_stores += [
            route("POST", collection, handlers["create"], f"datasets.{segment}.create"),
            route("GET", collection, handlers["list"], f"datasets.{segment}.list"),
            route("GET", item, handlers["get"], f"datasets.{segment}.get"),
            route("DELETE", item, handlers["delete"], f"datasets.{segment}.delete"),
        ]
    return [
        *other_stores,
        route("GET", V1, list_locations, "list"),
        route("GET", LOCATION, get_location, "get"),
        route("POST", DATASETS, create_dataset, "datasets.create"),
        route("GET", DATASETS, list_datasets, "datasets.list"),
        route("GET", DATASET, get_dataset, "datasets.get"),
        route("PATCH", DATASET, patch_dataset, "datasets.patch"),
        route("DELETE", DATASET, delete_dataset, "datasets.delete"),
        route("GET", f"{DATASET}:getIamPolicy", get_dataset_iam, "datasets.getIamPolicy"),
        route("POST", f"{DATASET}:setIamPolicy", set_dataset_iam, "datasets.setIamPolicy"),
        route(
            "POST",
            f"{DATASET}:testIamPermissions",
            test_dataset_permissions,
            "datasets.testIamPermissions",
        ),
        route("GET", f"{DATASET}/operations", list_operations, "datasets.operations.list"),
        route(
            "GET", f"{DATASET}/operations/{{operation}}", get_operation, "datasets.operations.get"
        ),
        route("POST", STORES, create_store, "datasets.dicomStores.create"),
        route("GET", STORES, list_stores, "datasets.dicomStores.list"),
        route("GET", STORE, get_store, "datasets.dicomStores.get"),
        route("PATCH", STORE, patch_store, "datasets.dicomStores.patch"),
        route("DELETE", STORE, delete_store, "datasets.dicomStores.delete"),
        route("GET", f"{STORE}:getIamPolicy", get_store_iam, "datasets.dicomStores.getIamPolicy"),
        route("POST", f"{STORE}:setIamPolicy", set_store_iam, "datasets.dicomStores.setIamPolicy"),
        route(
            "POST",
            f"{STORE}:testIamPermissions",
            test_store_permissions,
            "datasets.dicomStores.testIamPermissions",
        ),
        route("POST", f"{STORE}:import", import_dicom, "datasets.dicomStores.import"),
        route("POST", f"{STORE}:deidentify", deidentify_store, "datasets.dicomStores.deidentify"),
        route(
            "POST",
            f"{STORE}:setBlobStorageSettings",
            set_blob_storage,
            "datasets.dicomStores.setBlobStorageSettings",
        ),
        route(
            "GET",
            f"{INSTANCE}:getStorageInfo",
            get_storage_info,
            "datasets.dicomStores.dicomWeb.studies.series.instances.getStorageInfo",
        ),
    ]
