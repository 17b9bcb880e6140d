"""Google's discovery documents for the APIs the emulator serves: their methods and schemas.

The documents are the ones bundled with google-api-python-client (the same files the tool's
clients are built from), so what the emulator checks requests and answers against is what Google
publishes about itself. Each emulator route names its API and discovery method id; its version is
the first `v1`-style segment of its path template.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

Schema = Mapping[str, Any]

_VERSION = re.compile(r"/(v\d+(?:(?:alpha|beta|p\d+beta)\d*)?)(?=/|$)")


def documents_dir() -> Path:
    """Where google-api-python-client keeps its bundled discovery documents."""
    spec = importlib.util.find_spec("googleapiclient")
    if spec is None or spec.origin is None:
        raise RuntimeError("google-api-python-client is not installed")
    return Path(spec.origin).parent / "discovery_cache" / "documents"


def version_of(template: str) -> str | None:
    """The API version in a route's path template (`/storage/v1/b` -> `v1`), if any."""
    match = _VERSION.search(template)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Method:
    """One discovery method, with what the gate needs of it."""

    id: str
    http_method: str
    path: str
    """The REST path template under the API's root, e.g. `/storage/v1/b/{bucket}/o` (the
    document's `flatPath` where it has one: one segment per parameter)."""
    template: str
    """The document's `path`, where `{+name}` stands for a multi-segment resource name."""
    parameters: Mapping[str, Schema]
    request: str | None
    """The request body's schema name, if the method takes one."""
    response: str | None
    upload_paths: tuple[str, ...]
    """Media upload path templates (`mediaUpload.protocols.*.path`); empty unless it takes media."""
    upload_protocols: tuple[str, ...]
    download_path: str | None = None
    """Where media downloads go (`useMediaDownloadService`: `/download` + the path)."""

    @property
    def passthrough(self) -> bool:
        """True for methods whose body is raw bytes (`HttpBody`), e.g. DICOMweb: their query
        string is the wrapped protocol's (QIDO-RS search keys), not the API's parameters."""
        return "HttpBody" in (self.request, self.response)


@dataclass(frozen=True)
class Document:
    api: str
    version: str
    revision: str
    root: dict[str, Any]
    methods: Mapping[str, Method]
    """By full method id (`storage.objects.insert`)."""

    @property
    def schemas(self) -> Mapping[str, Schema]:
        schemas: Mapping[str, Schema] = self.root.get("schemas", {})
        return schemas

    @property
    def global_parameters(self) -> Mapping[str, Schema]:
        parameters: Mapping[str, Schema] = self.root.get("parameters", {})
        return parameters

    @property
    def service_path(self) -> str:
        return "/" + str(self.root.get("servicePath", "")).lstrip("/")


def walk_methods(resources: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every method description under `resources`, depth first."""
    for resource in resources.values():
        yield from resource.get("methods", {}).values()
        yield from walk_methods(resource.get("resources", {}))


@cache
def document(api: str, version: str) -> Document | None:
    """The bundled discovery document of `api` `version`, or None when there is none."""
    path = documents_dir() / f"{api}.{version}.json"
    if not path.is_file():
        return None
    root = json.loads(path.read_text(encoding="utf-8"))
    service_path = "/" + str(root.get("servicePath", "")).lstrip("/")
    methods: dict[str, Method] = {}
    for raw in walk_methods(root.get("resources", {})):
        protocols = raw.get("mediaUpload", {}).get("protocols", {})
        methods[raw["id"]] = Method(
            id=raw["id"],
            http_method=raw["httpMethod"],
            path=service_path + raw.get("flatPath", raw["path"]),
            template=service_path + raw["path"],
            parameters=raw.get("parameters", {}),
            request=(raw.get("request") or {}).get("$ref"),
            response=(raw.get("response") or {}).get("$ref"),
            upload_paths=tuple(p["path"] for p in protocols.values() if "path" in p),
            upload_protocols=tuple(protocols),
            download_path=(
                "/download" + service_path + raw.get("flatPath", raw["path"])
                if raw.get("useMediaDownloadService")
                else None
            ),
        )
    return Document(api, version, str(root.get("revision", "")), root, methods)
