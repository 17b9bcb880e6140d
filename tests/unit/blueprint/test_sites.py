"""Site expansion: one rendering of the template per site file, problems at the site file."""

from __future__ import annotations

import pytest

from provision.blueprint.loader import load
from tests.unit.blueprint.conftest import Files, problems

MAIN = """\
project:
  id: imaging-test-1
services: [healthcare.googleapis.com]
sites:
  include: sites/*.yaml
  defaultLocation: us-central1
  template:
    datasets:
      - id: "{site}"
        location: "{location}"
        dicomStores:
          - id: "{site}-{modality}"
            labels: {site: "{site}"}
    buckets:
      - name: "{project}-{site}"
        location: "{location}"
    imports:
      - dicomStore: "{site}/{site}-{modality}"
        uri: "gs://{project}-{site}/**.dcm"
    serviceAgentGrants:
      - role: roles/storage.objectViewer
        bucket: "{project}-{site}"
"""


@pytest.fixture
def main(files: Files) -> Files:
    files.write("bp.yaml", MAIN)
    return files


def test_sites_are_expanded_in_file_name_order(main: Files) -> None:
    main.write("sites/b-north.yaml", "name: north\nlocation: europe-west4\nvars: {modality: ct}\n")
    main.write("sites/a-south.yaml", "name: south\nvars:\n  modality: mr\n")
    main.write("sites/notes.txt", "not a site")
    loaded = load(main.root / "bp.yaml")
    blueprint = loaded.blueprint
    assert [(d.id, d.location, d.dicom_stores[0].id) for d in blueprint.datasets] == [
        ("south", "us-central1", "south-mr"),
        ("north", "europe-west4", "north-ct"),
    ]
    assert [b.name for b in blueprint.buckets] == ["imaging-test-1-south", "imaging-test-1-north"]
    assert [i.uri for i in blueprint.imports] == [
        "gs://imaging-test-1-south/**.dcm",
        "gs://imaging-test-1-north/**.dcm",
    ]
    (agent,) = blueprint.service_agents
    assert agent.service == "healthcare.googleapis.com"
    assert [g.bucket for g in agent.grants or []] == [b.name for b in blueprint.buckets]
    assert [p.name for p in loaded.files] == ["bp.yaml", "a-south.yaml", "b-north.yaml"]
    assert loaded.warnings == ()
    assert blueprint.sites is not None
    assert blueprint.sites.include == "sites/*.yaml"
    # Expanded entries are located in their site file.
    assert str(loaded.locate("datasets[1].dicomStores[0].id")).endswith("b-north.yaml:3")


def test_sites_extend_declared_entries(files: Files) -> None:
    files.write(
        "bp.yaml",
        MAIN.replace(
            "services: [healthcare.googleapis.com]\n",
            "services: [healthcare.googleapis.com]\n"
            "datasets:\n  - id: shared\n    location: us\n"
            "serviceAgents:\n  - service: healthcare.googleapis.com\n    grants: []\n",
        ),
    )
    files.write("sites/one.yaml", "name: one\nvars: {modality: ct}\n")
    blueprint = load(files.root / "bp.yaml").blueprint
    assert [d.id for d in blueprint.datasets] == ["shared", "one"]
    assert len(blueprint.service_agents) == 1
    assert len(blueprint.service_agents[0].grants or []) == 1


def test_a_var_that_makes_an_invalid_id_points_at_the_var(main: Files) -> None:
    main.write("sites/one.yaml", "name: one\nvars:\n  modality: CT Scans\n")
    found = problems(main.root / "bp.yaml")
    site_file = str(main.root / "sites/one.yaml")
    assert [(d.file, d.line, d.column, d.path) for d in found] == [
        (site_file, 3, 13, "datasets[0].dicomStores[0].id"),
        (site_file, 3, 13, "imports[0].dicomStore"),
    ]
    assert "DICOM store id 'one-CT Scans' is invalid" in found[0].message
    assert "expanded for site 'one' from sites.template.datasets[0].dicomStores[0].id" in (
        found[0].message
    )
    assert f"{main.root / 'bp.yaml'}:12:" in found[0].message


def test_unknown_placeholder_is_an_error_at_the_site(main: Files) -> None:
    main.write("sites/one.yaml", "name: one\n")
    (found,) = problems(main.root / "bp.yaml")
    assert (found.file, found.line, found.path) == (str(main.root / "sites/one.yaml"), 1, "vars")
    assert "uses `{modality}`" in found.message
    assert "no var 'modality'" in found.message
    assert "known placeholders: location, project, site" in found.message


def test_missing_location(files: Files) -> None:
    files.write("bp.yaml", MAIN.replace("  defaultLocation: us-central1\n", ""))
    files.write("sites/one.yaml", "name: one\nvars: {modality: ct}\n")
    (found,) = problems(files.root / "bp.yaml")
    assert "has no `location` and `sites.defaultLocation` is not set" in found.message


@pytest.mark.parametrize(
    ("site", "line", "message"),
    [
        ("name: St Marys\n", 1, "site name 'St Marys' is invalid: it must be 1 to 30 characters"),
        ("name: " + "a" * 31 + "\n", 1, "1 to 30 characters"),
        ("nmae: one\n", 1, "unknown field `nmae`; did you mean `name`?"),
        ("name: one\nvars: {site: x}\n", 2, "var name 'site' is reserved"),
        ("name: one\nvars: {a-b: x}\n", 2, "var name 'a-b' is invalid"),
        ("name: one\nvars: {modality: 3}\n", 2, "expected a string, got the number 3"),
        ("name: [one\n", 2, "invalid YAML"),
        ("", 1, "the site file is empty"),
    ],
)
def test_bad_site_files(main: Files, site: str, line: int, message: str) -> None:
    main.write("sites/one.yaml", site)
    found = problems(main.root / "bp.yaml")
    assert found[0].file == str(main.root / "sites/one.yaml")
    assert found[0].line == line, str(found[0])
    assert any(message in d.message for d in found), "\n".join(map(str, found))


