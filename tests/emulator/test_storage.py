"""Cloud Storage on the emulator, driven by google-cloud-storage and the discovery client over
HTTP (fidelity spec §A5, §B, §F12)."""

from __future__ import annotations

import io
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from provision.emulator.server import RunningEmulator
from provision.emulator.storage import checksums
from provision.emulator.storage.models import glob_regex, valid_bucket_name
from provision.gcp.api import upload_uri
from tests.conftest import journal
from tests.emulator.seeding import seed_project, storage_client

PROJECT = "st-test"


def _raw(emulator: RunningEmulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(emulator.base_url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def gcs(emulator: RunningEmulator) -> Iterator[Client]:
    seed_project(emulator.world, PROJECT, services=())
    yield Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.base_url},
    )


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("abc", True),
        ("my-bucket_1.example", True),
        ("ab", False),
        ("a" * 64, False),
        (".".join(["a" * 63] * 3), True),
        ("Upper", False),
        ("-start", False),
        ("end-", False),
        ("192.168.1.1", False),
        ("goog-bucket", False),
        ("my-google-bucket", False),
        ("my-g00gle", False),
        ("has space", False),
        ("a..b", False),
    ],
)
def test_bucket_name_rules(name: str, valid: bool) -> None:
    assert valid_bucket_name(name) is valid


@pytest.mark.parametrize(
    ("glob", "name", "matches"),
    [
        ("*.dcm", "a.dcm", True),
        ("*.dcm", "d/a.dcm", False),
        ("**.dcm", "d/e/a.dcm", True),
        ("d/**/a.dcm", "d/a.dcm", True),
        ("d/**/a.dcm", "d/x/y/a.dcm", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[ab]x", "bx", True),
        ("[!ab]x", "bx", False),
        ("{x,y}.txt", "y.txt", True),
    ],
)
def test_match_glob(glob: str, name: str, matches: bool) -> None:
    assert bool(glob_regex(glob).match(name)) is matches


def test_crc32c_matches_the_reference_vector() -> None:
    assert checksums.crc32c(b"123456789") == 0xE3069283
    assert checksums.crc32c_b64(b"") == "AAAAAA=="


def test_bucket_insert_has_googles_shape(emulator: RunningEmulator) -> None:
    number = seed_project(emulator.world, PROJECT, services=())
    status, bucket = _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "b-one"})
    assert status == 200
    assert bucket["kind"] == "storage#bucket"
    assert bucket["id"] == bucket["name"] == "b-one"
    assert bucket["projectNumber"] == number
    assert bucket["metageneration"] == "1"
    assert bucket["location"] == "US"
    assert bucket["locationType"] == "multi-region"
    assert bucket["storageClass"] == "STANDARD"
    assert bucket["rpo"] == "DEFAULT"
    assert bucket["iamConfiguration"]["uniformBucketLevelAccess"] == {"enabled": False}
    assert bucket["iamConfiguration"]["publicAccessPrevention"] == "inherited"
    assert bucket["softDeletePolicy"]["retentionDurationSeconds"] == "604800"
    assert bucket["generation"].isdigit()
    for key in ("etag", "selfLink", "timeCreated", "updated"):
        assert bucket[key]
    assert "acl" not in bucket
    _, full = _raw(emulator, "GET", "/storage/v1/b/b-one?projection=full")
    assert full["owner"] == {"entity": f"project-owners-{number}"}
    assert {entry["entity"] for entry in full["acl"]} == {
        f"project-{team}-{number}" for team in ("owners", "editors", "viewers")
    }


