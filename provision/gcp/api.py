"""`GoogleApi`: every Google call the tool makes goes through here.

Discovery clients are built from the documents bundled with google-api-python-client
(`static_discovery=True`: no network), pointed at `Target.endpoint` when one is given. A call is
named by its discovery method id (e.g. `cloudresourcemanager.projects.get`), which also keys the
retry table and write pacing. httplib2 is not thread-safe, so each worker thread gets its own
authorised `Http` object.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from provision.errors import GoogleApiError
from provision.gcp.credentials import CredentialsError, Identity, Target, resolve_identity
from provision.gcp.errors import from_transport_error, parse_error_body
from provision.gcp.operations import ProgressFn, operation_get_method, wait_operation, wait_until
from provision.gcp.pacing import Pacer
from provision.gcp.retry import Attempt, call_with_retry
from provision.gcp.settings import Timing

JSON = dict[str, Any]

log = logging.getLogger("provision.gcp")

VERSIONS: Mapping[str, str] = {
    "cloudresourcemanager": "v3",
    "serviceusage": "v1",
    "cloudbilling": "v1",
    "healthcare": "v1",
    "storage": "v1",
    "iam": "v1",
}
"""The API version used for each API unless a call names another one."""

USER_AGENT = "provision/0.1"
LIST_RESULT = "items"
"""A call whose answer is a JSON array (DICOMweb QIDO-RS) returns `{LIST_RESULT: [...]}`."""


@dataclass
class CallStats:
    """Counters for one GoogleApi (thread-safe enough for reporting)."""

    calls: int = 0
    retries: int = 0
    paced_seconds: float = 0.0
    by_method: dict[str, int] = field(default_factory=dict)


class GoogleApi:
    """The single gateway to Google APIs (or an emulator of them)."""

    def __init__(
        self,
        target: Target,
        timing: Timing | None = None,
        *,
        cancel: threading.Event | None = None,
        on_retry: Callable[[Attempt], None] | None = None,
    ) -> None:
        self.target = target
        self.timing = timing or Timing.from_env()
        self.cancel = cancel or threading.Event()
        self.on_retry = on_retry
        self.pacer = Pacer(self.timing.pacing, self.cancel)
        self.stats = CallStats()
        self._identity: Identity | None = None
        self._services: dict[tuple[str, str], Any] = {}
        self._nodes: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._propagation: dict[str, float] = {}

    # -- identity and clients -------------------------------------------------------------

    @property
    def identity(self) -> Identity:
        with self._lock:
            if self._identity is None:
                self._identity = resolve_identity(self.target)
            return self._identity

    def _service(self, api: str, version: str) -> Any:
        key = (api, version)
        with self._lock:
            service = self._services.get(key)
            if service is None:
                service = self._build(api, version)
                self._services[key] = service
            return service

    def _build(self, api: str, version: str) -> Any:
        import httplib2
        from googleapiclient import discovery

        options: dict[str, str] = {}
        if self.target.endpoint:
            options["api_endpoint"] = _endpoint_for(self.target.endpoint, api)
        return discovery.build(
            api,
            version,
            http=httplib2.Http(),  # placeholder; every call passes its thread's own Http
            static_discovery=True,
            cache_discovery=False,
            client_options=options or None,
        )

    def _node(self, api: str, version: str, service: Any, path: tuple[str, ...]) -> Any:
        key = (api, version, *path)
        with self._lock:
            node = self._nodes.get(key)
        if node is None:
            node = service
            for name in path:
                node = getattr(node, name)()
            with self._lock:
                self._nodes[key] = node
        return node

    def _http(self) -> Any:
        http = getattr(self._local, "http", None)
        if http is None:
            import google_auth_httplib2
            import httplib2

            # httplib2 would re-send a request after connection-level failures; the retry table
            # is the one retry layer, so it decides (and counts). httplib2 still reconnects once
            # when a kept-alive connection turns out closed before any status line.
            httplib2.RETRIES = 1
            http = google_auth_httplib2.AuthorizedHttp(
                self.identity.credentials, http=httplib2.Http(timeout=self.timing.http_timeout)
            )
            self._local.http = http
        return http

    # -- calls ----------------------------------------------------------------------------

    def call(self, method: str, /, *, version: str | None = None, **params: Any) -> JSON:
        """Call discovery method `method` with `params`; retried per the classification table.

        Raises GoogleApiError (already classified: permanent, conflict, or retries exhausted).
        """
        api, _, path = method.partition(".")
        service = self._service(api, version or VERSIONS[api])
        *resources, verb = path.split(".")

        def attempt() -> JSON:
            self.pacer.before(method)
            if self.cancel.is_set():
                from provision.gcp.retry import RunInterruptedError

                raise RunInterruptedError("interrupted")
            node = self._node(api, version or VERSIONS[api], service, tuple(resources))
            request = getattr(node, verb)(**params)
            request.headers["user-agent"] = USER_AGENT
            self._count(method)
            return self._execute(request, method)

        return call_with_retry(
            attempt,
            method=method,
            policy=self.timing.retry,
            cancel=self.cancel,
            propagating=lambda: self._propagating(api),
            on_retry=self._retried,
        )

    def pages(self, method: str, items_key: str, /, **params: Any) -> Iterator[JSON]:
        """Every item of a paged list call, following `nextPageToken`."""
        token: str | None = None
        while True:
            page_params = dict(params)
            if token:
                page_params["pageToken"] = token
            page = self.call(method, **page_params)
            items = page.get(items_key) or []
            yield from items
            next_token = page.get("nextPageToken")
            if not next_token:
                return
            token = str(next_token)

    def wait(
        self,
        operation: JSON,
        *,
        api: str,
        what: str,
        progress: ProgressFn | None = None,
    ) -> JSON:
        """Wait for a long-running operation returned by `api`; return the finished operation."""
        if operation.get("done"):  # e.g. operations/noop.DONE_OPERATION: never polled
            return wait_operation(operation, get=_never, what=what, policy=self.timing.poll)
        method = operation_get_method(str(operation.get("name", "")), api)
        return wait_operation(
            operation,
            get=lambda name: self.call(method, name=name),
            what=what,
            policy=self.timing.poll,
            method=method,
            progress=progress,
            cancel=self.cancel,
        )

    def wait_until(
        self, check: Callable[[], bool], *, what: str, progress: ProgressFn | None = None
    ) -> float:
        """Bounded polling of an eventually-consistent condition (no fixed sleeps)."""
        return wait_until(
            check, what=what, policy=self.timing.poll, progress=progress, cancel=self.cancel
        )

    def mark_enabled(self, project: str, service: str, window: float = 300.0) -> None:
        """Tell the retry layer `service` was just enabled on `project`.

        For `window` seconds a 403 SERVICE_DISABLED from that API's calls is treated as
        propagation and retried (with the usual bounded backoff); other APIs are not affected.
        """
        with self._lock:
            self._propagation[f"{project}/{service}"] = time.monotonic() + window

    # -- internals ------------------------------------------------------------------------

    def _propagating(self, api: str) -> bool:
        """True while `api` (e.g. `healthcare`) was enabled by this run moments ago."""
        now = time.monotonic()
        suffix = f"/{api}.googleapis.com"
        with self._lock:
            return any(
                deadline > now
                for key, deadline in self._propagation.items()
                if key.endswith(suffix)
            )

    def _retried(self, attempt: Attempt) -> None:
        with self._lock:
            self.stats.retries += 1
        log.info(
            "retrying %s in %.2fs (attempt %d): %s",
            attempt.method,
            attempt.delay,
            attempt.attempt,
            attempt.error.message,
        )
        if self.on_retry is not None:
            self.on_retry(attempt)

    def _count(self, method: str) -> None:
        with self._lock:
            self.stats.calls += 1
            self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1

    def _execute(self, request: Any, method: str) -> JSON:
        import google.auth.exceptions
        import httplib2
        from googleapiclient.errors import HttpError

        started = time.perf_counter()
        status = "no answer"
        try:
            result = request.execute(http=self._http())
            status = "ok"
        except HttpError as error:
            status = str(error.resp.status)
            raise parse_error_body(
                int(error.resp.status),
                error.content,
                method=method,
                http_reason=str(getattr(error.resp, "reason", "") or ""),
            ) from None
        except google.auth.exceptions.RefreshError as error:
            status = "no access token"
            raise CredentialsError(
                f"cannot obtain an access token for {self.target.describe()}: "
                f"{_first_line(error)} (check the credentials or impersonation target)"
            ) from None
        except (
            OSError,
            http.client.HTTPException,
            httplib2.HttpLib2Error,
            google.auth.exceptions.TransportError,
        ) as error:
            status = f"no answer ({type(error).__name__})"
            raise from_transport_error(error, method=method) from None
        finally:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s -> %s (%.0f ms)",
                    request.method,
                    trace_url(str(request.uri)),
                    status,
                    (time.perf_counter() - started) * 1000.0,
                )
        if result is None or result == "":  # e.g. Storage's 204 No Content on delete
            return {}
        if isinstance(result, list):  # DICOMweb searches answer a JSON array
            return {LIST_RESULT: result}
        if not isinstance(result, dict):
            raise GoogleApiError(
                500, "INTERNAL", f"unexpected response type {type(result).__name__}", method=method
            )
        return result


_SECRET_QUERY = re.compile(r"(?i)([?&](?:access_token|key|token|signature|x-goog-signature)=)[^&]*")


def trace_url(url: str) -> str:
    """`url` for the debug trace: credentials that may travel in a query string are redacted.
    (The trace has no headers and no bodies, so `Authorization` never reaches it.)"""
    return _SECRET_QUERY.sub(r"\1[redacted]", url)


def _never(name: str) -> JSON:
    raise AssertionError(f"a finished operation was polled: {name}")


def _endpoint_for(base_url: str, api: str) -> str:
    """The `api_endpoint` for `api` under a base URL serving Google's own paths."""
    base = base_url.rstrip("/") + "/"
    return base + "storage/v1/" if api == "storage" else base


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
