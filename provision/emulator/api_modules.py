"""The emulated APIs, in routing order. Each package exposes `routes(world) -> list[Route]`."""

from __future__ import annotations

from types import ModuleType

from provision.emulator.dicomweb import routes as dicomweb

MODULES: list[ModuleType] = [dicomweb]
