"""Cloud Storage JSON API v1 over HTTP: buckets, bucket IAM, objects, media and resumable uploads.

Paths are Google's (`/storage/v1/b/...`, `/upload/storage/v1/b/...`, `/resumable/upload/...`,
`/download/storage/v1/b/...`), so google-cloud-storage works with `STORAGE_EMULATOR_HOST` or an
`api_endpoint`. Errors use the Storage dialect (`errors[].reason`, no `status`). The Cloud Storage
API needs no explicit enabling: Google enables it on every new project.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from provision.emulator.core import multipart
from provision.emulator.core.errors import ApiError
from provision.emulator.core.routing import Ctx, NotEmulated, Reply, Route
from provision.emulator.storage import models
from provision.emulator.storage.models import error, required

JSON_BASE = "/storage/v1/b"


def _caller(ctx: Ctx) -> str:
    return ctx.world.settings.caller.split(":", 1)[-1]


def _project(ctx: Ctx, permission: str) -> dict[str, Any]:
    ref = ctx.query.get("project")
    if not ref:
        raise required("project")
    project = ctx.world.find_project(ref)
    if project is None or project.get("state") != "ACTIVE":
        raise error(
            403,
            f"{_caller(ctx)} does not have {permission} access to the Google Cloud project. "
            f"Permission '{permission}' denied on resource (or it may not exist).",
            "forbidden",
        )
    return project


def _max_results(ctx: Ctx) -> int:
    raw = ctx.query.get("maxResults")
    if raw in (None, ""):
        return models.MAX_LIST
    try:
        value = int(raw)
    except ValueError:
        raise error(400, f"Invalid value for maxResults: {raw}", "invalid") from None
    if value < 0:
        raise error(400, f"Invalid value for maxResults: {raw}", "invalid")
    return min(value or models.MAX_LIST, models.MAX_LIST)


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise error(400, "Invalid page token.", "invalid") from None


def _flag(ctx: Ctx, name: str) -> bool:
    return ctx.query.get(name, "").lower() == "true"


# ----- buckets


def insert_bucket(ctx: Ctx) -> dict[str, Any]:
    project = _project(ctx, "storage.buckets.create")
    record = models.insert_bucket(ctx.world, project, ctx.json())
    return models.render_bucket(record, ctx.base_url, ctx.query.get("projection", "noAcl"))


def list_buckets(ctx: Ctx) -> dict[str, Any]:
    project = _project(ctx, "storage.buckets.list")
    buckets = models.list_buckets(ctx.world, project, ctx.query.get("prefix", ""))
    token = ctx.query.get("pageToken")
    if token:
        after = _decode_token(token)
        buckets = [bucket for bucket in buckets if bucket["name"] > after]
    size = _max_results(ctx)
    page = buckets[:size]
    answer: dict[str, Any] = {"kind": "storage#buckets"}
    if page:
        projection = ctx.query.get("projection", "noAcl")
        answer["items"] = [models.render_bucket(b, ctx.base_url, projection) for b in page]
    if len(buckets) > size:
        answer["nextPageToken"] = _encode_token(page[-1]["name"])
    return answer


def get_bucket(ctx: Ctx) -> dict[str, Any]:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    models.check_metageneration(bucket, ctx.query)
    return models.render_bucket(bucket, ctx.base_url, ctx.query.get("projection", "noAcl"))


def _patcher(replace: bool) -> Callable[[Ctx], dict[str, Any]]:
    def handler(ctx: Ctx) -> dict[str, Any]:
        bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
        models.check_metageneration(bucket, ctx.query)
        record = models.patch_bucket(ctx.world, bucket, ctx.json(), replace=replace)
        return models.render_bucket(record, ctx.base_url, ctx.query.get("projection", "full"))

    return handler


def delete_bucket(ctx: Ctx) -> Reply:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    models.check_metageneration(bucket, ctx.query)
    models.delete_bucket(ctx.world, bucket["name"])
    return Reply(204)


def get_bucket_iam(ctx: Ctx) -> dict[str, Any]:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    raw = ctx.query.get("optionsRequestedPolicyVersion") or "0"
    try:
        version = int(raw)
    except ValueError:
        raise error(400, f"Invalid requested policy version: {raw}", "invalid") from None
    return models.get_bucket_policy(ctx.world, bucket, version)


def set_bucket_iam(ctx: Ctx) -> dict[str, Any]:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    return models.set_bucket_policy(ctx.world, bucket, ctx.json())


def test_bucket_permissions(ctx: Ctx) -> dict[str, Any]:
    models.require_bucket(ctx.world, ctx.params["bucket"])
    return _held_permissions(ctx)


def test_object_permissions(ctx: Ctx) -> dict[str, Any]:
    """`objects.testIamPermissions` (`GET .../o/{object}/iam/testPermissions`)."""
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    models.require_object(ctx.world, bucket["name"], ctx.params["object"], None)
    return _held_permissions(ctx)


def _held_permissions(ctx: Ctx) -> dict[str, Any]:
    """The asked `storage.*` permissions the caller holds: all but `denied_permissions`."""
    asked = ctx.query.getlist("permissions")
    if not asked:
        raise required("permissions")
    denied = set(ctx.world.settings.denied_permissions)
    for permission in asked:
        if not permission.startswith("storage."):
            raise error(
                400, f"Permission '{permission}' is not valid for this resource.", "invalid"
            )
    held = [permission for permission in asked if permission not in denied]
    answer: dict[str, Any] = {"kind": "storage#testIamPermissionsResponse"}
    if held:
        answer["permissions"] = held
    return answer


# ----- objects


def list_objects(ctx: Ctx) -> dict[str, Any]:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    q = ctx.query
    entries = models.list_objects(
        ctx.world,
        bucket["name"],
        prefix=q.get("prefix", ""),
        delimiter=q.get("delimiter", ""),
        match_glob=q.get("matchGlob", ""),
        start_offset=q.get("startOffset", ""),
        end_offset=q.get("endOffset", ""),
        include_trailing_delimiter=_flag(ctx, "includeTrailingDelimiter"),
    )
    token = q.get("pageToken")
    if token:
        after = _decode_token(token)
        entries = [entry for entry in entries if entry[0] > after]
    size = _max_results(ctx)
    page = entries[:size]
    answer: dict[str, Any] = {"kind": "storage#objects"}
    prefixes = [name for name, record in page if record is None]
    items = [models.render_object(record, ctx.base_url) for _, record in page if record]
    if prefixes:
        answer["prefixes"] = prefixes
    if items:
        answer["items"] = items
    if len(entries) > size:
        answer["nextPageToken"] = _encode_token(page[-1][0])
    return answer


def get_object(ctx: Ctx) -> Any:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    record = models.require_object(
        ctx.world, bucket["name"], ctx.params["object"], ctx.query.get("generation")
    )
    models.check_generation(record, ctx.query)
    if ctx.query.get("alt") == "media":
        return _media(ctx, record)
    return models.render_object(record, ctx.base_url)


def download_object(ctx: Ctx) -> Reply:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    record = models.require_object(
        ctx.world, bucket["name"], ctx.params["object"], ctx.query.get("generation")
    )
    models.check_generation(record, ctx.query)
    return _media(ctx, record)


def _media(ctx: Ctx, record: dict[str, Any]) -> Reply:
    """The object's bytes with the headers Cloud Storage sends (`X-Goog-Hash` among them)."""
    data = models.read_object(ctx.world, record["bucket"], record["name"])
    headers = {
        "X-Goog-Hash": f"crc32c={record['crc32c']},md5={record['md5Hash']}",
        "X-Goog-Generation": record["generation"],
        "X-Goog-Metageneration": record["metageneration"],
        "X-Goog-Stored-Content-Length": record["size"],
        "X-Goog-Stored-Content-Encoding": record.get("contentEncoding", "identity"),
        "ETag": models.render_object(record, ctx.base_url)["etag"],
    }
    if record.get("contentEncoding"):
        headers["Content-Encoding"] = record["contentEncoding"]
    content_type = record.get("contentType", "application/octet-stream")
    wanted = ctx.request.headers.get("Range", "")
    if wanted.startswith("bytes=") and data:
        first, _, last = wanted.removeprefix("bytes=").split(",")[0].partition("-")
        try:
            if first:
                start, end = int(first), int(last) if last else len(data) - 1
            else:
                start, end = max(len(data) - int(last), 0), len(data) - 1
        except ValueError:
            start, end = 0, len(data) - 1
        if start >= len(data):
            raise error(416, "Requested range not satisfiable", "requestedRangeNotSatisfiable")
        end = min(end, len(data) - 1)
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Reply(206, data[start : end + 1], content_type, headers)
    return Reply(200, data, content_type, headers)