def test_bucket_errors_use_the_storage_dialect(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT, services=())
    seed_project(emulator.world, "other-proj", services=())
    _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "taken"})

    status, body = _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "taken"})
    assert status == 409
    assert body == {
        "error": {
            "code": 409,
            "message": "Your previous request to create the named bucket succeeded and you "
            "already own it.",
            "errors": [
                {
                    "message": "Your previous request to create the named bucket succeeded and "
                    "you already own it.",
                    "domain": "global",
                    "reason": "conflict",
                }
            ],
        }
    }
    status, body = _raw(emulator, "POST", "/storage/v1/b?project=other-proj", {"name": "taken"})
    assert status == 409
    assert body["error"]["message"].startswith("The requested bucket name is not available.")

    status, body = _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "Bad!"})
    assert status == 400
    assert body["error"]["message"] == "Invalid bucket name: 'Bad!'"
    assert body["error"]["errors"][0]["reason"] == "invalid"
    assert set(body["error"]) == {"code", "message", "errors"}
    status, body = _raw(emulator, "GET", "/storage/v1/b/Bad!")
    assert status == 400

    status, body = _raw(emulator, "GET", "/storage/v1/b/missing-bucket")
    assert status == 404
    assert body["error"]["message"] == "The specified bucket does not exist."
    assert body["error"]["errors"][0]["reason"] == "notFound"

    status, body = _raw(emulator, "POST", "/storage/v1/b?project=no-such-project", {"name": "x1"})
    assert status == 403
    assert body["error"]["errors"][0]["reason"] == "forbidden"
    assert "storage.buckets.create" in body["error"]["message"]

    emulator.world.configure({"storage_error_status_field": True})
    status, body = _raw(emulator, "GET", "/storage/v1/b/missing-bucket")
    assert body["error"]["status"] == "NOT_FOUND"


def test_bucket_lifecycle_with_google_cloud_storage(gcs: Client) -> None:
    bucket = gcs.bucket("life-cycle")
    bucket.labels = {"managed-by": "provision"}
    created = gcs.create_bucket(bucket, location="us-central1")
    assert created.location == "US-CENTRAL1"
    assert created.location_type == "region"
    assert created.labels == {"managed-by": "provision"}
    assert created.metageneration == 1

    fetched = gcs.get_bucket("life-cycle")
    fetched.labels = {"managed-by": "provision", "team": "imaging"}
    fetched.iam_configuration.uniform_bucket_level_access_enabled = True
    fetched.patch()
    assert fetched.metageneration == 2
    assert fetched.iam_configuration.uniform_bucket_level_access_enabled
    assert fetched.iam_configuration.uniform_bucket_level_access_locked_time is not None
    assert gcs.get_bucket("life-cycle").labels == {"managed-by": "provision", "team": "imaging"}

    assert [b.name for b in gcs.list_buckets()] == ["life-cycle"]
    blob = fetched.blob("x.txt")
    blob.upload_from_string(b"x")
    with pytest.raises(exceptions.Conflict) as not_empty:
        fetched.delete()
    assert "The bucket you tried to delete is not empty." in str(not_empty.value)
    blob.delete()
    fetched.delete()
    with pytest.raises(exceptions.NotFound):
        gcs.get_bucket("life-cycle")


