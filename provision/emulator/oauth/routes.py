"""`POST /token`: the OAuth 2.0 token endpoint a service-account key file names as `token_uri`.

A client holding a key file signs a JWT assertion and exchanges it here for an access token
(RFC 7523 `jwt-bearer` grant), as it would at `https://oauth2.googleapis.com/token`; user
credentials (`authorized_user`, as `gcloud auth application-default login` writes) use the
`refresh_token` grant. Signatures and refresh tokens are not checked. The access token carries
the assertion's key id (`kid`) or the client id, so a test whose key id or client id is a unique
marker can look for leaked tokens by that marker.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from provision.emulator.core.routing import Ctx, Reply, Route

API = "oauth2"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def token(ctx: Ctx) -> Reply:
    form = ctx.request.form
    grant = form.get("grant_type")
    if grant == JWT_BEARER:
        marker = _key_id(form.get("assertion", ""))
        if marker is None:
            return _error("invalid_grant", "Invalid JWT assertion.")
    elif grant == "refresh_token":
        marker = form.get("client_id", "")
        if not form.get("refresh_token") or not marker.isprintable():
            return _error("invalid_grant", "Bad Request")
    else:
        return _error("unsupported_grant_type", "Invalid grant_type.")
    access_token = f"ya29.emulated.{marker}.{ctx.world.ids.hex(16)}"
    return Reply(200, {"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"})


def _key_id(assertion: str) -> str | None:
    """The `kid` of a compact JWS's header, or None when it is not a JWT with one."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    encoded = parts[0] + "=" * (-len(parts[0]) % 4)
    try:
        header: Any = json.loads(base64.urlsafe_b64decode(encoded))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict):
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) and kid.isprintable() else None


def _error(code: str, description: str) -> Reply:
    """OAuth's own error shape (RFC 6749 §5.2), not Google's API envelope."""
    return Reply(400, {"error": code, "error_description": description})


def routes() -> list[Route]:
    return [Route("POST", "/token", token, API, "token", False)]
