"""Entry point of the `provision` console script."""

from __future__ import annotations

import sys

from provision.cli.lazy_imports import defer_rich_extras, skip_pydantic_plugins

defer_rich_extras()
skip_pydantic_plugins()

from provision.cli import commands  # noqa: E402, F401  (registers every command on the app)
from provision.cli.app import app  # noqa: E402
from provision.errors import ProvisionError  # noqa: E402


def run() -> None:
    """Run the CLI; a `ProvisionError` becomes a plain message on stderr and its exit code."""
    try:
        app()
    except ProvisionError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
