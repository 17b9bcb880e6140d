"""`GoogleApi`: every Google call the tool makes goes through here.

A call is named by its discovery method id (e.g. `cloudresourcemanager.projects.get`), which
also keys the retry table and write pacing, and answers JSON as the REST API does. Every call is
paced, counted, traced (`--debug`), recorded (`PROVISION_RECORD`) and stopped by `cancel` alike.

Cloud Resource Manager's project methods go through google-cloud-resource-manager's REST client
(`resource_manager`); every other API through discovery clients built from the documents bundled
with google-api-python-client (`static_discovery=True`: no network). Both point at
`Target.endpoint` when one is given. httplib2 is not thread-safe, so each discovery request takes
an authorised `Http` of its own from a pool per API: the one returned last, whose connection is
the warmest.
"""

from __future__ import annotations

import http.client
import io
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from provision.errors import GoogleApiError, RunInterruptedError
from provision.gcp.credentials import CredentialsError, Identity, Target, resolve_identity
from provision.gcp.errors import from_transport_error, parse_error_body
from provision.gcp.operations import ProgressFn, operation_get_method, wait_operation, wait_until
from provision.gcp.pacing import Pacer
from provision.gcp.recording import Recorder, redacted_url
from provision.gcp.retry import Attempt, call_with_retry
from provision.gcp.settings import Timing

if TYPE_CHECKING:
    from provision.gcp.resource_manager import ResourceManager

JSON = dict[str, Any]
T = TypeVar("T")

log = logging.getLogger("provision.gcp")

VERSIONS: Mapping[str, str] = {
    "cloudresourcemanager": "v3",
    "serviceusage": "v1",
    "cloudbilling": "v1",
    "healthcare": "v1",
    "storage": "v1",
    "iam": "v1",
    "pubsub": "v1",
    "bigquery": "v2",
    "cloudkms": "v1",
}
"""The API version used for each API unless a call names another one."""

BATCH_PATHS: Mapping[str, str] = {"storage": "batch/storage/v1", "healthcare": "batch"}
"""APIs with a JSON batch endpoint (its path under the API's root URL). Cloud Storage documents
its own (storage/docs/batch). Cloud Healthcare's is its discovery document's `batchPath`, which
the client libraries build batches for, but its guides do not describe batching (`UNVERIFIED`)."""
UNVERIFIED_BATCHES = frozenset({"healthcare"})
"""APIs whose batch endpoint Google does not document. Batches go there only while the setting
is on (`Timing.healthcare_batch`, `PROVISION_HEALTHCARE_BATCH`), and once it refuses a batch as
a whole (`ENDPOINT_REFUSED`) the run sends it no other: its calls go one at a time
(`batches_refused`)."""
BATCH_LIMIT = 100
"""Calls per batched HTTP request (Cloud Storage: "no more than 100 calls"; Healthcare's limit is
not documented, Google's general batching guides say 1,000: the smaller is used for both)."""
BATCH_CONCURRENCY = 8
"""Batched HTTP requests of one `batch` call in flight at once."""
NOT_SENT = "NOT_SENT"
"""The status of the answer of a batched call that was not sent (the API may not batch now)."""
ENDPOINT_REFUSED = frozenset({400, 404, 405, 501})
"""Statuses of a whole batch taken to mean that an undocumented endpoint does not take batches
(what Google would answer there is not known): a path it does not serve (404, 405, 501), or a
batch it cannot read (400)."""

RESOURCE_MANAGER = "cloudresourcemanager."
"""Calls of this API (v3) go through google-cloud-resource-manager (`resource_manager.METHODS`);
its module is imported on first use, so runs that never call it do not load it."""
USER_AGENT = "provision/0.1"
LIST_RESULT = "items"
"""A call whose answer is a JSON array (DICOMweb QIDO-RS) returns `{LIST_RESULT: [...]}`."""