def test_bucket_iam_with_google_cloud_storage(gcs: Client) -> None:
    bucket = gcs.create_bucket("iam-bucket")
    policy = bucket.get_iam_policy()
    assert policy.etag == "CAE="
    assert policy.version == 1
    assert policy["roles/storage.legacyBucketOwner"] == {
        f"projectEditor:{PROJECT}",
        f"projectOwner:{PROJECT}",
    }
    assert policy["roles/storage.legacyBucketReader"] == {f"projectViewer:{PROJECT}"}

    policy["roles/storage.objectViewer"] = {"user:reader@example.com"}
    written = bucket.set_iam_policy(policy)
    assert written.etag == "CAI="
    assert written["roles/storage.objectViewer"] == {"user:reader@example.com"}

    stale = bucket.get_iam_policy()
    stale.etag = "CAE="
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.set_iam_policy(stale)

    unknown = bucket.get_iam_policy()
    unknown["roles/storage.objectViewer"] = {"serviceAccount:ghost@st-test.iam.gserviceaccount.com"}
    with pytest.raises(exceptions.BadRequest) as missing:
        bucket.set_iam_policy(unknown)
    assert "Service account ghost@st-test.iam.gserviceaccount.com does not exist." in str(
        missing.value
    )

    conditional = bucket.get_iam_policy(requested_policy_version=3)
    conditional.version = 3
    conditional.bindings.append(
        {
            "role": "roles/storage.objectViewer",
            "members": {"user:c@example.com"},
            "condition": {"title": "t", "expression": "request.time < timestamp('2999-01-01Z')"},
        }
    )
    with pytest.raises(exceptions.PreconditionFailed) as no_ubla:
        bucket.set_iam_policy(conditional)
    assert "uniform bucket-level access" in str(no_ubla.value)

    bucket.iam_configuration.uniform_bucket_level_access_enabled = True
    bucket.patch()
    conditional = bucket.get_iam_policy(requested_policy_version=3)
    conditional.bindings.append(
        {
            "role": "roles/storage.objectViewer",
            "members": {"user:c@example.com"},
            "condition": {"title": "t", "expression": "true"},
        }
    )
    conditional.version = 1
    with pytest.raises(exceptions.BadRequest):
        bucket.set_iam_policy(conditional)
    conditional.version = 3
    assert bucket.set_iam_policy(conditional).version == 3

    assert bucket.test_iam_permissions(["storage.objects.get", "storage.buckets.delete"]) == [
        "storage.objects.get",
        "storage.buckets.delete",
    ]


def test_objects_upload_list_download(emulator: RunningEmulator, gcs: Client) -> None:
    bucket = gcs.create_bucket("objects")
    small = bucket.blob("dir/a.dcm")
    small.upload_from_string(b"hello world", content_type="application/dicom")
    assert small.generation is not None
    assert small.crc32c == checksums.crc32c_b64(b"hello world")
    assert small.md5_hash == checksums.md5_b64(b"hello world")
    assert small.size == 11

    big_data = os.urandom(700 * 1024)
    big = bucket.blob("dir/sub/big.bin", chunk_size=256 * 1024)
    big.upload_from_file(io.BytesIO(big_data))  # unknown size: a chunked resumable upload
    assert big.size == len(big_data)
    chunks = [
        (e["method"], e["status"])
        for e in journal(emulator)
        if e["path"] == "/upload/storage/v1/b/objects/o" and e["method"] == "PUT"
    ]
    assert chunks == [("PUT", 308), ("PUT", 308), ("PUT", 200)]
    bucket.blob("dir/sub/c.txt").upload_from_string("c")
    bucket.blob("top.txt").upload_from_string("t")

    assert bucket.blob("dir/sub/big.bin").download_as_bytes(checksum="crc32c") == big_data
    assert bucket.get_blob("dir/a.dcm").download_as_bytes(checksum="md5") == b"hello world"
    assert bucket.get_blob("dir/a.dcm").content_type == "application/dicom"

    names = [b.name for b in gcs.list_blobs(bucket, prefix="dir/")]
    assert names == ["dir/a.dcm", "dir/sub/big.bin", "dir/sub/c.txt"]
    listing = gcs.list_blobs(bucket, delimiter="/")
    assert [b.name for b in listing] == ["top.txt"]
    assert listing.prefixes == {"dir/"}
    assert [b.name for b in gcs.list_blobs(bucket, match_glob="**.txt")] == [
        "dir/sub/c.txt",
        "top.txt",
    ]
    paged = gcs.list_blobs(bucket, max_results=10, page_size=2)
    pages = [[b.name for b in page] for page in paged.pages]
    assert pages == [["dir/a.dcm", "dir/sub/big.bin"], ["dir/sub/c.txt", "top.txt"]]

    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("dir/a.dcm").upload_from_string(b"again", if_generation_match=0)
    lease = bucket.blob("locks/apply.lock")
    lease.upload_from_string(b"me", if_generation_match=0)
    lease.delete(if_generation_match=lease.generation)
    with pytest.raises(exceptions.NotFound) as missing:
        bucket.blob("nothing").download_as_bytes()
    assert "No such object: objects/nothing" in str(missing.value)


