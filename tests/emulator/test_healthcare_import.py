"""`dicomStores.import` on the emulator: objects uploaded with google-cloud-storage, imported with
the Healthcare discovery client, read back over DICOMweb (fidelity spec §A4 import, §F9)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Bucket, Client
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from provision.emulator import samples
from provision.emulator.dicomweb import instances
from provision.emulator.healthcare.models import check_import_uri, uri_regex
from provision.emulator.server import RunningEmulator
from tests.emulator.seeding import healthcare_client, seed_project

PROJECT = "imp-test"
DATASET = f"projects/{PROJECT}/locations/us-central1/datasets/ds"
STORE = f"{DATASET}/dicomStores/main"
IMPORT_METHOD = "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData"


@dataclass
class Setup:
    emulator: RunningEmulator
    hc: Resource
    bucket: Bucket
    agent: str


def _stores(hc: Resource) -> Any:
    return hc.projects().locations().datasets().dicomStores()


def _operations(hc: Resource) -> Any:
    return hc.projects().locations().datasets().operations()


def _grant_reader(bucket: Bucket, member: str, role: str = "roles/storage.objectViewer") -> None:
    policy = bucket.get_iam_policy()
    policy[role] = set(policy.get(role, set())) | {member}
    bucket.set_iam_policy(policy)


def _import(setup: Setup, uri: str) -> dict[str, Any]:
    started: dict[str, Any] = (
        _stores(setup.hc).import_(name=STORE, body={"gcsSource": {"uri": uri}}).execute()
    )
    assert set(started) == {"name"}
    assert started["name"].startswith(f"{DATASET}/operations/")
    for _ in range(10):
        operation: dict[str, Any] = _operations(setup.hc).get(name=started["name"]).execute()
        if operation.get("done"):
            return operation
    raise AssertionError("import never finished")


@pytest.fixture
def setup(emulator: RunningEmulator) -> Setup:
    number = seed_project(emulator.world, PROJECT)
    hc = healthcare_client(emulator)
    hc.projects().locations().datasets().create(
        parent=f"projects/{PROJECT}/locations/us-central1", datasetId="ds", body={}
    ).execute()
    _stores(hc).create(parent=DATASET, dicomStoreId="main", body={}).execute()
    gcs = Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )
    bucket = gcs.create_bucket("imp-test-dicom")
    for sample in samples.generate(6, seed=3):
        bucket.blob(f"dir/{sample.path}").upload_from_string(sample.data)
    top = samples.instance(seed=3, study=9, series=1, number=1)
    bucket.blob("dir/top-1.dcm").upload_from_string(top.data)
    bucket.blob("dir/top-2.dcm").upload_from_string(
        samples.instance(seed=3, study=9, series=1, number=2).data
    )
    bucket.blob("dir/readme.txt").upload_from_string(b"not a DICOM file")
    agent = f"serviceAccount:service-{number}@gcp-sa-healthcare.iam.gserviceaccount.com"
    return Setup(emulator, hc, bucket, agent)


def test_samples_are_deterministic_dicom(tmp_path: Path) -> None:
    first = samples.generate(4, seed=7, studies=2)
    assert first == samples.generate(4, seed=7, studies=2)
    assert {s.sop_uid for s in first}.isdisjoint(s.sop_uid for s in samples.generate(4, seed=8))
    assert len({s.study_uid for s in first}) == 2
    parsed = pydicom.dcmread(BytesIO(first[1].data))
    assert parsed.Modality == "MR"
    assert parsed.SOPInstanceUID == first[1].sop_uid
    assert len(parsed.PixelData) == parsed.Rows * parsed.Columns * 2
    written = samples.write(tmp_path, 3, seed=7)
    assert [p.read_bytes() for p in written] == [s.data for s in samples.generate(3, seed=7)]


@pytest.mark.parametrize(
    ("uri", "valid"),
    [
        ("gs://b/dir/**.dcm", True),
        ("gs://b/dir/**", True),
        ("gs://b/dir/*.dcm", True),
        ("gs://b/dir/file-?.dcm", True),
        ("gs://b/dir/file.dcm", True),
        ("gs://b/**/x.dcm", False),
        ("gs://b/*/**", False),
        ("gs://b/dir/**?", False),
        ("gs://b", False),
        ("gs://b/", False),
        ("s3://b/x", False),
    ],
)
def test_uri_rules(uri: str, valid: bool) -> None:
    if valid:
        check_import_uri(uri)
    else:
        with pytest.raises(Exception, match="Invalid GCS URI"):
            check_import_uri(uri)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("dir/**.dcm", "dir/a/b/c.dcm", True),
        ("dir/**.dcm", "dir/c.dcm", True),
        ("dir/**.dcm", "dir/c.txt", False),
        ("dir/*", "dir/a", True),
        ("dir/*", "dir/a/b", False),
        ("dir/?.dcm", "dir/a.dcm", True),
        ("dir/?.dcm", "dir/ab.dcm", False),
    ],
)
def test_wildcards(pattern: str, name: str, matches: bool) -> None:
    assert bool(uri_regex(pattern).match(name)) is matches


def test_recursive_import_stores_instances_and_ignores_duplicates(setup: Setup) -> None:
    _grant_reader(setup.bucket, setup.agent)
    done = _import(setup, "gs://imp-test-dicom/dir/**.dcm")
    assert "error" not in done
    assert done["response"] == {
        "@type": "type.googleapis.com/google.cloud.healthcare.v1.dicom.ImportDicomDataResponse"
    }
    metadata = done["metadata"]
    assert metadata["@type"] == "type.googleapis.com/google.cloud.healthcare.v1.OperationMetadata"
    assert metadata["apiMethodName"] == IMPORT_METHOD
    assert metadata["counter"] == {"success": "8"}
    assert instances.count(setup.emulator.world, STORE) == 8

    again = _import(setup, "gs://imp-test-dicom/dir/**.dcm")
    assert "error" not in again
    assert "failure" not in again["metadata"]["counter"]
    assert instances.count(setup.emulator.world, STORE) == 8

    listed = _operations(setup.hc).list(name=DATASET).execute()["operations"]
    methods = [op["metadata"]["apiMethodName"] for op in listed]
    assert methods.count(IMPORT_METHOD) == 2
    assert {done["name"], again["name"]} <= {op["name"] for op in listed}


def test_single_star_and_question_mark(setup: Setup) -> None:
    _grant_reader(setup.bucket, setup.agent, "roles/storage.objectAdmin")
    done = _import(setup, "gs://imp-test-dicom/dir/top-?.dcm")
    assert done["metadata"]["counter"] == {"success": "2"}
    assert "error" not in done

    mixed = _import(setup, "gs://imp-test-dicom/dir/*")
    assert mixed["metadata"]["counter"] == {"success": "2", "failure": "1"}
    assert "response" not in mixed
    assert mixed["error"]["code"] == setup.emulator.world.settings.import_failure_code
    assert "readme.txt" in mixed["error"]["message"]
    assert instances.count(setup.emulator.world, STORE) == 2


def test_bad_wildcards_are_refused_before_any_operation(setup: Setup) -> None:
    for uri in ("gs://imp-test-dicom/**/x.dcm", "gs://imp-test-dicom/*/**", "bucket/x"):
        with pytest.raises(HttpError) as bad:
            _stores(setup.hc).import_(name=STORE, body={"gcsSource": {"uri": uri}}).execute()
        assert bad.value.resp.status == 400
        assert json.loads(bad.value.content)["error"]["status"] == "INVALID_ARGUMENT"
    listed = _operations(setup.hc).list(name=DATASET).execute()["operations"]
    assert [op["metadata"]["apiMethodName"].rsplit(".", 1)[-1] for op in listed] == [
        "CreateDataset"
    ]


def test_service_agent_needs_object_viewer(setup: Setup) -> None:
    done = _import(setup, "gs://imp-test-dicom/dir/**.dcm")
    assert done["error"]["code"] == 7
    assert "Cloud Storage permission" in done["error"]["message"]
    assert "response" not in done
    assert instances.count(setup.emulator.world, STORE) == 0

    _grant_reader(setup.bucket, "user:someone@example.com")
    assert "error" in _import(setup, "gs://imp-test-dicom/dir/**.dcm")


def test_new_grant_takes_effect_only_after_the_iam_delay(setup: Setup) -> None:
    setup.emulator.world.configure({"iam_effect_delay_s": 600.0})
    _grant_reader(setup.bucket, setup.agent)
    assert setup.bucket.get_iam_policy()["roles/storage.objectViewer"] == {setup.agent}
    assert _import(setup, "gs://imp-test-dicom/dir/**.dcm")["error"]["code"] == 7
    setup.emulator.world.configure({"iam_effect_delay_s": 0.0})
    assert "error" not in _import(setup, "gs://imp-test-dicom/dir/**.dcm")


def test_nothing_matching_fails_the_operation(setup: Setup) -> None:
    _grant_reader(setup.bucket, setup.agent)
    done = _import(setup, "gs://imp-test-dicom/elsewhere/**.dcm")
    assert done["error"]["code"] == 5
    assert done["metadata"]["apiMethodName"] == IMPORT_METHOD


def test_imported_instances_are_served_by_dicomweb(setup: Setup) -> None:
    from dicomweb_client.api import DICOMwebClient

    _grant_reader(setup.bucket, setup.agent)
    _import(setup, "gs://imp-test-dicom/dir/study-1/**.dcm")
    client = DICOMwebClient(url=f"{setup.emulator.base_url}/v1/{STORE}/dicomWeb")
    studies = client.search_for_studies()
    assert len(studies) == 1
    series = client.search_for_series(study_instance_uid=samples.generate(1, seed=3)[0].study_uid)
    assert sorted(s["00080060"]["Value"][0] for s in series) == ["CT", "MR"]


def test_the_storage_object_user_role_lets_the_agent_read(setup: Setup) -> None:
    """roles/storage.objectUser holds storage.objects.get and list, as objectViewer does."""
    _grant_reader(setup.bucket, setup.agent, "roles/storage.objectUser")
    done = _import(setup, "gs://imp-test-dicom/dir/top-?.dcm")
    assert done["metadata"]["counter"] == {"success": "2"}
