"""Blueprints for the viewer-config tests, built through the real schema."""

from __future__ import annotations

from typing import Any

from provision.blueprint.schema import Blueprint, Sites

CLIENT_ID = "123456789012-abcdef0123456789.apps.googleusercontent.com"


def blueprint(
    datasets: list[dict[str, Any]] | None = None,
    *,
    oauth: dict[str, Any] | None = None,
    services: list[str] | None = None,
    sites: dict[str, Any] | None = None,
) -> Blueprint:
    """A blueprint for project `demo-imaging`; by default one dataset with stores `ct` and `mr`."""
    data: dict[str, Any] = {
        "version": 1,
        "project": {"id": "demo-imaging"},
        "services": services if services is not None else ["healthcare.googleapis.com"],
        "datasets": datasets
        if datasets is not None
        else [
            {
                "id": "research",
                "location": "europe-west2",
                "dicomStores": [{"id": "ct"}, {"id": "mr"}],
            }
        ],
    }
    if oauth is not None:
        data["oauth"] = oauth
    built = Blueprint.model_validate(data)
    if sites is None:
        return built
    # A site template holds placeholders such as `{site}`; validate it as a template.
    template = Sites.model_validate(sites, context={"site_template": True})
    return built.model_copy(update={"sites": template})


def with_client() -> Blueprint:
    return blueprint(oauth={"clientId": CLIENT_ID, "origins": ["http://localhost:3000"]})


def site_dataset(site: str, location: str = "us-central1") -> dict[str, Any]:
    """A dataset as site expansion stamps it out: id `{site}-imaging`, label `site: {site}`."""
    return {
        "id": f"{site}-imaging",
        "location": location,
        "labels": {"site": site},
        "dicomStores": [{"id": "primary"}],
    }
