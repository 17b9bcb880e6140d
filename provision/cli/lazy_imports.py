"""Keep `provision --help` and quick commands from importing what they never use.

typer's help renderer (`typer.rich_utils`) imports `rich.markdown` (markdown-it) and
`rich.traceback` (pygments) only to name two classes that provision's help never needs: it uses
rich markup, not Markdown, and pretty exceptions are off. That is about a fifth of `provision
--help`. `defer_rich_extras()` registers stand-ins for the two modules; their classes import the
real module on first use, so anything that does use them still gets the real thing.

pydantic looks for plugins among every installed distribution's entry points on its first
model (an `importlib.metadata` scan); provision uses none, so `PYDANTIC_DISABLE_PLUGINS` is set
unless the environment sets it.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Any

DEFERRED = {"rich.markdown": ("Markdown",), "rich.traceback": ("Traceback",)}


def _real(module_name: str) -> types.ModuleType:
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "_provision_stand_in", False):
        sys.modules.pop(module_name, None)
        module = importlib.import_module(module_name)
    return module


class _StandIn(type):
    """A class whose every use (calls, attributes, isinstance) goes to the real one."""

    _module_name: str

    def _target(cls) -> Any:
        return getattr(_real(cls._module_name), cls.__name__)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._target()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(cls._target(), name)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls._target())


def defer_rich_extras() -> None:
    """Register the stand-in modules (nothing for a module already imported)."""
    for module_name, class_names in DEFERRED.items():
        if module_name in sys.modules:
            continue
        stand_in = types.ModuleType(module_name)
        stand_in._provision_stand_in = True  # type: ignore[attr-defined]
        for name in class_names:
            setattr(stand_in, name, _StandIn(name, (), {"_module_name": module_name}))

        def other(name: str, module_name: str = module_name) -> Any:
            if name.startswith("__"):  # the import system probing (`__path__`, ...)
                raise AttributeError(name)
            return getattr(_real(module_name), name)

        stand_in.__getattr__ = other  # type: ignore[method-assign]
        sys.modules[module_name] = stand_in


def skip_pydantic_plugins() -> None:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