def patch_object(ctx: Ctx) -> dict[str, Any]:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    record = models.require_object(
        ctx.world, bucket["name"], ctx.params["object"], ctx.query.get("generation")
    )
    models.check_generation(record, ctx.query)
    return models.render_object(models.patch_object(ctx.world, record, ctx.json()), ctx.base_url)


def delete_object(ctx: Ctx) -> Reply:
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    record = models.require_object(
        ctx.world, bucket["name"], ctx.params["object"], ctx.query.get("generation")
    )
    models.check_generation(record, ctx.query)
    models.delete_object(ctx.world, bucket["name"], record["name"])
    return Reply(204)


def insert_object_metadata(ctx: Ctx) -> dict[str, Any]:
    """`POST /storage/v1/b/{bucket}/o`: Cloud Storage creates objects only through the upload
    paths, so this metadata-only form of `objects.insert` (which google-api-python-client sends
    when given a body and no media) is refused as Google refuses it."""
    del ctx
    raise wrong_url_for_upload()


def wrong_url_for_upload() -> ApiError:
    """Google's 400 for an upload request outside `/upload/...` or without an `uploadType`
    (reason `wrongUrlForUpload`, storage.v1.json's `objects.insert` `mediaUpload` paths)."""
    return error(
        400,
        "Upload requests must include an uploadType URL parameter and a URL path beginning "
        "with /upload/",
        "wrongUrlForUpload",
    )