def test_discovery_client_reads_and_deletes_objects(emulator: RunningEmulator, gcs: Client) -> None:
    """googleapiclient keeps `https` for media uploads on an `http` endpoint, so objects are
    uploaded with google-cloud-storage here; the discovery client does everything else."""
    client = storage_client(emulator)
    client.buckets().insert(project=PROJECT, body={"name": "disco"}).execute()
    gcs.bucket("disco").blob("a/b c.txt").upload_from_string(b"abc", content_type="text/plain")
    fetched = client.objects().get(bucket="disco", object="a/b c.txt").execute()
    assert fetched["size"] == "3"
    assert fetched["generation"].isdigit()
    assert fetched["metageneration"] == "1"
    assert fetched["md5Hash"] == checksums.md5_b64(b"abc")
    assert fetched["contentType"] == "text/plain"
    assert client.objects().get_media(bucket="disco", object="a/b c.txt").execute() == b"abc"
    listing = client.objects().list(bucket="disco").execute()
    assert [item["name"] for item in listing["items"]] == ["a/b c.txt"]
    with pytest.raises(HttpError) as stale:
        client.objects().delete(bucket="disco", object="a/b c.txt", ifGenerationMatch=1).execute()
    assert stale.value.resp.status == 412
    client.objects().delete(bucket="disco", object="a/b c.txt").execute()
    assert "items" not in client.objects().list(bucket="disco").execute()
    policy = client.buckets().getIamPolicy(bucket="disco").execute()
    assert policy["kind"] == "storage#policy"
    assert policy["resourceId"] == "projects/_/buckets/disco"
    assert policy["etag"] == "CAE="
    policy["bindings"].append({"role": "roles/storage.objectViewer", "members": ["user:a@b.c"]})
    written = client.buckets().setIamPolicy(bucket="disco", body=policy).execute()
    assert written["etag"] == "CAI="
    with pytest.raises(HttpError) as conflict:
        client.buckets().setIamPolicy(bucket="disco", body=policy).execute()
    assert conflict.value.resp.status == 412
    assert json.loads(conflict.value.content)["error"]["errors"][0]["reason"] == "conditionNotMet"
    client.buckets().delete(bucket="disco").execute()


WRONG_URL = (
    "Upload requests must include an uploadType URL parameter and a URL path beginning with "
    "/upload/"
)


