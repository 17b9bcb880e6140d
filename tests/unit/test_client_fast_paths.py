"""The client-side fast paths give exactly what the libraries they shortcut would."""

from __future__ import annotations

import importlib

import httplib2

from provision.gcp.api import _ascii_uris_as_they_are


def test_ascii_uris_convert_as_httplib2_would() -> None:
    _ascii_uris_as_they_are(httplib2)
    fast = httplib2.iri2uri
    assert getattr(fast, "ascii_fast_path", False)
    original = importlib.import_module("httplib2.iri2uri").iri2uri
    for uri in (
        "http://127.0.0.1:8765/v1/projects/p/locations/us-central1/datasets/d:getIamPolicy",
        "https://storage.googleapis.com/storage/v1/b/bucket-1/iam?alt=json&userProject=x",
        "https://Healthcare.GoogleAPIs.com/v1/projects/p?",
        "http://example.com/a%20b?q=%E2%82%AC#frag",
        "https://example.com/caf\u00e9?q=\u20ac",  # not ASCII: httplib2's own conversion
    ):
        assert fast(uri) == original(uri)
    _ascii_uris_as_they_are(httplib2)  # installing twice keeps one wrapper
    assert httplib2.iri2uri is fast
