"""Google's error envelopes.

Two dialects exist on the wire: the ESF/"Cloud" style used by Resource Manager, Service Usage,
Billing, IAM and Healthcare (`code`, `message`, `status`, `details[]`, sometimes a legacy
`errors[]`), and the Cloud Storage JSON API style (`code`, `message`, `errors[]`, no `status`).
Handlers raise `ApiError`; the app renders it in the dialect of the route's API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Dialect = Literal["esf", "storage"]

HTTP_FOR_STATUS: Mapping[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

LEGACY_REASON: Mapping[str, str] = {
    "INVALID_ARGUMENT": "badRequest",
    "FAILED_PRECONDITION": "failedPrecondition",
    "NOT_FOUND": "notFound",
    "ALREADY_EXISTS": "alreadyExists",
    "ABORTED": "aborted",
    "PERMISSION_DENIED": "forbidden",
    "RESOURCE_EXHAUSTED": "rateLimitExceeded",
    "INTERNAL": "backendError",
    "UNAVAILABLE": "backendError",
}

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


class ApiError(Exception):
    """An error response. `http` defaults from the canonical `status`."""

    def __init__(
        self,
        status: str,
        message: str,
        *,
        http: int | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        legacy_reason: str | None = None,
        legacy_errors: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http = http if http is not None else HTTP_FOR_STATUS.get(status, 500)
        self.details = list(details)
        self.legacy_reason = legacy_reason
        self.legacy_errors = legacy_errors or legacy_reason is not None
        self.headers = dict(headers or {})

    def envelope(self, dialect: Dialect) -> dict[str, Any]:
        """The JSON body Google would send for this error in `dialect`."""
        reason = self.legacy_reason or LEGACY_REASON.get(self.status, "backendError")
        legacy = [{"message": self.message, "domain": "global", "reason": reason}]
        if dialect == "storage":
            return {"error": {"code": self.http, "message": self.message, "errors": legacy}}
        body: dict[str, Any] = {"code": self.http, "message": self.message, "status": self.status}
        if self.legacy_errors:
            body["errors"] = legacy
        if self.details:
            body["details"] = self.details
        return {"error": body}


def error_info(reason: str, domain: str, metadata: Mapping[str, str]) -> dict[str, Any]:
    return {"@type": ERROR_INFO, "reason": reason, "domain": domain, "metadata": dict(metadata)}


def invalid_argument(message: str = "Request contains an invalid argument.") -> ApiError:
    return ApiError("INVALID_ARGUMENT", message, legacy_reason="badRequest")


def not_found(message: str, **kwargs: Any) -> ApiError:
    return ApiError("NOT_FOUND", message, **kwargs)


def already_exists(message: str = "Requested entity already exists", **kwargs: Any) -> ApiError:
    return ApiError("ALREADY_EXISTS", message, **kwargs)


def aborted_concurrent_policy_change() -> ApiError:
    return ApiError(
        "ABORTED",
        "There were concurrent policy changes. Please retry the whole read-modify-write with "
        "exponential backoff.",
        legacy_reason="aborted",
    )


def permission_denied(permission: str, resource: str, domain: str) -> ApiError:
    """IAM_PERMISSION_DENIED: also what Google answers for many missing resources."""
    full = f"//{domain}/{resource}" if resource else ""
    on = f" on resource '{full}'" if full else " on resource"
    return ApiError(
        "PERMISSION_DENIED",
        f"Permission '{permission}' denied{on} (or it may not exist).",
        details=[
            error_info(
                "IAM_PERMISSION_DENIED",
                domain,
                {"permission": permission, "resource": resource},
            )
        ],
    )


def rate_limited(
    service: str,
    consumer: str,
    metric: str,
    limit_name: str,
    limit: int,
    *,
    metric_title: str | None = None,
    limit_title: str | None = None,
    retry_delay_s: int = 1,
    message: str | None = None,
) -> ApiError:
    """429 RESOURCE_EXHAUSTED / RATE_LIMIT_EXCEEDED as Google sends it for a per-minute quota.

    `consumer` is a project number, with or without a `projects/` prefix.
    """
    number = consumer.removeprefix("projects/")
    message = message or (
        f"Quota exceeded for quota metric '{metric_title or metric}' and limit "
        f"'{limit_title or limit_name}' of service '{service}' for consumer "
        f"'project_number:{number}'."
    )
    return ApiError(
        "RESOURCE_EXHAUSTED",
        message,
        legacy_reason="rateLimitExceeded",
        details=[
            error_info(
                "RATE_LIMIT_EXCEEDED",
                "googleapis.com",
                {
                    "consumer": f"projects/{number}",
                    "quota_limit": limit_name,
                    "quota_limit_value": str(limit),
                    "quota_location": "global",
                    "quota_metric": metric,
                    "service": service,
                },
            ),
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quota#requesting_higher_quota",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{retry_delay_s}s",
            },
        ],
        headers={"Retry-After": str(retry_delay_s)},
    )
