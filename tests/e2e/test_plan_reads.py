"""What a plan of a multi-site blueprint reads, end to end on the emulator (journal counts).

A location's `datasets.list` and the project's `buckets.list` (the scans for objects dropped from
the blueprint) also answer the reads of the datasets and buckets they list: those cost no
`datasets.get` / `buckets.get`. An object missing from its list is still read on its own, so absent
stays absent (404) and unreadable (403) still fails the plan, naming the object. The listed buckets'
IAM policies are read in Storage batches, and the DICOM store lists, dataset and store policies of a
location's declared datasets in Healthcare batches, sent alongside the location's list; a read a
batch did not answer is made on its own, with the same rule. A Healthcare batch endpoint that
refuses batches (or `PROVISION_HEALTHCARE_BATCH=off`) leaves every read to its own request.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import PROJECT, write_blueprint
from provision.emulator.server import RunningEmulator
from provision.gcp import api
from provision.gcp.api import GoogleApi
from provision.gcp.credentials import Target
from provision.gcp.methods import DICOM_STORES
from provision.gcp.settings import FAST_TIMING
from provision.resources import healthcare, healthcare_location, storage_project
from tests.e2e.cli import CliResult
from tests.e2e.conftest import CliFn, clear_journal, control, journal, set_faults

DATASET_GET = "projects.locations.datasets.get"
DATASET_LIST = "projects.locations.datasets.list"
BUCKET_GET = "buckets.get"
BUCKET_LIST = "buckets.list"
BUCKET_IAM = "buckets.getIamPolicy"
BATCH = "batch"
EUROPE = "europe-west4"
STORE_LIST = "projects.locations.datasets.dicomStores.list"
DATASET_IAM = "projects.locations.datasets.getIamPolicy"
STORE_IAM = "projects.locations.datasets.dicomStores.getIamPolicy"
HEALTHCARE_READS = (STORE_LIST, DATASET_IAM, STORE_IAM)


def dataset(site: str, location: str = "us-central1") -> str:
    return f"projects/{PROJECT}/locations/{location}/datasets/{site}-imaging"


def bucket(site: str) -> str:
    return f"{PROJECT}-{site}-import"


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    """Four sites (site0000..site0003), the last one in europe-west4: two dataset scans."""
    path = write_blueprint(tmp_path / "bp", 4)
    (path.parent / "sites" / "site0003.yaml").write_text(
        f"name: site0003\nlocation: {EUROPE}\n", encoding="utf-8"
    )
    return path


def add_site(blueprint: Path, name: str) -> None:
    (blueprint.parent / "sites" / f"{name}.yaml").write_text(f"name: {name}\n", encoding="utf-8")


def reads(emulator: RunningEmulator) -> list[dict[str, Any]]:
    entries = journal(emulator)
    assert all(not e["mutating"] for e in entries), [e["method_id"] for e in entries]
    return entries


def count(entries: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(e["method_id"]) for e in entries)


def batches(entries: list[dict[str, Any]]) -> Counter[str]:
    """Batches by API."""
    return Counter(str(e["api"]) for e in entries if e["method_id"] == BATCH)


def test_listed_datasets_and_buckets_cost_no_get_even_over_several_pages(
    cli: CliFn, sites: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply", sites, "--yes").exit_code == 0
    # two items a page: us-central1's 3 datasets take 2 pages, the 4 buckets 2 pages
    monkeypatch.setattr(healthcare_location, "PAGE_SIZE", 2)
    monkeypatch.setattr(storage_project, "PAGE_SIZE", 2)
    # a get would now fail the plan: only the lists may answer
    set_faults(
        emulator,
        rules=[
            {"api": "healthcare", "method_id": DATASET_GET, "status": 403},
            {"api": "storage", "method_id": BUCKET_GET, "status": 403},
        ],
    )
    clear_journal(emulator)
    plan = cli("plan", sites, "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert plan.stdout.startswith("No changes.")
    entries = reads(emulator)
    methods = count(entries)
    assert methods[DATASET_GET] == 0
    assert methods[BUCKET_GET] == 0
    assert methods[DATASET_LIST] == 2 + 1  # us-central1 in 2 pages, europe-west4 in 1
    assert methods[BUCKET_LIST] == 2
    # the 4 bucket policies; us-central1's 3 store lists, dataset and store policies
    # (europe-west4's one dataset reads its own)
    assert batches(entries) == {"storage": 1, "healthcare": 3}
    # per site: its dataset's store list, dataset IAM, store IAM, bucket IAM; once for the
    # blueprint: project, billing, services, project IAM (shared with the service agent)
    assert len(entries) == 4 * 4 + 4 + 3 + 2 + 1 + 3, sorted(methods.items())
    keys = [(e["method"], e["path"], e["query"]) for e in entries if e["method_id"] != BATCH]
    assert len(set(keys)) == len(keys)


def test_an_absent_dataset_and_bucket_are_read_and_planned_as_create(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", sites, "--yes").exit_code == 0
    add_site(sites, "site0004")
    clear_journal(emulator)
    plan = cli("plan", sites, "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert f"+ healthcare.dataset:{dataset('site0004')}" in plan.stdout
    assert f"+ storage.bucket:projects/_/buckets/{bucket('site0004')}" in plan.stdout
    entries = reads(emulator)
    got = [(e["method_id"], e["path"], e["status"]) for e in entries]
    dataset_gets = [g for g in got if g[0] == DATASET_GET]
    # the new dataset (404), then the same id in the Healthcare locations the blueprint does
    # not use (a moved dataset); never a dataset its location's list showed
    assert (DATASET_GET, f"/v1/{dataset('site0004')}", 404) in dataset_gets
    assert all(g[2] == 404 for g in dataset_gets), dataset_gets
    assert not [g for g in dataset_gets if "site0004" not in g[1]]
    bucket_gets = [g for g in got if g[0] == BUCKET_GET]
    assert bucket_gets == [(BUCKET_GET, f"/storage/v1/b/{bucket('site0004')}", 404)]
    # its store list and policies were asked for in its location's batches, before the list
    # showed it missing: 404s, taken for nothing (its store and both IAM objects are creates)
    batched = [(e["method_id"], e["status"]) for e in entries if e["in_batch"]]
    assert sorted(b for b in batched if b[1] != 200) == sorted((m, 404) for m in HEALTHCARE_READS)
    for kind in ("dataset_iam", "dicom_store", "dicom_store_iam"):
        assert f"+ healthcare.{kind}:{dataset('site0004')}" in plan.stdout, kind


def test_a_403_on_a_list_fails_the_plan_naming_the_scan(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", sites, "--yes").exit_code == 0
    set_faults(emulator, rules=[{"api": "healthcare", "method_id": DATASET_LIST, "status": 403}])
    plan = cli("plan", sites)
    assert plan.exit_code == 1
    assert "cannot plan" in plan.stderr
    assert f"healthcare.location:projects/{PROJECT}/locations/us-central1" in plan.stderr
    assert f"healthcare.location:projects/{PROJECT}/locations/{EUROPE}" in plan.stderr

    set_faults(emulator, rules=[{"api": "storage", "method_id": BUCKET_LIST, "status": 403}])
    plan = cli("plan", sites)
    assert plan.exit_code == 1
    assert "cannot plan" in plan.stderr
    assert f"storage.project:projects/{PROJECT}/buckets" in plan.stderr


def test_a_403_on_the_get_of_an_unlisted_object_fails_the_plan_naming_it(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", sites, "--yes").exit_code == 0
    add_site(sites, "site0004")
    set_faults(emulator, rules=[{"api": "healthcare", "method_id": DATASET_GET, "status": 403}])
    plan = cli("plan", sites)
    assert plan.exit_code == 1
    assert "cannot plan: 1 object(s)" in plan.stderr
    assert f"healthcare.dataset:{dataset('site0004')}" in plan.stderr

    set_faults(emulator, rules=[{"api": "storage", "method_id": BUCKET_GET, "status": 403}])
    plan = cli("plan", sites)
    assert plan.exit_code == 1
    assert "cannot plan: 1 object(s)" in plan.stderr
    assert f"storage.bucket:projects/_/buckets/{bucket('site0004')}" in plan.stderr
    assert "refused to read bucket" in plan.stderr


def test_a_plan_of_one_site_reads_its_objects_without_the_scans(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    assert cli("apply", sites, "--yes").exit_code == 0
    clear_journal(emulator)
    plan = cli("plan", sites, "--site", "site0001", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    methods = count(reads(emulator))
    assert (methods[DATASET_LIST], methods[BUCKET_LIST]) == (0, 0)
    assert (methods[DATASET_GET], methods[BUCKET_GET]) == (1, 1)


def plan_applied(
    cli: CliFn, sites: Path, emulator: RunningEmulator, *rules: dict[str, Any]
) -> CliResult:
    """Apply `sites`, then plan them with `rules` injected and the journal cleared."""
    assert cli("apply", sites, "--yes").exit_code == 0
    set_faults(emulator, rules=list(rules))
    clear_journal(emulator)
    return cli("plan", sites, "--detailed-exitcode")


def test_bucket_policies_are_read_in_batches_of_the_limit(
    cli: CliFn, sites: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "BATCH_LIMIT", 3)
    plan = plan_applied(cli, sites, emulator)
    assert plan.exit_code == 0, plan.output
    methods = count(reads(emulator))
    assert methods[BUCKET_IAM] == 4
    assert batches(reads(emulator))["storage"] == 2  # 3 + 1


def test_a_batch_refused_as_a_whole_leaves_each_policy_to_its_own_read(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    plan = plan_applied(cli, sites, emulator, {"api": "storage", "method_id": BATCH, "status": 403})
    assert plan.exit_code == 0, plan.output
    assert plan.stdout.startswith("No changes.")
    got = [(e["method_id"], e["status"]) for e in reads(emulator)]
    assert got.count((BATCH, 403)) == 1
    assert got.count((BUCKET_IAM, 200)) == 4


def test_a_403_on_batched_policies_fails_the_plan_naming_each_object(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    refused = {"api": "storage", "method_id": BUCKET_IAM, "status": 403}
    plan = plan_applied(cli, sites, emulator, refused)
    assert plan.exit_code == 1
    assert "cannot plan: 4 object(s)" in plan.stderr
    for site in ("site0000", "site0001", "site0002", "site0003"):
        assert f"storage.bucket_iam:projects/_/buckets/{bucket(site)}" in plan.stderr
    got = [(e["method_id"], e["status"]) for e in reads(emulator)]
    assert got.count((BUCKET_IAM, 403)) == 4 + 4  # in the batch, then each on its own


def test_a_policy_refused_inside_a_batch_is_read_again_alone(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    once = {"api": "storage", "method_id": BUCKET_IAM, "status": 403, "times": 1}
    plan = plan_applied(cli, sites, emulator, once)
    assert plan.exit_code == 0, plan.output  # its own read was answered
    policies = [e for e in reads(emulator) if e["method_id"] == BUCKET_IAM]
    refused = [e["path"] for e in policies if e["status"] == 403]
    alone = [e["path"] for e in policies if not e["in_batch"]]
    assert len(policies) == 4 + 1
    assert alone == refused and len(refused) == 1


def alone_and_batched(entries: list[dict[str, Any]], method_id: str) -> tuple[int, int]:
    """How many `method_id` calls were sent on their own, and inside batches."""
    calls = [e for e in entries if e["method_id"] == method_id]
    batched = sum(1 for e in calls if e["in_batch"])
    return len(calls) - batched, batched


def test_a_locations_datasets_stores_and_policies_are_read_in_healthcare_batches(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    plan = plan_applied(cli, sites, emulator)
    assert plan.exit_code == 0, plan.output
    assert plan.stdout.startswith("No changes.")
    entries = reads(emulator)
    # us-central1's three datasets in batches; europe-west4's one dataset on its own
    for method_id in HEALTHCARE_READS:
        assert alone_and_batched(entries, method_id) == (1, 3), method_id
    envelopes = [e for e in entries if e["method_id"] == BATCH and e["api"] == "healthcare"]
    assert [(e["path"], e["status"]) for e in envelopes] == [("/batch", 200)] * 3


def test_healthcare_batches_go_out_while_the_locations_list_is_in_flight(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    """The batches do not wait for `datasets.list`: they ask for the datasets the plan declares
    there, and the list's answer comes back alongside theirs (one round trip, not two)."""
    assert cli("apply", sites, "--yes").exit_code == 0
    control(emulator, "settings", {"method_latency_ms": {f"healthcare.{DATASET_LIST}": 400}})
    clear_journal(emulator)
    plan = cli("plan", sites, "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    entries = reads(emulator)
    (listed,) = [e for e in entries if e["method_id"] == DATASET_LIST and EUROPE not in e["path"]]
    answered = float(listed["start"]) + float(listed["ms"]) / 1000
    sent = [float(e["start"]) for e in entries if e["path"] == "/batch"]
    assert len(sent) == 3 and max(sent) < answered, (sent, answered)


def test_healthcare_batches_off_reads_each_object_on_its_own(
    cli: CliFn, sites: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISION_HEALTHCARE_BATCH", "off")
    plan = plan_applied(cli, sites, emulator)
    assert plan.exit_code == 0, plan.output
    entries = reads(emulator)
    assert batches(entries) == {"storage": 1}
    for method_id in HEALTHCARE_READS:
        assert alone_and_batched(entries, method_id) == (4, 0), method_id


def test_a_healthcare_endpoint_without_batches_is_read_one_call_at_a_time(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    """Whether Google serves Healthcare's `batchPath` is not documented: where it answers 404,
    the plan is the same, each read made on its own, and no batch is sent after the refusal."""
    assert cli("apply", sites, "--yes").exit_code == 0
    control(emulator, "settings", {"healthcare_batch": False})
    clear_journal(emulator)
    plan = cli("plan", sites, "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert plan.stdout.startswith("No changes.")
    entries = reads(emulator)
    refused = [e for e in entries if e["path"] == "/batch"]
    # the three batches of the one prefetch may all be in flight before the first 404 returns
    assert 1 <= len(refused) <= 3 and {e["status"] for e in refused} == {404}
    for method_id in HEALTHCARE_READS:
        assert alone_and_batched(entries, method_id) == (4, 0), method_id


def test_a_403_on_batched_healthcare_policies_fails_the_plan_naming_each_object(
    cli: CliFn, sites: Path, emulator: RunningEmulator
) -> None:
    refused = {"api": "healthcare", "method_id": DATASET_IAM, "status": 403}
    plan = plan_applied(cli, sites, emulator, refused)
    assert plan.exit_code == 1
    assert "cannot plan: 4 object(s)" in plan.stderr
    for site in ("site0000", "site0001", "site0002"):
        assert f"healthcare.dataset_iam:{dataset(site)}" in plan.stderr
    assert f"healthcare.dataset_iam:{dataset('site0003', EUROPE)}" in plan.stderr
    assert alone_and_batched(reads(emulator), DATASET_IAM) == (4, 3)  # batched, then alone


def test_a_store_list_with_more_pages_is_read_by_its_dataset(
    cli: CliFn, sites: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batched first page that is not the last is not taken as the whole list."""
    assert cli("apply", sites, "--yes").exit_code == 0
    google = GoogleApi(Target(endpoint=emulator.base_url, label="emulator"), FAST_TIMING)
    for site in ("site0000", "site0001", "site0002"):  # a second store in each
        google.call(f"{DICOM_STORES}.create", parent=dataset(site), dicomStoreId="extra", body={})
    monkeypatch.setattr(healthcare, "PAGE_SIZE", 1)
    clear_journal(emulator)
    plan = cli("plan", sites)
    assert plan.exit_code == 0, plan.output
    lists = [e for e in reads(emulator) if e["method_id"] == STORE_LIST]
    # 3 first pages batched; then each of those datasets pages on its own (2 pages), and
    # europe-west4's one dataset reads its one store
    assert sum(1 for e in lists if e["in_batch"]) == 3
    assert sum(1 for e in lists if not e["in_batch"]) == 3 * 2 + 1
