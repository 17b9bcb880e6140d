"""Write docs/emulator-coverage.md: which methods of each emulated Google API the emulator serves.

Usage: .venv/bin/python scripts/emulator_coverage.py [OUTPUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

from provision.emulator.coverage import write_page

DEFAULT = Path(__file__).resolve().parent.parent / "docs" / "emulator-coverage.md"

if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    write_page(target)
    print(f"wrote {target}")