def upload(ctx: Ctx) -> Any:
    """`objects.insert` with media: `uploadType=media`, `multipart` or `resumable` (initiate)."""
    bucket = models.require_bucket(ctx.world, ctx.params["bucket"])
    upload_type = ctx.query.get("uploadType", "")
    content_type = ctx.request.headers.get("Content-Type", "")
    if upload_type == "media":
        name = ctx.query.get("name")
        metadata = {"contentType": content_type or None}
        record = models.write_object(
            ctx.world, bucket, name, ctx.request.get_data(), metadata, ctx.query
        )
        return models.render_object(record, ctx.base_url)
    if upload_type == "multipart":
        parts = multipart.parse(ctx.request.get_data(), content_type)
        if len(parts) != 2:
            raise error(400, "Multipart upload must have exactly two parts.", "invalid")
        (_, meta_bytes), (data_headers, data) = parts
        try:
            metadata = json.loads(meta_bytes or b"{}")
        except ValueError:
            raise error(400, "Metadata part is not valid JSON.", "parseError") from None
        if not isinstance(metadata, dict):
            raise error(400, "Metadata part must be a JSON object.", "invalid")
        metadata.setdefault("contentType", data_headers.get("content-type"))
        name = metadata.get("name") or ctx.query.get("name")
        record = models.write_object(ctx.world, bucket, name, data, metadata, ctx.query)
        return models.render_object(record, ctx.base_url)
    if upload_type == "resumable":
        metadata = ctx.json()
        name = models.check_object_name(metadata.get("name") or ctx.query.get("name"))
        models.check_generation(models.find_object(ctx.world, bucket["name"], name), ctx.query)
        announced = ctx.request.headers.get("X-Upload-Content-Type")
        if announced and not metadata.get("contentType"):
            metadata["contentType"] = announced
        upload_id = models.start_upload(ctx.world, bucket["name"], name, metadata, ctx.query)
        location = (
            f"{ctx.base_url}/upload/storage/v1/b/{bucket['name']}/o"
            f"?uploadType=resumable&upload_id={upload_id}"
        )
        return Reply(
            200, b"", "text/plain", {"Location": location, "X-GUploader-UploadID": upload_id}
        )
    raise error(
        400,
        "Upload requests must include an uploadType URL parameter and a URL path beginning "
        "with /upload/",
        "invalidParameter",
    )


def resumable_put(ctx: Ctx) -> Any:
    """A chunk (or the status query) of a resumable upload session."""
    upload_id = ctx.query.get("upload_id", "")
    session = models.find_upload(ctx.world, upload_id)
    if session is None or session["bucket"] != ctx.params["bucket"]:
        raise error(404, "No such upload session.", "notFound")
    data = ctx.request.get_data()
    first, last, total = _content_range(ctx.request.headers.get("Content-Range", ""), len(data))
    received = int(session["size"])
    if first is not None:
        if first > received:
            raise error(400, f"Invalid request. Expected byte {received}, got {first}.", "invalid")
        skip = received - first
        if skip < len(data):
            models.append_upload(ctx.world, upload_id, session, data[skip:])
        received = int(session["size"])
        if last is not None and last + 1 != first + len(data):
            raise error(400, "Content-Range does not match the request body length.", "invalid")
    if total is not None and received >= total:
        if received > total:
            raise error(400, "More bytes were sent than announced.", "invalid")
        body = models.upload_bytes(ctx.world, upload_id)
        sent_hash = ctx.request.headers.get("X-Goog-Hash", "")
        metadata = dict(session["metadata"])
        for item in sent_hash.split(","):
            kind, _, value = item.strip().partition("=")
            if kind == "crc32c" and value:
                metadata["crc32c"] = value
            elif kind == "md5" and value:
                metadata["md5Hash"] = value
        bucket = models.require_bucket(ctx.world, session["bucket"])
        record = models.write_object(
            ctx.world, bucket, session["name"], body, metadata, session["preconditions"]
        )
        models.end_upload(ctx.world, upload_id)
        return models.render_object(record, ctx.base_url)
    headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
    return Reply(308, b"", "text/plain", headers)


