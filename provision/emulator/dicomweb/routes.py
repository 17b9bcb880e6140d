"""DICOMweb HTTP: STOW-RS, QIDO-RS and WADO-RS under `.../dicomStores/{store}/dicomWeb/`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from pydicom.encaps import generate_frames

from provision.emulator.core import lro, multipart
from provision.emulator.core.errors import ApiError
from provision.emulator.core.routing import Ctx, Reply, Route
from provision.emulator.core.world import World
from provision.emulator.dicomweb import instances, qido

BASE = "/v1/projects/{project}/locations/{location}/datasets/{dataset}/dicomStores/{store}/dicomWeb"
PREFIX = "projects.locations.datasets.dicomStores"
SERVICE = "healthcare.googleapis.com"
DICOM_JSON = "application/dicom+json"

StoreLookup = Callable[[World, str], bool]


def _store_exists(world: World, name: str) -> bool:
    return world.store.get("dicom_stores", name) is not None


store_exists: StoreLookup = _store_exists
"""How DICOMweb learns whether a store exists; the Healthcare API package owns the stores."""


def _store(ctx: Ctx) -> str:
    """The store's resource name, after the checks every DICOMweb call makes."""
    p = ctx.params
    ctx.world.require_service(p["project"], SERVICE, domain=SERVICE)
    name = (
        f"projects/{p['project']}/locations/{p['location']}/datasets/{p['dataset']}"
        f"/dicomStores/{p['store']}"
    )
    if not store_exists(ctx.world, name):
        raise ApiError("NOT_FOUND", f"DICOM store {name} not found.")
    return name


def _store_url(ctx: Ctx, store: str) -> str:
    return f"{ctx.base_url}/v1/{store}/dicomWeb"


# ----- STOW-RS


def store_instances(ctx: Ctx) -> Reply:
    store = _store(ctx)
    content_type = ctx.request.headers.get("Content-Type", "")
    media_type, params = multipart.content_type_params(content_type)
    body = ctx.request.get_data()
    if media_type == "application/dicom":
        payloads = [body]
    elif media_type == "multipart/related":
        part_type = params.get("type", "application/dicom").strip('"')
        if part_type != "application/dicom":
            raise ApiError("INVALID_ARGUMENT", f"unsupported multipart type {part_type!r}.")
        payloads = [payload for _, payload in multipart.parse(body, content_type)]
    else:
        raise ApiError("INVALID_ARGUMENT", f"unsupported media type {media_type!r}.")
    wanted_study = ctx.params.get("study", "")
    url = _store_url(ctx, store)
    stored: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    details: list[str] = []
    studies: set[str] = set()
    for payload in payloads:
        result = (
            instances.PutResult(instances.Outcome.INVALID, detail="study UID does not match")
            if wanted_study and _study_of(payload) not in ("", wanted_study)
            else instances.put_instance(ctx.world, store, payload)
        )
        if result.outcome is instances.Outcome.STORED:
            studies.add(result.study)
            stored.append(
                {
                    "00081150": {"vr": "UI", "Value": [result.sop_class]},
                    "00081155": {"vr": "UI", "Value": [result.sop]},
                    "00081190": {
                        "vr": "UR",
                        "Value": [
                            f"{url}/studies/{result.study}/series/{result.series}"
                            f"/instances/{result.sop}"
                        ],
                    },
                }
            )
        else:
            reason = "already exists" if result.outcome is not instances.Outcome.INVALID else ""
            details.append(result.detail or reason)
            item: dict[str, Any] = {"00081197": {"vr": "US", "Value": [272]}}
            if result.sop:
                item["00081150"] = {"vr": "UI", "Value": [result.sop_class]}
                item["00081155"] = {"vr": "UI", "Value": [result.sop]}
            failed.append(item)
    answer: dict[str, Any] = {}
    if len(studies) == 1:
        answer["00081190"] = {"vr": "UR", "Value": [f"{url}/studies/{next(iter(studies))}"]}
    if stored:
        answer["00081199"] = {"vr": "SQ", "Value": stored}
    if failed:
        answer["00081198"] = {"vr": "SQ", "Value": failed}
        answer["00091097"] = {"vr": "LT", "Value": ["; ".join(d for d in details if d)]}
    status = 409 if failed else 200
    if DICOM_JSON in ctx.request.headers.get("Accept", ""):
        return Reply(status, json.dumps(answer).encode(), DICOM_JSON)
    return Reply(status, _native_xml(answer).encode(), "application/dicom+xml")


def _study_of(payload: bytes) -> str:
    try:
        return str(instances.parse(payload).StudyInstanceUID)
    except ValueError:
        return ""


