import subprocess
import sys


def test_help_lists_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provision.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "version" in result.stdout
