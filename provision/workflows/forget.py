"""`forget`: stop a blueprint's plans mentioning objects it no longer declares.

Adds addresses to the blueprint's `forget` list (a plan then leaves those objects out instead
of showing them as `forget` on every run; they are left as they are). The file is edited as
text: the entries go under an existing block-style `forget:` key, or into a new one at the
end, so comments and layout stay; the file is replaced only when the edited text still loads.
Nothing is read from or written to Google.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.errors import BlueprintError, ProvisionError
from provision.files import BLUEPRINT_LIMIT, read_regular, replace_regular, shown
from provision.model import Address

_FORGET_KEY = re.compile(r"^forget:[ \t]*(#.*)?$")
_ITEM = re.compile(r"^([ \t]*)- ")


def forget(blueprint: Path, addresses: Sequence[str]) -> list[str]:
    """Add `addresses` (`KIND:NAME`) to the blueprint's `forget` list; the ones added (those
    listed already are skipped). ProvisionError for an address the blueprint declares, or a
    blueprint whose `forget` is not a block list this can extend."""
    loaded = load(blueprint)
    declared = {str(r.address) for r in expand(loaded)}
    for text in addresses:
        try:
            Address.parse(text)
        except ValueError as error:
            raise ProvisionError(str(error)) from None
        if text in declared:
            raise ProvisionError(
                f"{text} is declared in {blueprint}; forget is for objects it no longer declares"
            )
    new = [a for a in dict.fromkeys(addresses) if a not in loaded.blueprint.forget]
    if not new:
        return []
    text = read_regular(blueprint, BLUEPRINT_LIMIT, "blueprint").decode("utf-8")
    edited = _with_entries(text, new, bool(loaded.blueprint.forget))
    _check_loads(blueprint, edited)
    replace_regular(blueprint, edited)
    return new


def _check_loads(blueprint: Path, text: str) -> None:
    """ProvisionError, the blueprint left as it is, when `text` in its place would not load
    (it is loaded from a temporary file beside it, so `sites.include` resolves the same)."""
    fd, name = tempfile.mkstemp(dir=blueprint.parent, prefix=f".{blueprint.stem}.", suffix=".yaml")
    check = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        load(check)
    except BlueprintError as error:
        reason = str(error).replace(shown(check), shown(blueprint))
        raise ProvisionError(
            f"{blueprint} is left as it was: with the new forget entries it would not load: "
            f"{reason}"
        ) from None
    finally:
        check.unlink(missing_ok=True)


def _with_entries(text: str, new: Sequence[str], listed: bool) -> str:
    """`text` with `new` appended to its block-style `forget:` list (or a new one at the end)."""
    lines = text.split("\n")
    at = next((i for i, line in enumerate(lines) if _FORGET_KEY.match(line)), None)
    if at is None and not listed:
        return text.rstrip("\n") + "\nforget:\n" + "".join(f"  - {a}\n" for a in new)
    end, indent = (at or 0) + 1, "  "
    while at is not None and end < len(lines) and (item := _ITEM.match(lines[end])):
        indent, end = item.group(1), end + 1
    if at is None or (listed and end == at + 1):
        raise ProvisionError("the blueprint's `forget` is not a block list; add them by hand")
    lines[end:end] = [f"{indent}- {a}" for a in new]
    return "\n".join(lines)
