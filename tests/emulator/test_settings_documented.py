"""Every emulator setting is documented in the README's emulator section."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from provision.emulator.core.settings import EmulatorSettings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The emulator", 1)[1].split("\n## ", 1)[0]
    missing = [f.name for f in fields(EmulatorSettings) if f"`{f.name}`" not in section]
    assert missing == [], f"README's emulator section does not mention: {missing}"
