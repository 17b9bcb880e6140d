from __future__ import annotations

import pytest

from provision.errors import ProvisionError, ViewerConfigError
from provision.outputs.stores import (
    StoreRef,
    normalise_base_url,
    select_stores,
    store_names,
)
from tests.unit.outputs.blueprints import blueprint, site_dataset

SITES = {
    "include": "sites/*.yaml",
    "template": {"datasets": [{"id": "{site}-imaging", "location": "{location}"}]},
}


def test_store_ref_url_is_googles_dicomweb_path() -> None:
    store = StoreRef("p", "us-central1", "d", "s")
    assert store.name == "projects/p/locations/us-central1/datasets/d/dicomStores/s"
    assert store.dicomweb_url() == (
        "https://healthcare.googleapis.com/v1/projects/p/locations/us-central1"
        "/datasets/d/dicomStores/s/dicomWeb"
    )
    assert store.dicomweb_url("http://127.0.0.1:9/") == (
        "http://127.0.0.1:9/v1/projects/p/locations/us-central1/datasets/d/dicomStores/s/dicomWeb"
    )


def test_select_stores_keeps_blueprint_order() -> None:
    bp = blueprint(
        [
            {"id": "b", "location": "us-east4", "dicomStores": [{"id": "s2"}, {"id": "s1"}]},
            {"id": "a", "location": "europe-west4", "dicomStores": [{"id": "s3"}]},
        ]
    )
    assert select_stores(bp) == [
        StoreRef("demo-imaging", "us-east4", "b", "s2"),
        StoreRef("demo-imaging", "us-east4", "b", "s1"),
        StoreRef("demo-imaging", "europe-west4", "a", "s3"),
    ]


def test_no_store_is_an_error() -> None:
    bp = blueprint([{"id": "empty", "location": "us-east4"}])
    with pytest.raises(ViewerConfigError, match=r"no DICOM store"):
        select_stores(bp)


def test_site_by_label() -> None:
    bp = blueprint(
        [
            {"id": "shared", "location": "us-east4", "dicomStores": [{"id": "all"}]},
            site_dataset("north"),
            site_dataset("north-east", "europe-west2"),
        ]
    )
    assert select_stores(bp, "north") == [
        StoreRef("demo-imaging", "us-central1", "north-imaging", "primary")
    ]
    assert select_stores(bp, "north-east") == [
        StoreRef("demo-imaging", "europe-west2", "north-east-imaging", "primary")
    ]


def test_unknown_site_names_known_sites_and_the_label() -> None:
    bp = blueprint([site_dataset("north"), site_dataset("south")])
    with pytest.raises(ViewerConfigError) as caught:
        select_stores(bp, "west")
    message = str(caught.value)
    assert "'west'" in message
    assert "`site` label" in message
    assert "north, south" in message
    assert isinstance(caught.value, ProvisionError)


def test_site_without_labels_falls_back_to_the_template_ids() -> None:
    datasets = [
        {"id": "north-imaging", "location": "us-east4", "dicomStores": [{"id": "a"}]},
        {"id": "north-east-imaging", "location": "us-east4", "dicomStores": [{"id": "b"}]},
        {"id": "other", "location": "us-east4", "dicomStores": [{"id": "c"}]},
    ]
    bp = blueprint(datasets, sites=SITES)
    assert [s.dataset for s in select_stores(bp, "north")] == ["north-imaging"]
    assert [s.dataset for s in select_stores(bp, "north-east")] == ["north-east-imaging"]


def test_labels_win_over_the_template() -> None:
    labelled = site_dataset("north")
    unlabelled = {"id": "north-imaging-2", "location": "us-east4", "dicomStores": [{"id": "x"}]}
    bp = blueprint([labelled, unlabelled], sites=SITES)
    assert [s.dataset for s in select_stores(bp, "north")] == ["north-imaging"]


def test_site_with_no_labels_and_no_sites_section_is_unknown() -> None:
    with pytest.raises(ViewerConfigError, match="no dataset belongs to site 'north'"):
        select_stores(blueprint(), "north")


def test_store_names_are_unique_and_avoid_reserved() -> None:
    stores = [
        StoreRef("p", "l", "a-b", "c"),
        StoreRef("p", "l", "a", "b-c"),
        StoreRef("p", "l", "x", "y"),
    ]
    assert store_names(stores) == ["a-b-c", "a-b-c-2", "x-y"]
    assert store_names(stores[2:], reserved=frozenset({"x-y"})) == ["x-y-2"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://healthcare.googleapis.com", "https://healthcare.googleapis.com"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("http://localhost:1/prefix/", "http://localhost:1/prefix"),
    ],
)
def test_normalise_base_url(url: str, expected: str) -> None:
    assert normalise_base_url(url) == expected


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8765", "ftp://host", "http://", "http://h/?q=1", "http://h/#f", "http://[x"]
)
def test_bad_base_url(url: str) -> None:
    with pytest.raises(ViewerConfigError, match="base URL"):
        normalise_base_url(url)