@dataclass
class CallStats:
    """Counters for one GoogleApi (thread-safe enough for reporting)."""

    calls: int = 0
    retries: int = 0
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
        self._build_lock = threading.Lock()
        self._idle_http: dict[str, list[Any]] = {}  # per API (host), the last returned last
        self._propagation: dict[str, float] = {}
        self._recorder = Recorder.from_env()
        self._resource_manager: ResourceManager | None = None
        self.batches_refused: set[str] = set()
        """APIs whose batch endpoint refused a batch as a whole (see `BATCH_PATHS`)."""

    # -- identity and clients -------------------------------------------------------------

    @property
    def identity(self) -> Identity:
        with self._lock:
            if self._identity is None:
                self._identity = resolve_identity(self.target)
            return self._identity

    def _service(self, api: str, version: str) -> Any:
        return self._built(self._services, (api, version), lambda: self._build(api, version))

    def _build(self, api: str, version: str) -> Any:
        import httplib2
        from googleapiclient import discovery

        options: dict[str, str] = {}
        if self.target.endpoint:
            options["api_endpoint"] = _endpoint_for(self.target.endpoint, api)
        return discovery.build(
            api,
            version,
            http=httplib2.Http(),  # placeholder; every call passes an Http of the pool
            static_discovery=True,
            cache_discovery=False,
            client_options=options or None,
        )

    def _node(self, api: str, version: str, service: Any, path: tuple[str, ...]) -> Any:
        """The discovery resource at `path` (e.g. `projects.locations`)."""

        def build() -> Any:
            node = service
            for name in path:
                node = getattr(node, name)()
            return node

        return self._built(self._nodes, (api, version, *path), build)

    def _built(self, cache: dict[Any, Any], key: Any, build: Callable[[], Any]) -> Any:
        """`cache[key]`, built once: building a client or a resource creates all its methods,
        and many workers would otherwise build the same one at the same time."""
        value = cache.get(key)  # a dict read is atomic; only builds take the lock
        if value is None:
            with self._build_lock:
                value = cache.get(key)
                if value is None:
                    value = cache[key] = build()
        return value

    def _checkout_http(self, api: str) -> Any:
        """An authorised `Http` for one request to `api`: the one returned last after a request
        to that API (its connection to the API's host is the warmest), or a new one. httplib2
        is not thread-safe, so each is used by one request at a time; `_checkin_http` returns
        it."""
        with self._lock:
            idle = self._idle_http.get(api)
            if idle:
                return idle.pop()
        import google_auth_httplib2
        import httplib2

        from provision.gcp import fast_paths

        # httplib2 would re-send a request after connection-level failures; the retry table is
        # the one retry layer, so it decides (and counts). httplib2 still reconnects once when a
        # kept-alive connection turns out closed before any status line.
        httplib2.RETRIES = 1
        fast_paths.install()
        http = google_auth_httplib2.AuthorizedHttp(
            self.identity.credentials, http=httplib2.Http(timeout=self.timing.http_timeout)
        )
        return http if self._recorder is None else self._recorder.wrap(http)

    def _checkin_http(self, api: str, http: Any) -> None:
        with self._lock:
            self._idle_http.setdefault(api, []).append(http)

    # -- calls ----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        /,
        *,
        version: str | None = None,
        media: bytes | None = None,
        media_mime_type: str = "application/octet-stream",
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> JSON:
        """Call discovery method `method` with `params`; retried per the classification table.

        `media`: the bytes of a media upload (of type `media_mime_type`); with a `body` the
        client sends a multipart upload (`uploadType=multipart`, metadata then media) to the
        method's upload path, as Cloud Storage's `objects.insert` needs to create an object.
        `headers`: extra HTTP headers of the request (such as `If-Match`).

        Raises GoogleApiError (already classified: permanent, conflict, or retries exhausted).
        """
        if method.startswith(RESOURCE_MANAGER) and version in (
            None,
            VERSIONS["cloudresourcemanager"],
        ):

            def sent() -> JSON:
                self._before(method)
                return self._send_resource_manager(method, params)

            return self._retrying(sent, method)

        def attempt() -> JSON:
            request = self._request(method, version, params, _upload(media, media_mime_type))
            request.headers.update(headers or {})
            return self._execute(request, method)

        return self._retrying(attempt, method)

    def can_batch(self, api: str) -> bool:
        """Whether reads of `api` may go in batches now (see `BATCH_PATHS`)."""
        if api not in BATCH_PATHS or api in self.batches_refused:
            return False
        return api not in UNVERIFIED_BATCHES or self.timing.healthcare_batch

    def batch(
        self,
        method: str,
        calls: Sequence[Mapping[str, Any]],
        /,
        answered: Callable[[int, list[JSON | GoogleApiError]], None] | None = None,
    ) -> list[JSON | GoogleApiError]:
        """Call the read `method` once per entry of `calls` (its params), sent as batched HTTP
        requests of up to `BATCH_LIMIT` calls (up to `BATCH_CONCURRENCY` at once) to the API's
        batch endpoint (`BATCH_PATHS`).

        Answers in the order of `calls`: each call's JSON or its classified GoogleApiError.
        `answered(first, answers)` is also told each request's answers as they arrive (`first`:
        the index in `calls` of its first call), from the threads that sent them, concurrently.
        A call's own error is not retried here (only a 401 is sent again once, with refreshed
        credentials, by the client library); the caller may call it again on its own. A batch
        that fails as a whole is sent again per the classification table, which is why only
        reads may be batched; if it still fails, each of its calls answers that error. While
        the API may not batch (`can_batch`), or once the run is cancelled, nothing more is sent
        and every call not sent answers why (501, or RunInterruptedError's message as a 499).
        """
        api, _, path = method.partition(".")
        if api not in BATCH_PATHS:
            raise ValueError(f"{api} has no batch endpoint")
        if not path.rpartition(".")[2].startswith(("get", "list")):
            raise ValueError(f"only reads are batched, not {method}")
        firsts = range(0, len(calls), BATCH_LIMIT)

        def send(first: int, built: list[Any] | None = None) -> list[JSON | GoogleApiError]:
            answers = self._batch_chunk(method, calls[first : first + BATCH_LIMIT], built)
            if answered is not None:
                answered(first, answers)
            return answers

        if len(firsts) <= 1:
            return send(0) if calls else []
        from concurrent.futures import ThreadPoolExecutor

        # Each chunk is built here, one after another, and leaves as soon as it is built: built
        # side by side, every chunk would be ready (and sent) only when the last one is.
        with ThreadPoolExecutor(min(len(firsts), BATCH_CONCURRENCY)) as pool:
            sent = [
                pool.submit(send, first, self._requests(method, calls[first : first + BATCH_LIMIT]))
                for first in firsts
            ]
        return [answer for chunk in sent for answer in chunk.result()]

    def _requests(self, method: str, chunk: Sequence[Mapping[str, Any]]) -> list[Any] | None:
        """The discovery requests of one batch of `method`; None when no batch is to be sent
        (see `batch`), which its attempt then answers."""
        if not self.can_batch(method.partition(".")[0]) or self.cancel.is_set():
            return None
        try:
            return self._built_requests(method, chunk)
        except RunInterruptedError:
            return None

    def _built_requests(self, method: str, chunk: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [self._request(method, None, params) for params in chunk]

    def _batch_chunk(
        self, method: str, chunk: Sequence[Mapping[str, Any]], built: list[Any] | None = None
    ) -> list[JSON | GoogleApiError]:
        """One batched HTTP request of `method` (see `batch`), sending `built` (the chunk's
        requests, already built) on its first attempt."""
        api = method.partition(".")[0]
        unsent = built

        def attempt() -> list[JSON | GoogleApiError]:
            nonlocal unsent
            if self.cancel.is_set():
                raise GoogleApiError(499, "CANCELLED", "interrupted", method=method)
            if not self.can_batch(api):
                raise GoogleApiError(501, NOT_SENT, f"{api}: no batch is sent", method=method)
            requests, unsent = unsent or self._built_requests(method, chunk), None
            return self._execute_batch(requests, method, self._batch_uri(api))

        try:
            return self._retrying(attempt, method)
        except RunInterruptedError as error:
            return [GoogleApiError(499, "CANCELLED", str(error), method=method)] * len(chunk)
        except GoogleApiError as error:
            refused = error.http_status in ENDPOINT_REFUSED and error.status != NOT_SENT
            if refused and api in UNVERIFIED_BATCHES:
                with self._lock:
                    first_refusal = api not in self.batches_refused
                    self.batches_refused.add(api)
                if first_refusal:
                    log.info(
                        "%s's batch endpoint refused a batch (%s); its calls go one at a time",
                        api,
                        error.http_status,
                    )
            return [error] * len(chunk)

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

    def _request(
        self, method: str, version: str | None, params: Mapping[str, Any], media: Any = None
    ) -> Any:
        """The discovery request for one call of `method` (paced and counted), with `media` (a
        googleapiclient MediaUpload) as its `media_body` when given; raises
        RunInterruptedError once the run was cancelled."""
        api, _, path = method.partition(".")
        *resources, verb = path.split(".")
        version = version or VERSIONS[api]
        self._before(method)
        node = self._node(api, version, self._service(api, version), tuple(resources))
        if media is None:
            request = getattr(node, verb)(**params)
        else:
            request = getattr(node, verb)(**params, media_body=media)
            if self.target.endpoint:
                request.uri = upload_uri(request.uri, self.target.endpoint)
        request.headers["user-agent"] = USER_AGENT
        return request

    def _before(self, method: str) -> None:
        """What every request does first: wait for its pace, stop when the run was cancelled
        (RunInterruptedError), count it."""
        self.pacer.before(method)
        if self.cancel.is_set():
            raise RunInterruptedError("interrupted")
        self._count(method)

    def _send_resource_manager(self, method: str, params: Mapping[str, Any]) -> JSON:
        import google.auth.exceptions

        try:
            return self._crm().call(method, params)
        except google.auth.exceptions.RefreshError as error:
            raise self._no_token(error) from None
        except google.auth.exceptions.TransportError as error:
            raise from_transport_error(error, method=method) from None

    def _crm(self) -> ResourceManager:
        """The Resource Manager client, built on first use."""

        def build() -> ResourceManager:
            from provision.gcp.resource_manager import ResourceManager

            return ResourceManager(
                self.identity.credentials,
                endpoint=self.target.endpoint,
                timeout=self.timing.http_timeout,
                user_agent=USER_AGENT,
                recorder=self._recorder,
            )

        if self._resource_manager is None:
            with self._build_lock:
                if self._resource_manager is None:
                    self._resource_manager = build()
        return self._resource_manager

    def _no_token(self, error: BaseException) -> CredentialsError:
        return CredentialsError(
            f"cannot obtain an access token for {self.target.describe()}: "
            f"{_first_line(error)} (check the credentials or impersonation target)"
        )

    def _retrying(self, attempt: Callable[[], T], method: str) -> T:
        api = method.partition(".")[0]
        return call_with_retry(
            attempt,
            method=method,
            policy=self.timing.retry,
            cancel=self.cancel,
            propagating=lambda: self._propagating(api),
            on_retry=self._retried,
        )

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
        result = self._send(
            lambda http: request.execute(http=http), method, f"{request.method} {request.uri}"
        )
        return _as_json(result, method)

    def _execute_batch(
        self, requests: Sequence[Any], method: str, uri: str
    ) -> list[JSON | GoogleApiError]:
        from googleapiclient.errors import BatchError

        from provision.gcp.fast_paths import LeanBatch

        answers: dict[str, JSON | GoogleApiError] = {}

        def collect(request_id: str, response: Any, error: Any) -> None:
            try:
                answers[request_id] = (
                    _as_json(response, method) if error is None else _http_error(error, method)
                )
            except GoogleApiError as unexpected:
                answers[request_id] = unexpected

        def send(http: Any) -> None:
            try:
                batch.execute(http=http)
            except (KeyError, TypeError, ValueError, IndexError) as error:
                # a multipart answer the client library cannot take apart (a part missing, no
                # Content-ID, a bad status line)
                raise BatchError(f"{type(error).__name__}: {error}") from None

        batch = LeanBatch(callback=collect, batch_uri=uri)
        for number, request in enumerate(requests):
            batch.add(request, request_id=str(number))
        self._send(send, method, f"POST {uri} ({len(requests)} calls)")
        unanswered = GoogleApiError(
            502, "", "the batch answer has no part for this call", method=method
        )
        result = [answers.get(str(number), unanswered) for number in range(len(requests))]
        if log.isEnabledFor(logging.DEBUG):
            statuses = [a.http_status if isinstance(a, GoogleApiError) else 200 for a in result]
            log.debug("  %s in that batch -> %s", method, ", ".join(map(str, statuses)))
        return result

    def _send(self, send: Callable[[Any], Any], method: str, what: str) -> Any:
        """`send(http)` with an Http of the pool; failures become classified GoogleApiErrors.
        `what` (e.g. `GET <url>`) names the request in the debug trace."""
        import google.auth.exceptions
        import httplib2
        from googleapiclient.errors import BatchError, HttpError

        started = time.perf_counter()
        status = "no answer"
        api = method.partition(".")[0]
        connection = self._checkout_http(api)
        answered = False  # the exchange completed: the connection can serve another request
        try:
            result = send(connection)
            status, answered = "ok", True
        except BatchError as error:
            status = "unreadable batch answer"
            raise GoogleApiError(
                502, "", f"unreadable batch answer: {error.reason}", method=method
            ) from None
        except HttpError as error:
            status, answered = str(error.resp.status), True
            raise _http_error(error, method) from None
        except google.auth.exceptions.RefreshError as error:
            status = "no access token"
            raise self._no_token(error) from None
        except (
            OSError,
            http.client.HTTPException,
            httplib2.HttpLib2Error,
            google.auth.exceptions.TransportError,
        ) as error:
            status = f"no answer ({type(error).__name__})"
            raise from_transport_error(error, method=method, where=_origin(what)) from None
        finally:
            if answered:
                self._checkin_http(api, connection)
            else:  # a connection left mid-exchange is never reused
                connection.close()
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s -> %s (%.0f ms)",
                    trace_url(what),
                    status,
                    (time.perf_counter() - started) * 1000.0,
                )
        return result

    def base_url(self, api: str) -> str:
        """Where requests to `api` (e.g. `healthcare`) go: the endpoint, else Google's host."""
        return (self.target.endpoint or f"https://{api}.googleapis.com").rstrip("/")

    def _batch_uri(self, api: str) -> str:
        return f"{self.base_url(api)}/{BATCH_PATHS[api]}"


