"""Credentials that are there but cannot be used are reported as such, with the file's name;
"no credentials found" is only for when there are none."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from provision.gcp.credentials import CredentialsError, Target, resolve_identity
from tests.unit.blocking import finishes


@pytest.fixture
def no_gcloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No gcloud configuration and no metadata server to fall back on."""
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not a valid json file"),
        ("", "is not a valid json file"),
        (json.dumps({"type": "service_account"}), "missing fields"),
        (json.dumps({"type": "weird"}), "does not have a valid type"),
    ],
)
def test_a_malformed_adc_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_gcloud: None, content: str, expected: str
) -> None:
    key = tmp_path / "key.json"
    key.write_text(content)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    with pytest.raises(CredentialsError) as raised:
        resolve_identity(Target())
    message = str(raised.value)
    assert message.startswith(f"malformed credentials from GOOGLE_APPLICATION_CREDENTIALS={key}")
    assert expected in message
    assert "no Google credentials found" not in message


def test_a_fifo_named_by_the_variable_is_refused_without_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_gcloud: None
) -> None:
    fifo = tmp_path / "key.json"
    os.mkfifo(fifo)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(fifo))

    def resolve() -> None:
        with pytest.raises(CredentialsError, match="is not a regular file"):
            resolve_identity(Target())

    finishes(resolve)


@pytest.mark.parametrize("text", ["{not json", '{"type": "service_account"}'])
def test_a_malformed_credentials_option_is_named(tmp_path: Path, text: str) -> None:
    key = tmp_path / "key.json"
    key.write_text(text)
    with pytest.raises(CredentialsError, match=f"credentials file {key} is malformed"):
        resolve_identity(Target(credentials_file=key))
