"""No credential material leaves memory: with a service-account key file whose key id and key
are unique markers, user credentials whose refresh token and client secret are markers, and
access tokens minted by the emulator's `/token` that carry the key id or client id,
none of them appears in any command's output (with the `--debug` request trace on), in log
records at any level, in plan files, generated viewer configs, other files the commands write,
or error messages.

The key is a real RSA key, so google-auth really signs a JWT assertion and exchanges it at the
key file's `token_uri` (the emulator), and every API request carries the minted bearer token.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from provision.emulator.server import RunningEmulator
from tests.e2e.cli import CliResult, run_cli
from tests.faults import harness


def fake_key_file(path: Path, token_uri: str, marker: str) -> list[str]:
    """Write a service-account key file; returns the strings that must never leak."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key_id = f"canary-key-id-{marker}"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": harness.PROJECT,
                "private_key_id": key_id,
                "private_key": pem,
                "client_email": f"provisioner@{harness.PROJECT}.iam.gserviceaccount.com",
                "client_id": "100000000000000000001",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": token_uri,
            }
        ),
        encoding="utf-8",
    )
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    # the key id (hence every access token the emulator mints) and every line of key material
    return [key_id, *body]


def fake_user_credentials(path: Path, token_uri: str, marker: str) -> list[str]:
    """Write user credentials as `gcloud auth application-default login` does (refresh token,
    client secret); returns the strings that must never leak."""
    client_id = f"canary-client-{marker}.apps.googleusercontent.com"
    secret, refresh = f"canary-secret-{marker}", f"canary-refresh-{marker}"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": client_id,
                "client_secret": secret,
                "refresh_token": refresh,
                "token_uri": token_uri,
            }
        ),
        encoding="utf-8",
    )
    # the client id is not secret, but every access token minted for it carries it
    return [f"ya29.emulated.{client_id}", secret, refresh]


def test_no_token_or_key_material_in_any_artifact(
    emulator: RunningEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness.reset(emulator)
    monkeypatch.chdir(tmp_path)  # whatever a command writes to its working directory lands here
    caplog.set_level(logging.DEBUG)
    secrets_dir = tmp_path.parent / f"{tmp_path.name}-secret"
    secrets_dir.mkdir()
    key_file = secrets_dir / "sa.json"
    marker = uuid.uuid4().hex
    canaries = fake_key_file(key_file, f"{emulator.base_url}/token", marker)
    user_file = secrets_dir / "application_default_credentials.json"
    canaries += fake_user_credentials(user_file, f"{emulator.base_url}/token", marker)
    blueprint = harness.copy_dev_blueprint(tmp_path)
    out = tmp_path / "out"
    out.mkdir()

    target = {"PROVISION_ENDPOINT": emulator.base_url}
    key = ("--credentials", str(key_file))
    results: list[CliResult] = []

    def run(*args: str | Path, env: dict[str, str] | None = None) -> CliResult:
        # every command with the debug trace on, the noisiest output the tool has
        result = run_cli("--debug", *args, env={**target, **(env or {})})
        results.append(result)
        return result

    plan_file = out / "plan.json"
    assert run("plan", blueprint, *key, "--out", plan_file).exit_code == 0
    assert run("plan", blueprint, *key, "--format", "json").exit_code == 0
    assert run("apply", plan_file, *key).exit_code == 0
    # Application Default Credentials from the same key file
    adc = {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    assert run("apply", blueprint, "--yes", env=adc).exit_code == 0
    assert run("plan", blueprint, "--format", "markdown", env=adc).exit_code == 0
    run("verify", blueprint, *key)
    # Application Default Credentials of a user (refresh token)
    user = {"GOOGLE_APPLICATION_CREDENTIALS": str(user_file)}
    assert run("plan", blueprint, "--detailed-exitcode", env=user).exit_code == 0
    assert run("apply", blueprint, "--yes", env=user).exit_code == 0
    # configs for real Google (config reads PROVISION_ENDPOINT like every command)
    google = {"PROVISION_ENDPOINT": ""}
    ohif = ("--out", out / "app-config.js")
    assert run("config", "ohif", blueprint, *ohif, env=google).exit_code == 0
    assert run("config", "oauth", blueprint).exit_code == 0
    orthanc = ("--credentials-file", str(key_file), "--out", out / "orthanc.json")
    assert run("config", "orthanc", blueprint, *orthanc, env=google).exit_code == 0

    # failures: a token endpoint that refuses, and a read answered 403
    harness.control(emulator, "settings", {"rules": [{"api": "oauth2", "status": 400, "times": 1}]})
    refused = run("plan", blueprint, *key)
    assert refused.exit_code != 0 and "access token" in refused.stderr, refused.output
    harness.control(
        emulator,
        "settings",
        {
            "rules": [
                {"api": "cloudresourcemanager", "method_id": "projects.getIamPolicy", "status": 403}
            ]
        },
    )
    denied = run("plan", blueprint, *key)
    assert denied.exit_code != 0, denied.output

    # the key file really was exchanged for tokens at the emulator
    exchanges = [e for e in harness.journal(emulator) if e["api"] == "oauth2"]
    assert len([e for e in exchanges if e["status"] == 200]) >= 2

    # ...and nothing else was asked for one (google-auth's regional access boundary lookup would
    # send the token to iamcredentials.googleapis.com, outside the endpoint)
    elsewhere = [r.getMessage() for r in caplog.records if "iamcredentials" in r.getMessage()]
    elsewhere += [r.name for r in caplog.records if "regional_access_boundary" in r.name]
    assert elsewhere == []

    # the trace was on: one line per request, and never a header
    trace = "\n".join(r.stderr for r in results)
    assert f"GET {emulator.base_url}/v3/projects/{harness.PROJECT}" in trace
    assert "-> 403" in trace and "Bearer" not in trace and "uthorization" not in trace

    artifacts = {f"output of run {n}": r.output for n, r in enumerate(results, 1)}
    artifacts["log records"] = "\n".join(
        f"{record.name} {record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            artifacts[str(path.relative_to(tmp_path))] = path.read_text("utf-8", "replace")
    assert plan_file.name in {Path(name).name for name in artifacts}
    found = [
        f"{where}: {canary[:24]}..."
        for where, text in artifacts.items()
        for canary in canaries
        if canary in text
    ]
    harness.FIGURES.add(secrets_found=len(found))
    assert found == [], "\n".join(found)