def _content_range(header: str, length: int) -> tuple[int | None, int | None, int | None]:
    """Parse `bytes a-b/total`, `bytes */total`, `bytes a-b/*` (no header: one final chunk)."""
    if not header:
        return 0, (length - 1 if length else None), length
    spec = header.strip().removeprefix("bytes").strip()
    span, _, total_text = spec.partition("/")
    total = None if total_text in ("", "*") else int(total_text)
    if span == "*":
        return None, None, total
    first_text, _, last_text = span.partition("-")
    try:
        return int(first_text), int(last_text), total
    except ValueError:
        raise error(400, f"Invalid Content-Range: {header}", "invalid") from None


# ----- routing


def routes() -> list[Route]:
    bucket = f"{JSON_BASE}/{{bucket}}"
    obj = f"{bucket}/o/{{object=**}}"

    def route(method: str, template: str, handler: Callable[[Ctx], Any], method_id: str) -> Route:
        mutating = method in ("POST", "PUT", "PATCH", "DELETE")
        return Route(method, template, handler, "storage", method_id, mutating, dialect="storage")

    def not_emulated(method: str, template: str, method_id: str) -> Route:
        return route(method, template, NotEmulated(f"storage.{method_id}"), method_id)

    # An object's sub-resources (storage.v1.json) come before the object itself, whose
    # `{object=**}` would take `NAME/acl` for an object name (clients send a `/` inside a
    # name as %2F, so a name never ends in a literal `/acl`).
    acl = f"{obj}/acl"
    sub_resources = [
        not_emulated("GET", acl, "objectAccessControls.list"),
        not_emulated("POST", acl, "objectAccessControls.insert"),
        not_emulated("GET", f"{acl}/{{entity}}", "objectAccessControls.get"),
        not_emulated("PATCH", f"{acl}/{{entity}}", "objectAccessControls.patch"),
        not_emulated("PUT", f"{acl}/{{entity}}", "objectAccessControls.update"),
        not_emulated("DELETE", f"{acl}/{{entity}}", "objectAccessControls.delete"),
        route(
            "GET",
            f"{obj}/iam/testPermissions",
            test_object_permissions,
            "objects.testIamPermissions",
        ),
        not_emulated("GET", f"{obj}/iam", "objects.getIamPolicy"),
        not_emulated("PUT", f"{obj}/iam", "objects.setIamPolicy"),
        not_emulated("POST", f"{obj}/restore", "objects.restore"),
        not_emulated("GET", f"{obj}/viewFullContext", "objects.viewFullContext"),
    ]
    uploads: list[Route] = []
    for prefix in ("/upload", "/resumable/upload"):
        path = f"{prefix}/storage/v1/b/{{bucket}}/o"
        uploads.append(route("POST", path, upload, "objects.insert"))
        uploads.append(route("PUT", path, resumable_put, "objects.insert"))
    return [
        route("GET", JSON_BASE, list_buckets, "buckets.list"),
        route("POST", JSON_BASE, insert_bucket, "buckets.insert"),
        route("GET", bucket, get_bucket, "buckets.get"),
        route("PATCH", bucket, _patcher(replace=False), "buckets.patch"),
        route("PUT", bucket, _patcher(replace=True), "buckets.update"),
        route("DELETE", bucket, delete_bucket, "buckets.delete"),
        route("GET", f"{bucket}/iam", get_bucket_iam, "buckets.getIamPolicy"),
        route("PUT", f"{bucket}/iam", set_bucket_iam, "buckets.setIamPolicy"),
        route(
            "GET",
            f"{bucket}/iam/testPermissions",
            test_bucket_permissions,
            "buckets.testIamPermissions",
        ),
        route("GET", f"{bucket}/o", list_objects, "objects.list"),
        route("POST", f"{bucket}/o", insert_object_metadata, "objects.insert"),
        *sub_resources,
        route("GET", obj, get_object, "objects.get"),
        route("PATCH", obj, patch_object, "objects.patch"),
        not_emulated("PUT", obj, "objects.update"),
        route("DELETE", obj, delete_object, "objects.delete"),
        route(
            "GET",
            "/download/storage/v1/b/{bucket}/o/{object=**}",
            download_object,
            "objects.get",
        ),
        *uploads,
    ]
