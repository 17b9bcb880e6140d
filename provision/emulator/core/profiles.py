"""Timing profiles: named sets of settings (`provision emulator serve --profile google`,
`{"profile": "google"}` to `/_emulator/settings` or `/_emulator/reset`).

`google` makes the emulator take about as long as Google does for what a user of this tool
waits for: each request's latency, how long each long-running operation runs, how long enabling
an API, linking billing, creating a service agent and granting a role take to propagate, and
Google's default quotas. Every figure is a setting (override any of them with `--set`), and
each is marked below with its source:

- [doc] Google's documentation, quoted;
- [disco] the method's description in Google's discovery document;
- [obs] third-party reports collected in the project's reference notes (gcp-api-facts.md,
  reliability-and-performance.md);
- [estimate] no published figure: a round value in the documented range, or, where nothing is
  documented, a typical order of magnitude. Treat these as placeholders to replace with
  measurements (`PROVISION_RECORD` traces of a real run carry each request's time).
"""

from __future__ import annotations

from typing import Any

_LATENCY_MS: dict[str, float] = {
    # [estimate] Google publishes no per-method latency; each project's API Dashboard shows its
    # own median (cloud.google.com/apis/docs/monitoring). Orders of magnitude of a control-plane
    # call from a client on the same continent: reads ~100 ms, policy writes and creates more.
    "*.setIamPolicy": 250.0,
    "storage.buckets.insert": 700.0,
    "storage.buckets.delete": 500.0,
    "healthcare.projects.locations.datasets.dicomStores.create": 400.0,
    "healthcare.projects.locations.datasets.dicomStores.patch": 300.0,
    "healthcare.projects.locations.datasets.patch": 300.0,
    "cloudbilling.projects.updateBillingInfo": 600.0,
    "cloudresourcemanager.projects.create": 300.0,
    "serviceusage.services.batchEnable": 300.0,
    "serviceusage.services.enable": 300.0,
    "serviceusage.services.generateServiceIdentity": 300.0,
}

_LRO_SECONDS: dict[str, float] = {
    # [disco] CRM v3 projects.create: "This process usually takes a few seconds, but can
    # sometimes take much longer."
    "cloudresourcemanager.projects.create": 5.0,
    # [obs] gcloud services enable: "1-2 minutes" (tutorial); operators wait 15-30 s or 120 s;
    # [estimate] 30 s, the low end of what users report.
    "serviceusage.services.enable": 30.0,
    "serviceusage.services.batchEnable": 30.0,
    "serviceusage.services.disable": 30.0,
    # [doc] Healthcare datasets: "Initialization usually takes less than a minute" (Go sample);
    # [estimate] 10 s.
    "healthcare.projects.locations.datasets.create": 10.0,
    "healthcare.projects.locations.datasets.delete": 10.0,
    # [estimate] imports are proportional to the data and no rate is published; 20 s for the
    # handful of files of a site's first import.
    "healthcare.projects.locations.datasets.dicomStores.import": 20.0,
}

_SECONDS: dict[str, float] = {
    # Measured from the enable request (the emulator enables at once and lets the operation,
    # the list and the API itself catch up): [doc] Google's SERVICE_DISABLED text says "If you
    # enabled this API recently, wait a few minutes for the action to propagate to our systems
    # and retry"; [estimate] the 30 s operation plus 15 s (operators wait 15-30 s after done).
    "service_enable_propagation_s": 45.0,
    # [estimate] `services.list` shows the service a little after its operation is done.
    "services_list_lag_s": 32.0,
    # [doc] the Healthcare agent is "automatically created after you enable the Cloud Healthcare
    # API"; no delay is published. [estimate] 10 s after the enable request.
    "service_agent_delay_s": 10.0,
    # [estimate] generateServiceIdentity answers done at once [rec]; grants naming the agent may
    # still fail briefly.
    "service_identity_delay_s": 5.0,
    # [doc] cloud.google.com/iam/docs/access-change-propagation: policy changes "typically
    # propagate in 2 minutes, but could potentially take 7 minutes or longer".
    "iam_effect_delay_s": 120.0,
    # Not set: whether enabling a paid API right after linking billing still fails the
    # billing check is unverified (TPG sleeps 15 s after creating a project "to let the billing
    # account settle"); `--set billing_propagation_s=10` tries it.
    # [disco] projects.search is eventually consistent; [estimate] 10 s.
    "project_search_lag_s": 10.0,
    # [obs] 404 "dataset not initialized" right after a create (TPG retries it); [estimate]
    # 2 s past the create operation's 10 s.
    "dataset_init_s": 12.0,
}

GOOGLE: dict[str, Any] = {
    # [estimate] the latency of every method not listed in _LATENCY_MS, with jitter.
    "latency_ms": 90.0,
    "latency_jitter_ms": 40.0,
    "method_latency_ms": _LATENCY_MS,
    # operations are done when old enough, however often they are polled
    "lro_polls": 0,
    "lro_seconds": 0.0,
    "lro_seconds_by_method": _LRO_SECONDS,
    **_SECONDS,
    # [doc] Google enforces its default quotas (core/quotas.py cites each one).
    "quotas": True,
}

PROFILES: dict[str, dict[str, Any]] = {"google": GOOGLE}


def profile_settings(name: str, time_scale: float = 1.0) -> dict[str, Any]:
    """The settings of profile `name`, with every duration (operations and propagation windows,
    not request latencies) multiplied by `time_scale` (below 1 for quick trial runs).
    ValueError for an unknown profile."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(sorted(PROFILES))})")
    settings = dict(PROFILES[name])
    if time_scale != 1.0:
        durations = settings.get("lro_seconds_by_method", {})
        settings["lro_seconds_by_method"] = {k: v * time_scale for k, v in durations.items()}
        settings.update({k: settings[k] * time_scale for k in _SECONDS if k in settings})
    return settings
