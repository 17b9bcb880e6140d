import subprocess
import sys
from pathlib import Path


def test_help_lists_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provision.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "version" in result.stdout


def _modules_after(*argv: str) -> set[str]:
    """The modules a fresh `provision ARGV` process has imported when it exits."""
    code = (
        "import sys\n"
        f"sys.argv = ['provision', *{list(argv)!r}]\n"
        "try:\n"
        "    from provision.cli.main import run; run()\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(' '.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(result.stderr.split())


def test_help_imports_no_heavy_modules() -> None:
    """`provision --help` stays quick: no Google client, grpc, pydantic, YAML, markdown
    renderer or syntax highlighter (typer only names rich's Markdown and Traceback)."""
    loaded = _modules_after("--help")
    heavy = {"googleapiclient", "google.cloud", "grpc", "pydantic", "yaml", "markdown_it"}
    heavy |= {"pygments", "httplib2", "provision.workflows", "provision.emulator"}
    assert "typer" in loaded
    assert heavy & loaded == set()


def test_validate_imports_no_google_client() -> None:
    """`provision validate` reads the blueprint only: no Google client library (nor grpc, which
    google-cloud-resource-manager brings: ~0.2 s and 39 MB), no emulator, no engine."""
    loaded = _modules_after("validate", str(Path(__file__).parents[2] / "blueprints/dev.yaml"))
    assert "provision.blueprint.loader" in loaded
    heavy = {"googleapiclient", "google.cloud", "grpc", "httplib2", "google.auth"}
    heavy |= {"provision.emulator", "provision.workflows.inspect", "provision.plan"}
    assert heavy & loaded == set()
