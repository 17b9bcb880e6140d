"""Pure helpers of the DICOM import kind: label keys and values Google accepts, URI wildcards,
and how an operation's counters are reported."""

from __future__ import annotations

import re

import pytest

from provision.resources.addresses import dicom_import_name as import_name
from provision.resources.dicom_import import (
    describe_outcome,
    label_key,
    operation_label,
    uri_regex,
)

# Healthcare label rules (ASCII subset of [\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62} and
# [\p{Ll}\p{Lo}\p{N}_-]{0,63}).
KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


@pytest.mark.parametrize("uri", ["gs://b/dicom/**.dcm", "gs://B-x/a?b/*.dcm", "gs://b/x"])
def test_label_keys_are_valid_and_stable(uri: str) -> None:
    assert KEY.match(label_key(uri))
    assert label_key(uri) == label_key(uri)
    assert label_key(uri) != label_key(uri + "x")


def test_operation_labels_are_valid_values() -> None:
    name = "projects/p/locations/l/datasets/d/operations/1234567890123456789"
    assert operation_label(name) == "op-1234567890123456789"
    assert VALUE.match(operation_label(name))
    assert VALUE.match("done")


def test_import_addresses_live_under_their_store() -> None:
    store = "projects/p/locations/l/datasets/d/dicomStores/s"
    assert import_name(store, "gs://b/x").startswith(store + "/imports/")


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("dicom/**.dcm", "dicom/a/b/c.dcm", True),
        ("dicom/**.dcm", "dicom/c.txt", False),
        ("dicom/*.dcm", "dicom/a/c.dcm", False),
        ("dicom/*.dcm", "dicom/c.dcm", True),
        ("dicom/?.dcm", "dicom/ab.dcm", False),
        ("dicom/?.dcm", "dicom/a.dcm", True),
        ("dicom/a+b.dcm", "dicom/a+b.dcm", True),
    ],
)
def test_uri_wildcards_follow_googles_rules(pattern: str, name: str, matches: bool) -> None:
    assert bool(uri_regex(pattern).match(name)) is matches


def test_outcome_names_counts_and_where_the_errors_are() -> None:
    failed = {
        "metadata": {"counter": {"success": "3", "failure": "1"}, "logsUrl": "https://logs"},
        "error": {"code": 3},
    }
    assert describe_outcome(failed) == (
        "3 instances imported, 1 file failed; the per-file errors are in Cloud Logging "
        "(https://logs)"
    )
    assert describe_outcome({"metadata": {"counter": {"success": "1"}}}) == (
        "1 instance imported, 0 files failed"
    )


def test_markers_record_what_an_import_read_as_valid_label_values() -> None:
    from provision.resources.dicom_import import DONE, Imported, marker, parse_marker

    read = Imported(objects=1234567, generation=1700000000123456)
    op = operation_label("projects/p/locations/l/datasets/d/operations/1234567890123456789")
    for state in (DONE, op):
        value = marker(state, read)
        assert VALUE.match(value), value
        assert parse_marker(value) == (state, read)
    longest = marker(op, Imported(9_999_999_999, 9_223_372_036_854_775_807, "COLDLINE"))
    assert VALUE.match(longest), longest
    for stored in ("STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"):
        value = marker(DONE, Imported(3, 42, stored))
        assert parse_marker(value) == (DONE, Imported(3, 42, stored)), value
    assert parse_marker("done-n3-g42") == (DONE, Imported(3, 42, ""))
    assert parse_marker("done") == ("done", None)
    assert parse_marker("op-42") == ("op-42", None)