def _as_json(result: Any, method: str) -> JSON:
    """A call's decoded answer as JSON: nothing is `{}` (e.g. Storage's 204 No Content on
    delete), a JSON array (DICOMweb searches) is `{LIST_RESULT: [...]}`; anything else but an
    object raises GoogleApiError."""
    if result is None or result == "":
        return {}
    if isinstance(result, list):
        return {LIST_RESULT: result}
    if not isinstance(result, dict):
        raise GoogleApiError(
            500, "INTERNAL", f"unexpected response type {type(result).__name__}", method=method
        )
    return result


def _http_error(error: Any, method: str) -> GoogleApiError:
    """A googleapiclient HttpError as a GoogleApiError (classified by its status and body)."""
    return parse_error_body(
        int(error.resp.status),
        error.content,
        method=method,
        http_reason=str(getattr(error.resp, "reason", "") or ""),
    )


def _origin(what: str) -> str:
    """`scheme://host[:port]` of the URL in `what` (`VERB URL ...`), for messages."""
    from urllib.parse import urlsplit

    url = what.split(" ")[1] if " " in what else what
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def trace_url(url: str) -> str:
    """`url` for the debug trace: credentials that may travel in a query string are redacted.
    (The trace has no headers and no bodies, so `Authorization` never reaches it.)"""
    return redacted_url(url)


