"""Imports every command module so each registers itself on `provision.cli.app.app`.

Add one line per command module; keep the modules' top-level imports light.
"""

from __future__ import annotations

from provision.cli import (
    apply_cmd,  # noqa: F401
    config_cmd,  # noqa: F401
    destroy_cmd,  # noqa: F401
    emulator_cmd,  # noqa: F401
    export_cmd,  # noqa: F401
    forget_cmd,  # noqa: F401
    onboard_cmd,  # noqa: F401
    plan_cmd,  # noqa: F401
    schema_cmd,  # noqa: F401
    show_cmd,  # noqa: F401
    unlock_cmd,  # noqa: F401
    validate_cmd,  # noqa: F401
    verify_cmd,  # noqa: F401
    version_cmd,  # noqa: F401
    viewer_cmd,  # noqa: F401
)
