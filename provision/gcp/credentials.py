"""Which Google endpoint to talk to and with which identity.

Application Default Credentials by default; a service-account key file with `credentials_file`;
service-account impersonation with `impersonate`; anonymous credentials only when an endpoint
(emulator or proxy) is given and nothing else is. Tokens stay inside the credential objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.errors import ProvisionError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ADC_VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS"


class CredentialsError(ProvisionError):
    """No usable credentials; the message says how to provide them."""


@dataclass(frozen=True)
class Target:
    """Where requests go and who makes them."""

    endpoint: str | None = None
    """Base URL of an emulator or proxy serving Google's paths; None for real Google."""
    credentials_file: Path | None = None
    impersonate: str | None = None
    label: str = ""
    """How to describe this target to the user (e.g. "emulator at http://...")."""

    def describe(self) -> str:
        if self.label:
            return self.label
        return f"endpoint {self.endpoint}" if self.endpoint else "Google Cloud"

    @property
    def anonymous(self) -> bool:
        return self.endpoint is not None and not self.credentials_file and not self.impersonate


@dataclass(frozen=True)
class Identity:
    credentials: Any
    """A google.auth Credentials object."""
    email: str | None
    """The caller's e-mail when it can be known without a network call (key file, impersonation)."""

    @property
    def member(self) -> str | None:
        """The caller as an IAM member (`serviceAccount:` or `user:`), when known."""
        if not self.email:
            return None
        kind = "serviceAccount" if self.email.endswith(".gserviceaccount.com") else "user"
        return f"{kind}:{self.email}"


def resolve_identity(target: Target) -> Identity:
    """Build the credentials for `target` (no network call; tokens are fetched on first use)."""
    import google.auth
    import google.auth.exceptions
    from google.auth import credentials as auth_credentials
    from google.auth import impersonated_credentials
    from google.oauth2 import service_account

    if target.anonymous:
        return Identity(auth_credentials.AnonymousCredentials(), None)  # type: ignore[no-untyped-call]
    email: str | None = None
    try:
        if target.credentials_file is not None:
            path = target.credentials_file
            _check_regular(path, "credentials file")
            source: Any = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(path), scopes=[CLOUD_PLATFORM_SCOPE]
            )
            email = source.service_account_email
        else:
            named = os.environ.get(ADC_VARIABLE)
            if named:
                _check_regular(Path(named), f"the credentials file {ADC_VARIABLE} names,")
            source, _project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
            email = getattr(source, "service_account_email", None)
            if not isinstance(email, str) or "@" not in email:
                email = None
    except google.auth.exceptions.DefaultCredentialsError as error:
        # MalformedError is a DefaultCredentialsError too: a named key file is blamed by name
        if target.credentials_file is None:
            raise _default_credentials_error(error) from None
        raise _malformed(target.credentials_file, error) from None
    except ValueError as error:
        named_file = target.credentials_file or Path(os.environ.get(ADC_VARIABLE, "") or "?")
        raise _malformed(named_file, error) from None
    if target.endpoint is not None:
        _no_calls_outside_the_endpoint(source)
    if target.impersonate:
        impersonated = impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
            source_credentials=source,
            target_principal=target.impersonate,
            target_scopes=[CLOUD_PLATFORM_SCOPE],
            lifetime=3600,
        )
        return Identity(impersonated, target.impersonate)
    return Identity(source, email)


def _malformed(path: Path, error: Exception) -> CredentialsError:
    return CredentialsError(
        f"credentials file {path} is malformed: {error}; it needs a service-account key (JSON) "
        "as Google issues it"
    )


def _check_regular(path: Path, what: str) -> None:
    """Refuse a missing file, or anything but a regular file (a FIFO would block reading)."""
    if not path.exists():
        raise CredentialsError(f"{what} {path} not found")
    if not path.is_file():
        raise CredentialsError(f"{what} {path} is not a regular file")


def _default_credentials_error(error: Exception) -> CredentialsError:
    """No credentials at all, or credentials that are there but cannot be used (malformed)."""
    text = str(error.args[0]) if error.args else str(error)
    if text.startswith("Your default credentials were not found"):
        return CredentialsError(
            "no Google credentials found: run `gcloud auth application-default login`, "
            "pass --credentials KEY_FILE, or use --emulator to run offline"
        )
    causes = [str(a) for a in error.args[1:] if str(a)]
    detail = text.rstrip(".") + (f" ({'; '.join(causes)})" if causes else "")
    named = os.environ.get(ADC_VARIABLE)
    source = f"{ADC_VARIABLE}={named}" if named else "the application default credentials"
    problem = "missing credentials" if "not found" in text else "malformed credentials"
    return CredentialsError(
        f"{problem} from {source}: {detail}; fix or replace that file "
        "(`gcloud auth application-default login` writes a new one)"
    )


def _no_calls_outside_the_endpoint(credentials: Any) -> None:
    """Keep google-auth from calling Google on its own when requests go to an endpoint.

    After each token refresh, google-auth (2.4x and later) looks up the account's "regional
    access boundary" at iamcredentials.googleapis.com on a background thread, sending the access
    token along. Against an emulator or proxy that is a request to real Google with a token it
    did not mint; no public switch exists, so the lookup is turned off on this object.
    """
    if hasattr(credentials, "_maybe_start_regional_access_boundary_refresh"):
        credentials._maybe_start_regional_access_boundary_refresh = lambda request, url: None