def _never(name: str) -> JSON:
    raise AssertionError(f"a finished operation was polled: {name}")


def _upload(data: bytes | None, mime_type: str) -> Any:
    """A fresh MediaUpload of `data` for one attempt (None without data)."""
    if data is None:
        return None
    from googleapiclient.http import MediaIoBaseUpload

    return MediaIoBaseUpload(io.BytesIO(data), mimetype=mime_type)


def upload_uri(uri: str, base_url: str) -> str:
    """An upload request's URI on the configured endpoint. googleapiclient builds upload URIs
    from the discovery document's `rootUrl` (`https://storage.googleapis.com/upload/...`) and,
    for an `api_endpoint`, swaps only the host (`_fix_up_media_path_base_url` in
    googleapiclient/discovery.py): the scheme stays `https` (and a path prefix is lost), so an
    `http://` endpoint would never be reached. The upload path goes under the endpoint here."""
    parts = urlsplit(uri)
    query = f"?{parts.query}" if parts.query else ""
    return base_url.rstrip("/") + parts.path + query


SERVICE_PATHS: Mapping[str, str] = {"storage": "storage/v1/", "bigquery": "bigquery/v2/"}
"""APIs whose discovery `servicePath` is not empty: an `api_endpoint` replaces root URL and
service path together, so these go under the base URL."""


def _endpoint_for(base_url: str, api: str) -> str:
    """The `api_endpoint` for `api` under a base URL serving Google's own paths."""
    base = base_url.rstrip("/") + "/"
    return base + SERVICE_PATHS.get(api, "")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
