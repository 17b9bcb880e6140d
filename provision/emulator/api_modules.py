"""The emulated APIs, in routing order. Each package exposes `routes(world) -> list[Route]`."""

from __future__ import annotations

from types import ModuleType

MODULES: list[ModuleType] = []
