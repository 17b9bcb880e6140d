"""IAM v1 service accounts against the real discovery client."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from provision.emulator.server import RunningEmulator
from tests.emulator.clients import control, discovery_client, error_body, seed_project


def _accounts(emulator: RunningEmulator) -> Any:
    return discovery_client(emulator, "iam", "v1").projects().serviceAccounts()


def test_create_get_list_delete(emulator: RunningEmulator) -> None:
    seed_project(emulator, "iam-crud")
    accounts = _accounts(emulator)
    created = accounts.create(
        name="projects/iam-crud",
        body={
            "accountId": "importer",
            "serviceAccount": {"displayName": "Importer", "description": "Loads DICOM"},
        },
    ).execute()
    email = "importer@iam-crud.iam.gserviceaccount.com"
    assert created["name"] == f"projects/iam-crud/serviceAccounts/{email}"
    assert created["email"] == email
    assert created["projectId"] == "iam-crud"
    assert len(created["uniqueId"]) == 21
    assert created["oauth2ClientId"] == created["uniqueId"]
    assert created["displayName"] == "Importer"
    assert created["etag"]

    assert accounts.get(name=f"projects/iam-crud/serviceAccounts/{email}").execute() == created
    by_id = accounts.get(name=f"projects/-/serviceAccounts/{created['uniqueId']}").execute()
    assert by_id["email"] == email

    with pytest.raises(HttpError) as duplicate:
        accounts.create(name="projects/iam-crud", body={"accountId": "importer"}).execute()
    assert duplicate.value.status_code == 409

    for index in range(3):
        accounts.create(name="projects/iam-crud", body={"accountId": f"worker-{index}"}).execute()
    first = accounts.list(name="projects/iam-crud", pageSize=3).execute()
    second = accounts.list(
        name="projects/iam-crud", pageSize=3, pageToken=first["nextPageToken"]
    ).execute()
    assert len(first["accounts"]) + len(second["accounts"]) == 4
    assert "nextPageToken" not in second

    assert accounts.delete(name=f"projects/iam-crud/serviceAccounts/{email}").execute() == {}
    with pytest.raises(HttpError) as gone:
        accounts.get(name=f"projects/iam-crud/serviceAccounts/{email}").execute()
    assert gone.value.status_code == 404


def test_unknown_account_envelopes(emulator: RunningEmulator) -> None:
    seed_project(emulator, "iam-unknown")
    accounts = _accounts(emulator)
    email = "nobody-here@iam-unknown.iam.gserviceaccount.com"
    with pytest.raises(HttpError) as unknown:
        accounts.get(name=f"projects/iam-unknown/serviceAccounts/{email}").execute()
    assert unknown.value.status_code == 404
    assert error_body(unknown.value) == {
        "error": {
            "code": 404,
            "message": "Unknown service account",
            "status": "NOT_FOUND",
            "errors": [
                {"message": "Unknown service account", "domain": "global", "reason": "notFound"}
            ],
        }
    }
    with pytest.raises(HttpError) as wildcard:
        accounts.get(name=f"projects/-/serviceAccounts/{email}").execute()
    assert wildcard.value.status_code == 403
    assert error_body(wildcard.value)["error"]["status"] == "PERMISSION_DENIED"


def test_account_id_rules(emulator: RunningEmulator) -> None:
    seed_project(emulator, "iam-rules")
    accounts = _accounts(emulator)
    with pytest.raises(HttpError) as short:
        accounts.create(name="projects/iam-rules", body={"accountId": "abc"}).execute()
    assert error_body(short.value)["error"]["message"] == (
        'The account ID "abc" does not have a length between 6 and 30.'
    )
    for bad in ("Upper-case", "1digit-first", "ends-with-", "under_score"):
        with pytest.raises(HttpError) as invalid:
            accounts.create(name="projects/iam-rules", body={"accountId": bad}).execute()
        assert invalid.value.status_code == 400, bad
    with pytest.raises(HttpError) as long_name:
        accounts.create(
            name="projects/iam-rules",
            body={"accountId": "long-name", "serviceAccount": {"displayName": "x" * 101}},
        ).execute()
    assert long_name.value.status_code == 400
    with pytest.raises(HttpError) as missing_project:
        accounts.create(name="projects/no-such-proj", body={"accountId": "worker"}).execute()
    assert missing_project.value.status_code == 403


def test_new_account_is_eventually_consistent(emulator: RunningEmulator) -> None:
    control(emulator, "settings", {"service_account_visible_s": 30})
    seed_project(emulator, "iam-late")
    accounts = _accounts(emulator)
    accounts.create(name="projects/iam-late", body={"accountId": "late-bloomer"}).execute()
    name = "projects/iam-late/serviceAccounts/late-bloomer@iam-late.iam.gserviceaccount.com"
    with pytest.raises(HttpError) as not_yet:
        accounts.get(name=name).execute()
    assert not_yet.value.status_code == 404
    world = emulator.world
    clock = world.clock
    world.clock = lambda: clock() + 31
    try:
        assert accounts.get(name=name).execute()["email"].startswith("late-bloomer@")
    finally:
        world.clock = clock


def test_grant_then_delete_leaves_a_deleted_member(emulator: RunningEmulator) -> None:
    seed_project(emulator, "iam-grants")
    accounts = _accounts(emulator)
    created = accounts.create(name="projects/iam-grants", body={"accountId": "reader"}).execute()
    member = f"serviceAccount:{created['email']}"
    crm = discovery_client(emulator, "cloudresourcemanager", "v3").projects()
    policy = crm.getIamPolicy(resource="projects/iam-grants", body={}).execute()
    policy["bindings"].append({"role": "roles/viewer", "members": [member]})
    crm.setIamPolicy(resource="projects/iam-grants", body={"policy": policy}).execute()
    accounts.delete(name=f"projects/iam-grants/serviceAccounts/{created['email']}").execute()
    after = crm.getIamPolicy(resource="projects/iam-grants", body={}).execute()
    viewers = next(b for b in after["bindings"] if b["role"] == "roles/viewer")
    assert viewers["members"] == [f"deleted:{member}?uid={created['uniqueId']}"]


def test_patch_disable_and_account_policy(emulator: RunningEmulator) -> None:
    seed_project(emulator, "iam-patch")
    accounts = _accounts(emulator)
    created = accounts.create(name="projects/iam-patch", body={"accountId": "patched"}).execute()
    name = f"projects/iam-patch/serviceAccounts/{created['email']}"
    patched = accounts.patch(
        name=name,
        body={"serviceAccount": {"displayName": "Renamed"}, "updateMask": "display_name"},
    ).execute()
    # only the name and the patched fields come back (golden iam__serviceaccount.http.log)
    assert patched == {"displayName": "Renamed", "name": name}
    described = accounts.patch(
        name=f"projects/-/serviceAccounts/{created['email']}",
        body={"serviceAccount": {"description": "Updated"}, "updateMask": "description"},
    ).execute()
    assert described == {"description": "Updated", "name": name}
    cleared = accounts.patch(
        name=name, body={"serviceAccount": {}, "updateMask": "description"}
    ).execute()
    assert cleared == {"name": name}
    fetched = accounts.get(name=name).execute()
    assert fetched["displayName"] == "Renamed" and "description" not in fetched
    assert fetched["etag"] != created["etag"]
    accounts.disable(name=name).execute()
    assert accounts.get(name=name).execute()["disabled"] is True
    accounts.enable(name=name).execute()
    assert "disabled" not in accounts.get(name=name).execute()
    policy = accounts.getIamPolicy(resource=name).execute()
    written = accounts.setIamPolicy(
        resource=name,
        body={
            "policy": {
                "etag": policy["etag"],
                "bindings": [
                    {"role": "roles/iam.serviceAccountUser", "members": ["user:a@example.com"]}
                ],
            }
        },
    ).execute()
    assert written["bindings"][0]["role"] == "roles/iam.serviceAccountUser"
