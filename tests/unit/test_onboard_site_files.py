"""Site files for `provision onboard` (path from the include glob, write / accept / refuse) and
the site's resource selection plus its dependencies (pure: files and data only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provision.blueprint.expand import expand
from provision.blueprint.loader import load
from provision.model import Address, Resource
from provision.onboard import (
    new_site,
    read_site,
    remove_created,
    site_file_text,
    write_site_file,
)
from provision.plan import with_dependencies
from provision.resources import addresses
from provision.site_scope import SiteError, site_addresses, site_file_path

REPO = Path(__file__).resolve().parents[2]
PROJECT = "imaging-dev-4821"


@pytest.fixture
def dev(tmp_path: Path) -> Path:
    target = tmp_path / "blueprints"
    shutil.copytree(REPO / "blueprints", target)
    return target / "dev.yaml"


def test_the_site_file_goes_into_the_folder_of_the_include_glob(dev: Path) -> None:
    assert site_file_path(load(dev), "st-marys") == dev.parent / "sites" / "st-marys.yaml"


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        ("sites/**/*.yaml", "sites/x.yaml"),
        ("*.site.yaml", None),
        ("regions/eu/sites/*.yaml", "regions/eu/sites/x.yaml"),
        ("sites/*.yml", None),
    ],
)
def test_globs_that_would_not_find_the_new_file_are_refused(
    dev: Path, include: str, expected: str | None
) -> None:
    text = dev.read_text(encoding="utf-8").replace("include: sites/*.yaml", f"include: '{include}'")
    dev.write_text(text, encoding="utf-8")
    loaded = load(dev, site_folder_may_be_missing=True)  # as onboarding does
    if expected is None:
        with pytest.raises(SiteError, match="does not match"):
            site_file_path(loaded, "x")
    else:
        assert site_file_path(loaded, "x") == dev.parent / expected


def test_a_blueprint_without_sites_cannot_take_one(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("version: 1\nproject:\n  id: plain-project-1\n", encoding="utf-8")
    with pytest.raises(SiteError, match="has no `sites` section"):
        site_file_path(load(path), "x")


def test_site_file_text_is_deterministic_and_loads_back(tmp_path: Path) -> None:
    site = new_site("st-marys", "europe-west4", "gs://archive/dicom/")
    text = site_file_text(site, "../dev.yaml")
    assert text == site_file_text(site, "../dev.yaml")
    assert text.endswith(
        "name: st-marys\nlocation: europe-west4\nvars:\n  import_uri: gs://archive/dicom\n"
    )


@pytest.mark.parametrize(
    "uri",
    [
        'gs://archive/it\'s "quoted": {x}, [y] # not a comment',
        "gs://archive/a: b\n  location: europe-west4",
    ],
)
def test_bucket_values_cannot_break_the_site_file_or_add_keys(tmp_path: Path, uri: str) -> None:
    """`--bucket` is written by the YAML library: quotes stay text; a line break is refused."""
    if "\n" in uri:
        with pytest.raises(SiteError, match="control character"):
            new_site("st-marys", None, uri)
        return
    path = tmp_path / "sites" / "st-marys.yaml"
    write_site_file(path, new_site("st-marys", None, uri), "../dev.yaml")
    again = read_site(path)
    assert again is not None
    assert again.location is None
    assert again.vars == {"import_uri": uri}


def test_a_blueprint_name_cannot_add_lines_to_the_site_file() -> None:
    text = site_file_text(new_site("st-marys"), "../odd\nlocation: europe-west4.yaml")
    assert [line for line in text.splitlines() if not line.startswith("#")] == ["name: st-marys"]


def test_write_accepts_an_identical_site_and_refuses_a_different_one(tmp_path: Path) -> None:
    path = tmp_path / "sites" / "a.yaml"
    site = new_site("a", "us-central1")
    first = write_site_file(path, site, "../b.yaml")
    assert first.created
    # Same site, other comments and key order: accepted, left as it is.
    path.write_text("location: us-central1  # moved\nname: a\n", encoding="utf-8")
    again = write_site_file(path, site, "../b.yaml")
    assert not again.created
    assert not remove_created(again)
    assert path.exists()
    with pytest.raises(SiteError, match="this run asks for 'europe-west4'"):
        write_site_file(path, new_site("a", "europe-west4"), "../b.yaml")
    # No location means the default location: the same site.
    assert not write_site_file(path, new_site("a"), "../b.yaml", "us-central1").created
    with pytest.raises(SiteError, match="this run asks for none"):
        write_site_file(path, new_site("a"), "../b.yaml", "europe-west4")
    path.write_text("name: [oops\n", encoding="utf-8")
    with pytest.raises(SiteError, match="not a valid site file"):
        write_site_file(path, site, "../b.yaml")
    assert path.read_text(encoding="utf-8") == "name: [oops\n"


@pytest.mark.parametrize(
    ("name", "location", "bucket", "message"),
    [
        ("-bad", None, None, "SITE: site name '-bad' is invalid"),
        ("a" * 31, None, None, "is invalid"),
        ("ok", "US", None, "--location: location 'US' does not offer"),
        ("ok", None, "s3://x", "--bucket: 's3://x' is not a gs:// URI"),
        ("ok", None, "gs://UPPER", "--bucket: "),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    name: str, location: str | None, bucket: str | None, message: str
) -> None:
    with pytest.raises(SiteError, match=message.replace("(", r"\(")):
        new_site(name, location, bucket)


def test_site_resources_are_the_site_files_objects_and_their_policies(dev: Path) -> None:
    (dev.parent / "sites" / "st-marys.yaml").write_text("name: st-marys\n", encoding="utf-8")
    loaded = load(dev)
    resources = expand(loaded)
    chosen = site_addresses(loaded, resources, "st-marys")
    dataset = addresses.dataset(PROJECT, "us-central1", "st-marys-imaging")
    bucket = f"{PROJECT}-st-marys-import"
    assert dataset in chosen
    assert addresses.dicom_store(dataset.name, "st-marys-dicom") in chosen
    assert addresses.bucket(bucket) in chosen
    assert addresses.bucket_iam(bucket) in chosen  # holds the service agent's grant
    assert not any("general" in a.name for a in chosen)
    assert addresses.project(PROJECT) not in chosen
    planned = with_dependencies(resources, chosen)
    shared = {
        addresses.project(PROJECT),
        addresses.billing(PROJECT),
        addresses.services(PROJECT),
        addresses.service_agent(PROJECT, "healthcare.googleapis.com"),
    }
    assert planned == chosen | shared
    with pytest.raises(SiteError, match="has no file"):
        site_addresses(loaded, resources, "nowhere")


def test_with_dependencies_follows_chains_and_ignores_unknown_addresses() -> None:
    a, b, c, d = (Address("k", n) for n in "abcd")
    resources = [Resource(a, {}), Resource(b, {}, (a,)), Resource(c, {}, (b,)), Resource(d, {})]
    assert with_dependencies(resources, {c}) == {a, b, c}
    assert with_dependencies(resources, {d, Address("k", "zzz")}) == {d}
    assert with_dependencies(resources, set()) == frozenset()


def test_a_site_leaves_out_what_other_sites_share_with_it() -> None:
    """In hospital.yaml both sites notify one topic, stream to one BigQuery dataset and encrypt
    with one key: the agent's grants on them (derived from whichever site asked first), the
    objects themselves and the agent belong to neither site, so `destroy --site` keeps them."""
    loaded = load(REPO / "blueprints" / "examples" / "hospital.yaml")
    resources = expand(loaded)
    for site in ("riverside", "st-marys"):
        chosen = site_addresses(loaded, resources, site)
        assert any(a.kind == addresses.DATASET and site in a.name for a in chosen)
        shared = {a for a in chosen if site not in a.name}
        assert shared == set(), (site, sorted(map(str, shared)))


def test_a_policy_does_not_take_in_the_object_it_is_on(tmp_path: Path) -> None:
    """With one site left, the agent's grants on the topic, dataset and key are that site's
    (nothing else needs them), but the topic, dataset and key themselves are the blueprint's."""
    examples = tmp_path / "examples"
    shutil.copytree(REPO / "blueprints" / "examples", examples)
    (examples / "hospital-sites" / "st-marys.yaml").unlink()
    loaded = load(examples / "hospital.yaml")
    chosen = site_addresses(loaded, expand(loaded), "riverside")
    kinds = {a.kind for a in chosen}
    assert {"pubsub.topic_iam", "bigquery.dataset_iam", "kms.crypto_key_iam"} <= kinds
    assert not kinds & {"pubsub.topic", "bigquery.dataset", "kms.crypto_key"}