def test_objects_are_created_only_through_the_upload_paths(emulator: RunningEmulator) -> None:
    """A metadata-only `objects.insert` (`POST /storage/v1/b/B/o`) is refused as Google refuses
    it; the same insert with media is a multipart upload that Google accepts, framed with bare
    LF line breaks as google-api-python-client frames it."""
    seed_project(emulator.world, PROJECT, services=())
    _raw(emulator, "POST", f"/storage/v1/b?project={PROJECT}", {"name": "uploads"})
    status, body = _raw(emulator, "POST", "/storage/v1/b/uploads/o", {"name": "x"})
    assert (status, body) == (
        400,
        {
            "error": {
                "code": 400,
                "message": WRONG_URL,
                "errors": [
                    {"message": WRONG_URL, "domain": "global", "reason": "wrongUrlForUpload"}
                ],
            }
        },
    )
    client = storage_client(emulator)
    with pytest.raises(HttpError) as refused:
        client.objects().insert(bucket="uploads", body={"name": "x"}).execute()
    assert refused.value.resp.status == 400

    request = client.objects().insert(
        bucket="uploads",
        ifGenerationMatch=0,
        body={"name": "locks/a.lease", "contentType": "text/plain", "metadata": {"k": "v"}},
        media_body=MediaIoBaseUpload(io.BytesIO(b""), mimetype="text/plain"),
    )
    request.uri = upload_uri(request.uri, emulator.base_url)
    assert b"\r\n" not in request.body and b"\n\n" in request.body
    made = request.execute()
    assert (made["name"], made["size"], made["contentType"]) == ("locks/a.lease", "0", "text/plain")
    assert made["metadata"] == {"k": "v"}
    assert [(e["path"], e["status"]) for e in journal(emulator) if e["method"] == "POST"][-1] == (
        "/upload/storage/v1/b/uploads/o",
        200,
    )
    request = client.objects().insert(
        bucket="uploads",
        name="data.bin",
        body={"metadata": {"k": "w"}},
        media_body=MediaIoBaseUpload(io.BytesIO(b"a\nb\r\n\n"), mimetype="application/dicom"),
    )
    request.uri = upload_uri(request.uri, emulator.base_url)
    assert request.execute()["contentType"] == "application/dicom"
    assert client.objects().get_media(bucket="uploads", object="data.bin").execute() == (
        b"a\nb\r\n\n"
    )


def test_object_sub_resources_are_routed_to_their_own_methods(
    emulator: RunningEmulator, gcs: Client
) -> None:
    """`.../o/OBJ/acl`, `/iam` and `/iam/testPermissions` are methods of their own
    (storage.v1.json), never `objects.get` of an object named `OBJ/acl`."""
    bucket = gcs.create_bucket("subs")
    bucket.blob("a.dcm").upload_from_string(b"x")
    bucket.blob("a.dcm/acl").upload_from_string(b"y")  # a name ending in /acl, sent as %2F
    client = storage_client(emulator)
    held = client.objects().testIamPermissions(
        bucket="subs", object="a.dcm", permissions=["storage.objects.get", "storage.objects.delete"]
    )
    assert held.execute() == {
        "kind": "storage#testIamPermissionsResponse",
        "permissions": ["storage.objects.get", "storage.objects.delete"],
    }
    with pytest.raises(HttpError) as missing:
        client.objects().testIamPermissions(
            bucket="subs", object="none", permissions=["storage.objects.get"]
        ).execute()
    assert missing.value.resp.status == 404
    not_emulated = [
        (
            client.objectAccessControls().list(bucket="subs", object="a.dcm"),
            "objectAccessControls.list",
        ),
        (
            client.objectAccessControls().get(bucket="subs", object="a.dcm", entity="allUsers"),
            "objectAccessControls.get",
        ),
        (
            client.objectAccessControls().delete(bucket="subs", object="a.dcm", entity="allUsers"),
            "objectAccessControls.delete",
        ),
        (client.objects().getIamPolicy(bucket="subs", object="a.dcm"), "objects.getIamPolicy"),
        (client.objects().update(bucket="subs", object="a.dcm", body={}), "objects.update"),
    ]
    for request, method_id in not_emulated:
        with pytest.raises(HttpError) as refused:
            request.execute()
        assert refused.value.resp.status == 501
        assert json.loads(refused.value.content)["error"]["message"] == (
            f"storage.{method_id} is not emulated."
        )
        assert journal(emulator)[-1]["method_id"] == method_id
    assert client.objects().get(bucket="subs", object="a.dcm/acl").execute()["size"] == "1"
    status, body = _raw(emulator, "GET", "/storage/v1/b/subs/o/a.dcm/acl")
    assert (status, body["error"]["errors"][0]["reason"]) == (501, "notImplemented")
    assert [b.name for b in gcs.list_blobs("subs")] == ["a.dcm", "a.dcm/acl"]


def test_storage_emulator_host_variable(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_project(emulator.world, PROJECT, services=())
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.base_url)
    client = Client(project=PROJECT)
    bucket = client.create_bucket("via-env")
    bucket.blob("x").upload_from_string(b"1")
    assert [b.name for b in client.list_blobs("via-env")] == ["x"]