def test_duplicate_site_names(main: Files) -> None:
    main.write("sites/a.yaml", "name: one\nvars: {modality: ct}\n")
    main.write("sites/b.yaml", "name: one\nvars: {modality: mr}\n")
    (found,) = problems(main.root / "bp.yaml")
    assert found.file.endswith("b.yaml")
    assert "also defined in" in found.message


def test_duplicates_across_sites(files: Files) -> None:
    files.write("bp.yaml", MAIN.replace('- id: "{site}"', "- id: fixed"))
    files.write("sites/a.yaml", "name: one\nvars: {modality: ct}\n")
    files.write("sites/b.yaml", "name: two\nvars: {modality: ct}\n")
    found = problems(files.root / "bp.yaml")
    assert [(d.path, d.file.rsplit("/", 1)[-1]) for d in found] == [
        ("imports[0].dicomStore", "a.yaml"),
        ("datasets[1].id", "b.yaml"),
        ("imports[1].dicomStore", "b.yaml"),
    ]
    assert "dataset id 'fixed' is used twice" in found[1].message
    assert "first declared at " + str(files.root / "sites/a.yaml:1") in found[1].message


def test_template_errors_are_reported_once_at_the_template(main: Files) -> None:
    main.write(
        "bp.yaml",
        MAIN.replace('location: "{location}"\n        dicom', "location: mars\n        dicom"),
    )
    main.write("sites/a.yaml", "name: one\nvars: {modality: ct}\n")
    main.write("sites/b.yaml", "name: two\nvars: {modality: ct}\n")
    (found,) = problems(main.root / "bp.yaml")
    assert (found.file, found.line, found.path) == (
        str(main.root / "bp.yaml"),
        10,
        "sites.template.datasets[0].location",
    )


def test_malformed_placeholder(main: Files) -> None:
    main.write(
        "bp.yaml", MAIN.replace('uri: "gs://{project}-{site}/**.dcm"', 'uri: "gs://{ project }/x"')
    )
    main.write("sites/a.yaml", "name: one\nvars: {modality: ct}\n")
    (found,) = problems(main.root / "bp.yaml")
    assert found.path == "sites.template.imports[0].uri"
    assert "`{ project }` is not a placeholder" in found.message


def test_placeholders_outside_the_template_are_not_expanded(files: Files) -> None:
    files.write("bp.yaml", "project:\n  id: imaging-test-1\nbuckets:\n  - name: '{site}-x'\n")
    (found,) = problems(files.root / "bp.yaml")
    assert found.path == "buckets[0].name"


def test_literal_braces(files: Files) -> None:
    files.write(
        "bp.yaml",
        """\
        project:
          id: imaging-test-1
        sites:
          include: sites/*.yaml
          template:
            buckets:
              - name: "b-{site}"
                iam:
                  - role: roles/storage.objectViewer
                    members: [user:a@example.com]
                    condition:
                      title: "{site} only"
                      expression: "resource.name.startsWith('{{x}}')"
        """,
    )
    files.write("sites/one.yaml", "name: one\n")
    bucket = load(files.root / "bp.yaml").blueprint.buckets[0]
    assert bucket.iam[0].condition is not None
    assert bucket.iam[0].condition.title == "one only"
    assert bucket.iam[0].condition.expression == "resource.name.startsWith('{x}')"


def test_no_site_files_is_fine_but_a_missing_site_folder_is_an_error(main: Files) -> None:
    """Without its folder every site would be planned as dropped: never silently."""
    (main.root / "sites").mkdir()
    assert load(main.root / "bp.yaml").warnings == ()
    (main.root / "sites").rmdir()
    (error,) = problems(main.root / "bp.yaml")
    assert error.path == "sites.include" and error.severity == "error"
    assert "the site folder" in error.message and "sites does not exist" in error.message
    (main.root / "sites").write_text("not a folder\n")
    (error,) = problems(main.root / "bp.yaml")
    assert "sites is not a folder" in error.message


def test_an_include_outside_the_folder_is_reported_once(main: Files) -> None:
    text = (main.root / "bp.yaml").read_text().replace("sites/*.yaml", "../../*.yaml")
    (main.root / "bp.yaml").write_text(text)
    (error,) = problems(main.root / "bp.yaml")
    assert error.path == "sites.include"
    assert "must stay inside the blueprint's directory" in error.message


def test_implicit_agent_grants_replaced_by_site_grants_warns(files: Files) -> None:
    files.write(
        "bp.yaml",
        MAIN.replace(
            "services: [healthcare.googleapis.com]\n",
            "services: [healthcare.googleapis.com]\n"
            "serviceAgents:\n  - service: healthcare.googleapis.com\n",
        ),
    )
    files.write("sites/one.yaml", "name: one\nvars: {modality: ct}\n")
    loaded = load(files.root / "bp.yaml")
    (warning,) = loaded.warnings
    assert warning.path == "serviceAgents[0]"
    assert "replace that default" in warning.message
    assert len(loaded.blueprint.service_agents[0].grants or []) == 1


@pytest.mark.parametrize("include", ["/etc/*.yaml", "   "])
def test_include_must_be_a_relative_glob(files: Files, include: str) -> None:
    files.write(
        "bp.yaml",
        f"project:\n  id: imaging-test-1\nsites:\n  include: '{include}'\n  template: {{}}\n",
    )
    (found,) = problems(files.root / "bp.yaml")
    assert found.path == "sites.include"
