"""`DicomFilterConfig.resourcePathsGcsUri`: a Cloud Storage object listing the studies, series
or instances an operation applies to, one `/studies/{study}[/series/{series}[/instances/{sop}]]`
per line (`\\n` or `\\r\\n`), read as the Cloud Healthcare Service Agent (which needs
`roles/storage.objectViewer` on it, as for imports).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from provision.emulator.core.errors import invalid_argument
from provision.emulator.core.world import World
from provision.emulator.healthcare import models
from provision.emulator.storage import models as storage

PATH = re.compile(r"^/studies/([^/]+)(?:/series/([^/]+)(?:/instances/([^/]+))?)?$")

Selector = Callable[[dict[str, Any]], bool]
"""Whether an instance record (from `dicomweb.instances.find`) is selected."""


def everything(record: dict[str, Any]) -> bool:
    del record
    return True


def read(world: World, project: dict[str, Any], uri: Any) -> tuple[Selector, dict[str, Any] | None]:
    """The selector the file at `uri` describes, or (nothing, rpc error) when the agent cannot
    read it; a malformed URI or line is a 400."""
    bucket_name, _, object_name = str(uri).removeprefix("gs://").partition("/")
    if not str(uri).startswith("gs://") or not bucket_name or not object_name:
        raise invalid_argument(f'Invalid resourcePathsGcsUri "{uri}": expected gs://bucket/object.')
    bucket = storage.find_bucket(world, bucket_name)
    agent = world.service_agent_email(project["number"], models.SERVICE)
    member = f"serviceAccount:{agent}"
    if bucket is None or not storage.member_can_read_objects(world, bucket, member):
        return everything, {"code": 7, "message": models.STORAGE_PERMISSION_MESSAGE}
    if storage.find_object(world, bucket_name, object_name) is None:
        return everything, {"code": 5, "message": f"No file found at {uri}."}
    text = storage.read_object(world, bucket_name, object_name).decode("utf-8", "replace")
    wanted = []
    for line in text.splitlines():
        if not line.strip():
            continue
        found = PATH.match(line.strip())
        if found is None:
            raise invalid_argument(f'Invalid resource path "{line.strip()}" in {uri}.')
        wanted.append((found[1], found[2], found[3]))

    def selected(record: dict[str, Any]) -> bool:
        return any(
            record["study"] == study
            and series in (None, record["series"])
            and sop in (None, record["sop"])
            for study, series, sop in wanted
        )

    return selected, None