def test_buckets_list_items_are_what_buckets_get_answers(emulator: RunningEmulator) -> None:
    """Both default to `projection=noAcl`: the planner takes a listed bucket as its get (every
    field it diffs or reports: location, storage class, iamConfiguration, labels, project
    number, etag, soft delete)."""
    seed_project(emulator.world, PROJECT, services=())
    client = storage_client(emulator)
    client.buckets().insert(project=PROJECT, body={"name": "plain"}).execute()
    client.buckets().insert(
        project=PROJECT,
        body={
            "name": "shaped",
            "location": "us-central1",
            "storageClass": "NEARLINE",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
            "labels": {"managed-by": "provision", "site": "a"},
        },
    ).execute()
    client.buckets().patch(bucket="shaped", body={"labels": {"site": "b"}}).execute()
    first = client.buckets().list(project=PROJECT, maxResults=1).execute()
    rest = client.buckets().list(project=PROJECT, pageToken=first["nextPageToken"]).execute()
    assert "nextPageToken" not in rest
    listed = first["items"] + rest["items"]
    assert [b["name"] for b in listed] == ["plain", "shaped"]
    for item in listed:
        assert item == client.buckets().get(bucket=item["name"]).execute()
        assert "acl" not in item and "owner" not in item
    assert listed[1]["labels"] == {"managed-by": "provision", "site": "b"}
    assert listed[1]["metageneration"] == "2"


def test_malformed_labels_and_preconditions_answer_400(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT, services=())
    client = storage_client(emulator)
    client.buckets().insert(project=PROJECT, body={"name": "strict"}).execute()
    bad = [
        client.buckets().patch(bucket="strict", body={"labels": [[]]}),
        client.buckets().patch(bucket="strict", body={}, ifMetagenerationMatch="x"),
        client.buckets().get(bucket="strict", ifMetagenerationNotMatch="1.5"),
    ]
    for request in bad:
        with pytest.raises(HttpError) as refused:
            request.execute()
        assert refused.value.resp.status == 400


def test_a_patch_may_replace_a_label_of_a_full_bucket(emulator: RunningEmulator) -> None:
    seed_project(emulator.world, PROJECT, services=())
    client = storage_client(emulator)
    full = {f"k{i}": "v" for i in range(64)}
    client.buckets().insert(project=PROJECT, body={"name": "full", "labels": full}).execute()
    patch = {"labels": {"k0": None, "new": "x"}}
    patched = client.buckets().patch(bucket="full", body=patch).execute()
    assert len(patched["labels"]) == 64 and "k0" not in patched["labels"]


def test_an_update_without_soft_delete_policy_gets_the_default(emulator: RunningEmulator) -> None:
    """`buckets.update` replaces the writable fields; an absent `softDeletePolicy` is the
    default one, as on insert."""
    seed_project(emulator.world, PROJECT, services=())
    client = storage_client(emulator)
    client.buckets().insert(project=PROJECT, body={"name": "replaced"}).execute()
    week = client.buckets().get(bucket="replaced").execute()["softDeletePolicy"]
    updated = (
        client.buckets()
        .update(bucket="replaced", body={"name": "replaced", "labels": {"a": "b"}})
        .execute()
    )
    assert updated["labels"] == {"a": "b"}
    assert updated["softDeletePolicy"] == week
    assert updated["metageneration"] == "2"
    client.buckets().patch(
        bucket="replaced", body={"softDeletePolicy": {"retentionDurationSeconds": "0"}}
    ).execute()
    again = client.buckets().update(bucket="replaced", body={"name": "replaced"}).execute()
    assert again["softDeletePolicy"]["retentionDurationSeconds"] == "604800"
    assert client.buckets().get(bucket="replaced", projection="full").execute() == again
