"""The emulated APIs, in routing order. Each package exposes `routes(world) -> list[Route]`."""

from __future__ import annotations

from types import ModuleType

from provision.emulator.dicomweb import routes as dicomweb
from provision.emulator.healthcare import routes as healthcare
from provision.emulator.storage import routes as storage

MODULES: list[ModuleType] = [dicomweb, healthcare, storage]
