"""Google's naming rules: each check accepts the valid table and rejects the invalid one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from provision.blueprint import rules

Check = Callable[[str], str | None]

CASES: list[tuple[Check, list[str], list[str]]] = [
    (
        rules.check_project_id,
        ["imaging-dev-4821", "abcdef", "a" * 30, "a1-b2-c3"],
        ["abcde", "a" * 31, "Imaging-dev", "1imaging", "imaging-", "imaging_dev", ""],
    ),
    (
        rules.check_project_display_name,
        ["Imaging dev", "Dev 'one' \"x\"!", "abcd"],
        ["abc", "x" * 31, "dev/one", "dev_one"],
    ),
    (
        rules.check_parent,
        ["organizations/123456789012", "folders/42"],
        ["organization/1", "folders/", "folders/abc", "projects/1", "folders/012"],
    ),
    (
        rules.check_billing_account,
        ["billingAccounts/0A1B2C-3D4E5F-6A7B8C", "billingAccounts/000000-000000-000000"],
        ["0A1B2C-3D4E5F-6A7B8C", "billingAccounts/0a1b2c-3d4e5f-6a7b8c", "billingAccounts/0A1B2C"],
    ),
    (
        rules.check_dataset_id,
        ["imaging", "a", "x" * 256, "sités_1.2-3", "データ"],
        ["", "x" * 257, "bad id", "a/b", "a:b", "{site}"],
    ),
    (
        rules.check_healthcare_location,
        ["us-central1", "eu", "me-central2", "northamerica-northeast2"],
        ["us-central9", "US-CENTRAL1", "europe-west1", "global", ""],
    ),
    (
        rules.check_time_zone,
        ["UTC", "Europe/Paris", "America/Chicago", ""],
        ["Mars/Base", "utc+1", "Europe/Pariss"],
    ),
    (
        rules.check_bucket_name,
        [
            "imaging-dev-4821-dicom-import",
            "abc",
            "a_b.c-d",
            "a" * 63,
            ".".join(["a" * 63] * 3) + ".abc",
        ],
        [
            "ab",
            "a" * 64,
            "Imaging",
            "-abc",
            "abc-",
            "abc_",
            "192.168.5.4",
            "goog-bucket",
            "my-google-bucket",
            "my-g00gle-bucket",
            "my-go0gle-bucket",
            "a..b",
            ".".join(["a" * 64, "b"]),
            "a" * 223,
            "a b",
        ],
    ),
    (
        rules.check_service_name,
        ["healthcare.googleapis.com", "storage.googleapis.com", "x.y"],
        ["healthcare", "bigquery-json.googleapis.com", "Healthcare.googleapis.com", "a..b", ""],
    ),
    (
        rules.check_role,
        [
            "roles/viewer",
            "roles/healthcare.dicomViewer",
            "projects/imaging-dev-4821/roles/dicomReader",
            "organizations/123/roles/custom.role",
        ],
        ["healthcare.dicomViewer", "roles/", "roles/a b", "projects/p/roles/x", "role/viewer"],
    ),
    (
        rules.check_member,
        [
            "user:alice@example.com",
            "group:viewers@example.com",
            "serviceAccount:sa@p.iam.gserviceaccount.com",
            "serviceAccount:my-project.svc.id.goog[ns/ksa]",
            "domain:example.com",
            "allUsers",
            "allAuthenticatedUsers",
            "principal://iam.googleapis.com/locations/global/workforcePools/pool/subject/s1",
            "principalSet://iam.googleapis.com/locations/global/workforcePools/pool/group/g",
            "deleted:user:alice@example.com?uid=123456789",
            "projectViewer:imaging-dev-4821",
        ],
        [
            "alice@example.com",
            "user:alice",
            "User:alice@example.com",
            "domain:",
            "principal://example.com/x",
            "deleted:user:alice@example.com",
            "everyone",
        ],
    ),
    (
        rules.check_pubsub_topic,
        [
            "projects/imaging-dev-4821/topics/dicom-events",
            "projects/example.com:my-proj/topics/abc",
        ],
        ["topics/x", "projects/p/topics/x", "projects/imaging-dev-4821/topics/goog-x"],
    ),
    (
        rules.check_bigquery_table_uri,
        ["bq://imaging-dev-4821.dicom.instances", "bq://imaging-dev-4821.d_1.t-2"],
        ["imaging-dev-4821.dicom.instances", "bq://imaging-dev-4821.dicom", "bq://a.b.c.d"],
    ),
    (
        rules.check_import_uri,
        [
            "gs://imaging-import/dicom/**.dcm",
            "gs://imaging-import/**",
            "gs://imaging-import/dicom/*/study?.dcm",
            "gs://imaging-import/dicom/file.dcm",
        ],
        [
            "imaging-import/dicom",
            "gs://imaging-import",
            "gs://imaging-import/",
            "gs://imaging-import/**/x.dcm",
            "gs://imaging-import/*/**",
            "gs://imaging-import/?/**.dcm",
            "gs://imaging-import/**.d*m",
            "gs://Bad_Bucket/x",
            "s3://imaging-import/x",
        ],
    ),
    (
        rules.check_store_ref,
        ["imaging/studies", "a.b/c_d"],
        ["imaging", "imaging/", "/studies", "a/b/c", "a b/c"],
    ),
    (
        rules.check_oauth_origin,
        ["http://localhost:3000", "https://viewer.example.com", "https://viewer.example.com:8443"],
        [
            "https://viewer.example.com/",
            "https://viewer.example.com/path",
            "viewer.example.com",
            "ftp://viewer.example.com",
            "https://*.example.com",
            "https://",
            "http://localhost:99999",
        ],
    ),
    (
        rules.check_oauth_client_id,
        ["1234567890-abc.apps.googleusercontent.com"],
        ["abc", "1234567890-abc.apps.google.com", "x-abc.apps.googleusercontent.com"],
    ),
    (
        rules.check_site_name,
        ["general", "st-marys", "a", "a" * 30, "site2"],
        ["", "General", "2site", "st_marys", "a" * 31, "site-", "st marys"],
    ),
]


@pytest.mark.parametrize(
    ("check", "value", "valid"),
    [(c, v, True) for c, good, _ in CASES for v in good]
    + [(c, v, False) for c, _, bad in CASES for v in bad],
    ids=lambda x: getattr(x, "__name__", repr(x)),
)
def test_rule(check: Check, value: str, valid: bool) -> None:
    problem = check(value)
    if valid:
        assert problem is None
    else:
        assert problem is not None
        assert isinstance(problem, str) and len(problem) > 10


def test_messages_state_the_rule() -> None:
    assert "6 to 30 characters" in (rules.check_project_id("Abc") or "")
    assert "(it has uppercase letters)" in (rules.check_project_id("Abcdefg") or "")
    assert "did you mean `roles/healthcare.dicomViewer`" in (
        rules.check_role("healthcare.dicomViewer") or ""
    )
    assert "did you mean 'us-central1'" in (rules.check_healthcare_location("us-central9") or "")
    assert "bigquery.googleapis.com" in (
        rules.check_service_name("bigquery-json.googleapis.com") or ""
    )
    assert "uppercase" in (
        rules.check_billing_account("billingAccounts/0a1b2c-3d4e5f-6a7b8c") or ""
    )


@pytest.mark.parametrize(
    ("labels", "bad_keys"),
    [
        ({"env": "dev", "team": "imaging-1"}, []),
        ({"Env": "dev"}, ["Env"]),
        ({"env": "Dev"}, ["env"]),
        ({"env-": "dev"}, ["env-"]),
        ({"e" * 64: ""}, ["e" * 64]),
        ({f"k{i}": "" for i in range(65)}, [None]),
    ],
)
def test_crm_labels(labels: dict[str, str], bad_keys: list[str | None]) -> None:
    assert [key for key, _, _ in rules.check_crm_labels(labels)] == bad_keys


@pytest.mark.parametrize(
    ("labels", "bad"),
    [
        ({"env": "dev", "site_2": "st-marys"}, []),
        ({"sité": "général"}, []),
        ({"Env": "dev"}, [("Env", "key")]),
        ({"1env": "dev"}, [("1env", "key")]),
        ({"env": "Dev"}, [("env", "value")]),
        ({"env": "a.b"}, [("env", "value")]),
    ],
)
def test_dicom_store_labels(labels: dict[str, str], bad: list[tuple[str, str]]) -> None:
    assert [(key, part) for key, part, _ in rules.check_dicom_store_labels(labels)] == bad


def test_dicom_store_label_byte_limit() -> None:
    key = "日" * 43  # 43 characters but 129 UTF-8 bytes
    assert rules.check_dicom_store_labels({key: ""})
    assert not rules.check_dicom_store_labels({"日" * 42: ""})


@pytest.mark.parametrize(
    ("member", "resource", "allowed"),
    [
        ("allUsers", "project", False),
        ("allAuthenticatedUsers", "project", False),
        ("allUsers", "bucket", True),
        ("projectViewer:imaging-dev-4821", "bucket", True),
        ("projectViewer:imaging-dev-4821", "dicomStore", False),
        ("user:a@example.com", "project", True),
    ],
)
def test_member_allowed(member: str, resource: rules.ResourceKind, allowed: bool) -> None:
    assert (rules.check_member_allowed(member, resource) is None) is allowed


@pytest.mark.parametrize(
    ("resource", "role", "ubla", "allowed"),
    [
        ("project", "roles/healthcare.dicomViewer", True, True),
        ("project", "roles/viewer", True, False),
        ("project", "roles/owner", True, False),
        ("bucket", "roles/storage.objectViewer", True, True),
        ("bucket", "roles/storage.objectViewer", False, False),
        ("dataset", "roles/healthcare.dicomViewer", True, False),
        ("dicomStore", "roles/healthcare.dicomViewer", True, False),
    ],
)
def test_condition_allowed(
    resource: rules.ResourceKind, role: str, ubla: bool, allowed: bool
) -> None:
    problem = rules.check_condition_allowed(resource, role, uniform_bucket_level_access=ubla)
    assert (problem is None) is allowed


def test_placeholders() -> None:
    assert rules.has_placeholder("{site}-dicom")
    assert rules.has_placeholder("gs://{project}-x/**")
    assert not rules.has_placeholder("{ site }")
    assert not rules.has_placeholder("plain")
    assert rules.parse_gcs_uri("gs://b/x/y") == ("b", "x/y")
    assert rules.parse_gcs_uri("b/x") is None
    assert rules.split_store_ref("d/s") == ("d", "s")