def _native_xml(attributes: dict[str, Any]) -> str:
    """A NativeDicomModel document for the STOW answer (the default response format)."""

    def attribute(tag: str, element: dict[str, Any]) -> str:
        vr = element["vr"]
        keyword = qido.keyword_of(tag)
        private = ' privateCreator="GOOGLE"' if tag == "00091097" else ""
        head = f'<DicomAttribute tag="{tag}" vr="{vr}" keyword="{keyword}"{private}>'
        if vr == "SQ":
            items = "".join(
                f'<Item number="{i}">'
                + "".join(attribute(t, e) for t, e in item.items())
                + "</Item>"
                for i, item in enumerate(element["Value"], start=1)
            )
            return head + items + "</DicomAttribute>"
        values = "".join(
            f'<Value number="{i}">{escape(str(v))}</Value>'
            for i, v in enumerate(element["Value"], start=1)
        )
        return head + values + "</DicomAttribute>"

    body = "".join(attribute(tag, element) for tag, element in attributes.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<NativeDicomModel>{body}</NativeDicomModel>\n'


# ----- QIDO-RS


def _search(level: str) -> Callable[[Ctx], Reply]:
    def handler(ctx: Ctx) -> Reply:
        store = _store(ctx)
        query = qido.parse_query(level, ctx.query.items(multi=True))
        records = instances.find(
            ctx.world, store, ctx.params.get("study", ""), ctx.params.get("series", "")
        )
        results = _group(level, records, query)
        page = results[query.offset : query.offset + query.limit]
        if not page:
            status = ctx.world.settings.qido_empty_status
            return Reply(status, b"[]" if status == 200 else b"", DICOM_JSON)
        return Reply(200, json.dumps(page).encode(), DICOM_JSON)

    return handler


def _group(level: str, records: list[dict[str, Any]], query: qido.Query) -> list[dict[str, Any]]:
    """One result per study / series / instance, with the computed counts QIDO adds."""
    depth = {"studies": 1, "series": 2, "instances": 3}[level]
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        if qido.matches(query, record["json"]):
            key = (record["study"], record["series"], record["sop"])[:depth]
            groups.setdefault(key, []).append(record)
    level_attributes = {
        "studies": qido.STUDY_ATTRIBUTES,
        "series": qido.SERIES_ATTRIBUTES + qido.STUDY_ATTRIBUTES,
        "instances": qido.INSTANCE_ATTRIBUTES + qido.SERIES_ATTRIBUTES + qido.STUDY_ATTRIBUTES,
    }[level]
    results = []
    for members in groups.values():
        first = members[0]["json"]
        answer = qido.select(first, level_attributes, query.include)
        if level == "studies":
            modalities = sorted({qido.first_value(m["json"].get("00080060")) for m in members})
            answer["00080061"] = {"vr": "CS", "Value": [m for m in modalities if m]}
            answer["00201206"] = {"vr": "IS", "Value": [len({m["series"] for m in members})]}
            answer["00201208"] = {"vr": "IS", "Value": [len(members)]}
        elif level == "series":
            answer["00201209"] = {"vr": "IS", "Value": [len(members)]}
        results.append(dict(sorted(answer.items())))
    return results


# ----- WADO-RS


def _records(ctx: Ctx, store: str) -> list[dict[str, Any]]:
    p = ctx.params
    found = instances.find(ctx.world, store, p["study"], p.get("series", ""), p.get("sop", ""))
    if not found:
        raise ApiError("NOT_FOUND", "No DICOM instances match the request.")
    return found


def retrieve(ctx: Ctx) -> Reply:
    store = _store(ctx)
    records = _records(ctx, store)
    accept = ctx.request.headers.get("Accept", "") or "multipart/related"
    if accept.startswith("application/dicom") and "sop" in ctx.params:
        return Reply(200, instances.data(ctx.world, store, records[0]), "application/dicom")
    if not (accept.startswith("multipart/related") or accept.startswith("*/*")):
        raise ApiError("INVALID_ARGUMENT", f"unsupported Accept {accept!r}.", http=406)
    body, content_type = multipart.build(
        (("application/dicom", instances.data(ctx.world, store, r)) for r in records),
        "application/dicom",
    )
    return Reply(200, body, content_type)


def metadata(ctx: Ctx) -> Reply:
    store = _store(ctx)
    url = _store_url(ctx, store)
    answer = []
    for record in _records(ctx, store):
        instance_url = (
            f"{url}/studies/{record['study']}/series/{record['series']}/instances/{record['sop']}"
        )
        attributes = {
            tag: (
                {**element, "BulkDataURI": f"{instance_url}/{element['BulkDataURI']}"}
                if "BulkDataURI" in element
                else element
            )
            for tag, element in record["json"].items()
        }
        answer.append(attributes)
    return Reply(200, json.dumps(answer).encode(), DICOM_JSON)


def frames(ctx: Ctx) -> Reply:
    store = _store(ctx)
    record = _records(ctx, store)[0]
    dataset = instances.parse(instances.data(ctx.world, store, record))
    all_frames = _frames_of(dataset)
    try:
        wanted = [int(n) for n in ctx.params["frames"].split(",")]
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", "frame numbers must be integers.") from None
    if any(not 1 <= n <= len(all_frames) for n in wanted):
        raise ApiError("INVALID_ARGUMENT", f"the instance has {len(all_frames)} frame(s).")
    body, content_type = multipart.build(
        (("application/octet-stream", all_frames[n - 1]) for n in wanted),
        "application/octet-stream",
    )
    return Reply(200, body, content_type)


def _frames_of(dataset: Any) -> list[bytes]:
    if "PixelData" not in dataset:
        raise ApiError("INVALID_ARGUMENT", "the instance has no pixel data.")
    pixels: bytes = dataset.PixelData
    count = int(dataset.get("NumberOfFrames", 1) or 1)
    if dataset.file_meta.TransferSyntaxUID.is_encapsulated:
        return list(generate_frames(pixels, number_of_frames=count))
    size = len(pixels) // count
    return [pixels[i * size : (i + 1) * size] for i in range(count)]


def bulkdata(ctx: Ctx) -> Reply:
    store = _store(ctx)
    record = _records(ctx, store)[0]
    dataset = instances.parse(instances.data(ctx.world, store, record))
    try:
        # `bulkdata/*/**` (discovery): the first segment is the tag, the rest a path into it
        tag = int(ctx.params["tag"].split("/", 1)[0], 16)
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", "bulk data tag must be hexadecimal.") from None
    if tag not in dataset:
        raise ApiError("NOT_FOUND", "No such bulk data element.")
    body, content_type = multipart.build(
        [("application/octet-stream", bytes(dataset[tag].value))], "application/octet-stream"
    )
    return Reply(200, body, content_type)


# ----- delete


def delete_instance(ctx: Ctx) -> dict[str, Any]:
    store = _store(ctx)
    _records(ctx, store)
    p = ctx.params
    instances.delete(ctx.world, store, p["study"], p["series"], p["sop"])
    return {}


def delete_study_or_series(ctx: Ctx) -> dict[str, Any]:
    store = _store(ctx)
    _records(ctx, store)
    p = ctx.params
    instances.delete(ctx.world, store, p["study"], p.get("series", ""))
    dataset = store.split("/dicomStores/")[0]
    name = f"{dataset}/operations/{ctx.world.ids.digits(19)}"
    method = "DeleteSeries" if "series" in p else "DeleteStudy"
    now = ctx.world.now_rfc3339()
    return lro.start(
        ctx.world,
        name,
        metadata={
            "@type": "type.googleapis.com/google.cloud.healthcare.v1.OperationMetadata",
            "apiMethodName": f"google.cloud.healthcare.v1.dicomweb.DicomWebService.{method}",
            "createTime": now,
            "endTime": now,
        },
        response={"@type": "type.googleapis.com/google.protobuf.Empty"},
    )


def routes() -> list[Route]:
    study = f"{BASE}/studies/{{study}}"
    series = f"{study}/series/{{series}}"
    instance = f"{series}/instances/{{sop}}"

    def route(method: str, template: str, handler: Callable[[Ctx], Any], method_id: str) -> Route:
        mutating = method in ("POST", "DELETE")
        return Route(method, template, handler, "healthcare", f"{PREFIX}.{method_id}", mutating)

    return [
        route("POST", f"{BASE}/studies", store_instances, "storeInstances"),
        route("POST", study, store_instances, "studies.storeInstances"),
        route("GET", f"{BASE}/studies", _search("studies"), "searchForStudies"),
        route("GET", f"{BASE}/series", _search("series"), "searchForSeries"),
        route("GET", f"{BASE}/instances", _search("instances"), "searchForInstances"),
        route("GET", f"{study}/series", _search("series"), "studies.searchForSeries"),
        route("GET", f"{study}/instances", _search("instances"), "studies.searchForInstances"),
        route(
            "GET", f"{series}/instances", _search("instances"), "studies.series.searchForInstances"
        ),
        route("GET", study, retrieve, "studies.retrieveStudy"),
        route("GET", f"{study}/metadata", metadata, "studies.retrieveMetadata"),
        route("GET", series, retrieve, "studies.series.retrieveSeries"),
        route("GET", f"{series}/metadata", metadata, "studies.series.retrieveMetadata"),
        route("GET", instance, retrieve, "studies.series.instances.retrieveInstance"),
        route("GET", f"{instance}/metadata", metadata, "studies.series.instances.retrieveMetadata"),
        route(
            "GET",
            f"{instance}/frames/{{frames}}",
            frames,
            "studies.series.instances.frames.retrieveFrames",
        ),
        route(
            "GET",
            f"{instance}/bulkdata/{{tag=**}}",
            bulkdata,
            "studies.series.instances.bulkdata.retrieveBulkdata",
        ),
        route("DELETE", study, delete_study_or_series, "studies.delete"),
        route("DELETE", series, delete_study_or_series, "studies.series.delete"),
        route("DELETE", instance, delete_instance, "studies.series.instances.delete"),
    ]
