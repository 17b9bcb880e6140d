"""BigQuery v2 over HTTP, a minimal surface: datasets (insert, get, list, patch, update,
delete), tables (insert, get, list) and `tabledata.list`, under `/bigquery/v2/projects/...`.

Every call first requires `bigquery.googleapis.com` enabled on the project (it is on a new
project), as Google does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provision.emulator.bigquery import models
from provision.emulator.bigquery.models import SERVICE
from provision.emulator.core import paging
from provision.emulator.core.routing import Ctx, Reply, Route

DATASETS = "/bigquery/v2/projects/{project}/datasets"
DATASET = f"{DATASETS}/{{dataset}}"
TABLES = f"{DATASET}/tables"
TABLE = f"{TABLES}/{{table}}"


def _project_id(ctx: Ctx) -> str:
    project = ctx.world.require_service(ctx.params["project"], SERVICE, domain=SERVICE)
    return str(project["projectId"])


def _dataset(ctx: Ctx) -> dict[str, Any]:
    return models.require_dataset(ctx.world, _project_id(ctx), ctx.params["dataset"])


def _table(ctx: Ctx) -> dict[str, Any]:
    return models.require_table(
        ctx.world, _project_id(ctx), ctx.params["dataset"], ctx.params["table"]
    )


def _page(ctx: Ctx, items: list[Any], default: int) -> tuple[list[Any], str | None]:
    size = paging.page_size(ctx.query.get("maxResults"), default=default, maximum=10000)
    scope = f"{ctx.request.path}?{ctx.query.get('filter', '')}"
    return paging.paginate(items, size=size, token=ctx.query.get("pageToken"), scope=scope)


def _etag(ctx: Ctx) -> str:
    return models.base64_etag(ctx.world)


# ----- datasets


def insert_dataset(ctx: Ctx) -> dict[str, Any]:
    record = models.insert_dataset(ctx.world, _project_id(ctx), ctx.json())
    return models.render_dataset(record, ctx.base_url, full=False)


def _version(ctx: Ctx) -> int:
    return models.access_policy_version(ctx.query.get("accessPolicyVersion"))


def get_dataset(ctx: Ctx) -> dict[str, Any]:
    version = _version(ctx)
    return models.render_dataset(_dataset(ctx), ctx.base_url, full=True, version=version)


def list_datasets(ctx: Ctx) -> dict[str, Any]:
    datasets = [
        models.render_listed_dataset(d) for d in models.list_datasets(ctx.world, _project_id(ctx))
    ]
    page, token = _page(ctx, datasets, 50)
    answer: dict[str, Any] = {"kind": "bigquery#datasetList", "etag": _etag(ctx)}
    if page:
        answer["datasets"] = page
    if token:
        answer["nextPageToken"] = token
    return answer


def _write_dataset(ctx: Ctx, *, replace: bool) -> dict[str, Any]:
    """`datasets.patch` or `datasets.update`: only if an `If-Match` header names the dataset's
    etag; conditional access entries need `accessPolicyVersion=3`."""
    dataset, body, version = _dataset(ctx), ctx.json(), _version(ctx)
    models.check_if_match(dataset, ctx.request.headers.get("If-Match"))
    models.check_access_write(dataset, body, version)
    record = models.update_dataset(ctx.world, dataset, body, replace=replace)
    return models.render_dataset(record, ctx.base_url, full=False, version=version)


def patch_dataset(ctx: Ctx) -> dict[str, Any]:
    return _write_dataset(ctx, replace=False)


def update_dataset(ctx: Ctx) -> dict[str, Any]:
    return _write_dataset(ctx, replace=True)


def delete_dataset(ctx: Ctx) -> Reply:
    contents = ctx.query.get("deleteContents", "false").lower() == "true"
    models.delete_dataset(ctx.world, _dataset(ctx), contents=contents)
    return Reply(204)


# ----- tables


def insert_table(ctx: Ctx) -> dict[str, Any]:
    record = models.insert_table(ctx.world, _dataset(ctx), ctx.json())
    return models.render_table(ctx.world, record, ctx.base_url)


def get_table(ctx: Ctx) -> dict[str, Any]:
    return models.render_table(ctx.world, _table(ctx), ctx.base_url)


def list_tables(ctx: Ctx) -> dict[str, Any]:
    tables = [models.render_listed_table(t) for t in models.list_tables(ctx.world, _dataset(ctx))]
    page, token = _page(ctx, tables, 50)
    answer: dict[str, Any] = {"kind": "bigquery#tableList", "etag": _etag(ctx)}
    if page:
        answer["tables"] = page
    if token:
        answer["nextPageToken"] = token
    answer["totalItems"] = len(tables)
    return answer


def list_rows(ctx: Ctx) -> dict[str, Any]:
    """`tabledata.list`: rows in the order they were streamed (`startIndex` or a page token)."""
    table = _table(ctx)
    stored = models.rows(ctx.world, table)
    start = int(ctx.query.get("startIndex") or 0)
    page, token = _page(ctx, stored[start:], 100000)
    answer: dict[str, Any] = {
        "kind": "bigquery#tableDataList",
        "etag": _etag(ctx),
        "totalRows": str(len(stored)),
    }
    if page:
        answer["rows"] = models.render_rows(table, page)
    if token:
        answer["pageToken"] = token
    return answer


def routes() -> list[Route]:

    def route(method: str, template: str, handler: Callable[[Ctx], Any], method_id: str) -> Route:
        return Route(method, template, handler, "bigquery", method_id, method != "GET")

    return [
        route("POST", DATASETS, insert_dataset, "datasets.insert"),
        route("GET", DATASETS, list_datasets, "datasets.list"),
        route("GET", DATASET, get_dataset, "datasets.get"),
        route("PATCH", DATASET, patch_dataset, "datasets.patch"),
        route("PUT", DATASET, update_dataset, "datasets.update"),
        route("DELETE", DATASET, delete_dataset, "datasets.delete"),
        route("POST", TABLES, insert_table, "tables.insert"),
        route("GET", TABLES, list_tables, "tables.list"),
        route("GET", TABLE, get_table, "tables.get"),
        route("GET", f"{TABLE}/data", list_rows, "tabledata.list"),
    ]
