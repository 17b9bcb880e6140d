"""The loader: every problem at once, each at the right file:line:column, in plain words."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from provision.blueprint.loader import load
from provision.errors import BlueprintError
from tests.unit.blueprint.conftest import VALID, Files, errors, problems

REPO = Path(__file__).resolve().parents[3]

# (blueprint text, [(line, column, path, message substring), ...]) -- errors only, in order.
BAD: list[tuple[str, list[tuple[int, int, str, str]]]] = [
    (
        "project:\n  id: imaging-test-1\n  displayNmae: Imaging\n",
        [(3, 3, "project.displayNmae", "unknown field `displayNmae`; did you mean `displayName`?")],
    ),
    (
        "project:\n  id: imaging-test-1\n  billing_account: billingAccounts/0A1B2C-3D4E5F-6A7B8C\n",
        [(3, 3, "project.billing_account", "keys are camelCase: write `billingAccount`")],
    ),
    (
        "project:\n  id: imaging-test-1\nfrobnicate: true\n",
        [(3, 1, "frobnicate", "unknown field `frobnicate`; allowed here: `version`, `project`")],
    ),
    (
        "project:\n  displayName: Imaging\n",
        [(1, 1, "project.id", "required field `id` is missing")],
    ),
    ("services: []\n", [(1, 1, "project", "required field `project` is missing")]),
    (
        "project:\n  id: imaging-test-1\nservices:\n  healthcare: true\n",
        [(4, 3, "services", "expected a list of strings, got a mapping")],
    ),
    (
        "project:\n  id: imaging-test-1\nservices:\n  - 42\n",
        [(4, 5, "services[0]", "expected a string, got the number 42; put the value in quotes")],
    ),
    (
        "project:\n  id: imaging-test-1\n  labels:\n    env: yes\n",
        [(4, 10, "project.labels.env", "expected a string, got the boolean true")],
    ),
    (
        "project:\n  id: imaging-test-1\n  labels:\n    Env: dev\n",
        [(4, 5, "project.labels.Env", "label key 'Env' is invalid")],
    ),
    (
        "project:\n  id: Imaging_Test\n",
        [(2, 7, "project.id", "project id 'Imaging_Test' is invalid: it must be 6 to 30")],
    ),
    (
        "project:\n  id: imaging-test-1\n  parent: organisations/1\n",
        [(3, 11, "project.parent", "`organizations/NUMBER` or `folders/NUMBER`")],
    ),
    (
        "project:\n  id: imaging-test-1\ndatasets:\n  - id: a b\n    location: us-central9\n",
        [
            (4, 9, "datasets[0].id", "dataset id 'a b' is invalid"),
            (5, 15, "datasets[0].location", "did you mean 'us-central1'?"),
        ],
    ),
    (
        "project:\n  id: imaging-test-1\nbuckets:\n  - name: my-google-images\n",
        [(4, 11, "buckets[0].name", "contains 'google' or a look-alike")],
    ),
    (
        "project:\n  id: imaging-test-1\nbuckets:\n  - name: images-x\n    storageClass: HOT\n",
        [(5, 19, "buckets[0].storageClass", "expected one of 'STANDARD'")],
    ),
    (
        "project:\n  id: imaging-test-1\niam:\n  - role: roles/viewer\n    members: [allUsers]\n",
        [(5, 15, "iam[0].members[0]", "cannot be granted roles on a project")],
    ),
    (
        "project:\n  id: imaging-test-1\niam:\n  - role: roles/viewer\n    members: []\n",
        [(5, 14, "iam[0].members", "must have at least 1 entry")],
    ),
    (
        "project:\n  id: imaging-test-1\niam:\n  - role: roles/editor\n    members: [user:a@b.co]\n"
        "    condition: {title: t, expression: 'true'}\n",
        [(6, 5, "iam[0].condition", "basic role 'roles/editor' cannot have a condition")],
    ),
    (
        "project:\n  id: imaging-test-1\ndatasets:\n  - id: d\n    location: us\n    iam:\n"
        "      - role: roles/healthcare.dicomEditor\n        members: [user:a@b.co]\n"
        "        condition: {title: t, expression: 'true'}\n",
        [(9, 9, "datasets[0].iam[0].condition", "datasets do not accept IAM conditions")],
    ),
    (
        "project:\n  id: imaging-test-1\nbuckets:\n  - name: images-x\n"
        "    uniformBucketLevelAccess: false\n    iam:\n"
        "      - role: roles/storage.objectViewer\n        members: [user:a@b.co]\n"
        "        condition: {title: t, expression: 'true'}\n",
        [(9, 9, "buckets[0].iam[0].condition", "need `uniformBucketLevelAccess: true`")],
    ),
    (
        "project:\n  id: imaging-test-1\nservices:\n  - storage.googleapis.com\n"
        "  - storage.googleapis.com\n",
        [(5, 5, "services[1]", "listed twice (first declared at line 4)")],
    ),
    (
        "project:\n  id: imaging-test-1\ndatasets:\n  - id: d\n    location: us\n"
        "  - id: d\n    location: eu\n",
        [(6, 9, "datasets[1].id", "dataset id 'd' is used twice")],
    ),
    (
        "project:\n  id: imaging-test-1\ndatasets:\n  - id: d\n    location: us\n    dicomStores:\n"
        "      - id: s\n      - id: s\n",
        [(8, 13, "datasets[0].dicomStores[1].id", "DICOM store id 's' is used twice")],
    ),
    (
        "project:\n  id: imaging-test-1\nbuckets:\n  - name: images-x\n  - name: images-x\n",
        [(5, 11, "buckets[1].name", "bucket 'images-x' is declared twice")],
    ),
    (
        "project:\n  id: imaging-test-1\nimports:\n  - dicomStore: d/s\n    uri: gs://images-x/**\n",
        [(4, 17, "imports[0].dicomStore", "dataset 'd' is not declared")],
    ),
    (
        "project:\n  id: imaging-test-1\nimports:\n  - dicomStore: just-a-store\n"
        "    uri: gs://images-x/a/**/b\n",
        [
            (4, 17, "imports[0].dicomStore", "must be `DATASET/STORE`"),
            (5, 10, "imports[0].uri", "`**` must come at the end of the path"),
        ],
    ),
    (
        "project:\n  id: imaging-test-1\nbuckets:\n  - name: images-x\nserviceAgents:\n"
        "  - service: healthcare.googleapis.com\n    grants:\n"
        "      - {role: roles/storage.objectViewer, bucket: images-y}\n"
        "      - {role: roles/storage.objectViewer}\n",
        [
            (8, 52, "serviceAgents[0].grants[0].bucket", "bucket 'images-y' is not declared"),
            (9, 9, "serviceAgents[0].grants[1]", "a grant needs exactly one target"),
        ],
    ),
    (
        "project:\n  id: imaging-test-1\n  id: imaging-test-2\n",
        [(3, 3, "", "duplicate key 'id' (first at line 2)")],
    ),
    (
        "version: 2\nproject:\n  id: imaging-test-1\n",
        [(1, 10, "version", "expected one of 1, got 2")],
    ),
    (
        "project:\n  id: imaging-test-1\noauth:\n  origins: [https://viewer.example.com/]\n",
        [(4, 13, "oauth.origins[0]", "must not have a path")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[e[0][2] for _, e in BAD])
def test_bad_blueprints(files: Files, text: str, expected: list[tuple[int, int, str, str]]) -> None:
    path = files.write("bp.yaml", text)
    found = errors(path)
    assert len(found) == len(expected), "\n".join(map(str, found))
    for diagnostic, (line, column, field_path, message) in zip(found, expected, strict=True):
        assert (diagnostic.file, diagnostic.line, diagnostic.column) == (str(path), line, column), (
            str(diagnostic)
        )
        assert diagnostic.path == field_path
        assert message in diagnostic.message, str(diagnostic)


def test_three_mistakes_are_all_reported_with_their_lines(files: Files) -> None:
    path = files.write(
        "bp.yaml",
        """\
        project:
          id: Imaging_Dev
        services:
          - healthcare.googleapis.com
        datasets:
          - id: imaging
            location: us-central1
            dicomStores:
              - id: studies
                lables:
                  env: dev
        imports:
          - dicomStore: imaging/stuides
            uri: gs://imaging-landing-7731/dicom/**.dcm
        buckets:
          - name: imaging-landing-7731
        serviceAgents:
          - service: healthcare.googleapis.com
        """,
    )
    found = problems(path)
    assert [(d.line, d.column, d.path) for d in found] == [
        (2, 7, "project.id"),
        (10, 9, "datasets[0].dicomStores[0].lables"),
        (13, 17, "imports[0].dicomStore"),
    ]
    assert all(d.severity == "error" for d in found)
    assert "did you mean `labels`?" in found[1].message
    assert "has no DICOM store 'stuides' (its stores: studies)" in found[2].message


def test_broken_example_matches_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    found = problems(REPO / "blueprints/examples/broken.yaml")
    assert [(d.line, d.path) for d in found] == [
        (3, "project.id"),
        (11, "datasets[0].dicomStores[0].lables"),
        (14, "imports[0].dicomStore"),
    ]


def test_dev_blueprint_is_valid() -> None:
    loaded = load(REPO / "blueprints/dev.yaml")
    blueprint = loaded.blueprint
    assert blueprint.project.id == "imaging-dev-4821"
    assert [d.id for d in blueprint.datasets] == ["imaging-dev", "general-imaging"]
    assert [b.name for b in blueprint.buckets] == [
        "imaging-dev-4821-dicom-import",
        "imaging-dev-4821-general-import",
    ]
    assert [i.dicom_store for i in blueprint.imports] == [
        "imaging-dev/dicom-main",
        "general-imaging/general-dicom",
    ]
    agent = blueprint.service_agents[0]
    assert agent.service == "healthcare.googleapis.com"
    assert [g.bucket for g in agent.grants or []] == [b.name for b in blueprint.buckets]
    assert [f.name for f in loaded.files] == ["dev.yaml", "general.yaml"]
    assert blueprint.sites is not None
    assert blueprint.sites.template.datasets[0].id == "{site}-imaging"
    assert all(w.severity == "warning" for w in loaded.warnings)
    assert str(loaded.locate("datasets[1].dicomStores[0].id")).endswith("sites/general.yaml:3")
    assert loaded.locate("datasets[0].dicomStores[0].id").line == 31


def test_minimal_example_is_valid_without_warnings() -> None:
    loaded = load(REPO / "blueprints/examples/minimal.yaml")
    assert loaded.warnings == ()
    assert loaded.blueprint.project.create is False


def test_valid_blueprint_has_no_warnings(files: Files) -> None:
    loaded = load(files.write("bp.yaml", VALID))
    assert loaded.warnings == ()
    assert loaded.locate("datasets[0].dicomStores[0].id").line == 9
    assert loaded.locate("no.such.path").line is None


def test_snake_case_keys_are_rejected_but_python_can_construct_by_name() -> None:
    from provision.blueprint.schema import Project

    assert Project(id="imaging-test-1", display_name="Imaging").display_name == "Imaging"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("project: [\n", 2, 1, "invalid YAML: while parsing a flow node"),
        ("project:\n  id: x\n\tbad: 1\n", 3, 1, "invalid YAML"),
        ("a: 1\n---\nb: 2\n", 2, 1, "expected a single document"),
        ("project: !custom x\n", 1, 10, "unsupported YAML tag '!custom'"),
        ("a: &x [*x]\n", 1, 4, "an alias refers to the mapping or list that contains it"),
        ("- a\n- b\n", 1, 1, "a blueprint is a mapping of keys such as `project:`, not a list"),
        ("", 1, 1, "the blueprint is empty"),
        ("a: 1\nb: \x01\n", 2, 4, "control character U+0001"),
    ],
)
def test_yaml_problems(files: Files, text: str, line: int, column: int, message: str) -> None:
    path = files.write("bp.yaml", text)
    found = problems(path)
    assert (found[0].line, found[0].column) == (line, column), str(found[0])
    assert message in found[0].message


def test_unreadable_and_undecodable_files(tmp_path: Path) -> None:
    found = problems(tmp_path / "missing.yaml")
    assert found[0].message.startswith("cannot read: No such file")
    (tmp_path / "latin1.yaml").write_bytes(b"project:\n  id: caf\xe9\n")
    assert "not UTF-8" in problems(tmp_path / "latin1.yaml")[0].message
    assert "cannot read" in problems(tmp_path)[0].message


def test_deep_nesting_is_refused(files: Files) -> None:
    path = files.write("bp.yaml", "a: " + "[" * 3000 + "]" * 3000 + "\n")
    assert "nested" in problems(path)[0].message


def test_merge_keys_and_anchors(files: Files) -> None:
    path = files.write(
        "bp.yaml",
        """\
        project:
          id: imaging-test-1
        x-viewers: &viewers
          role: roles/healthcare.dicomStoreViewer
          members: [group:viewers@example.com]
        """,
    )
    # Unknown top-level keys are still errors, anchors or not.
    assert problems(path)[0].path == "x-viewers"
    path = files.write(
        "bp.yaml",
        """\
        project:
          id: imaging-test-1
          labels: &labels
            env: dev
        buckets:
          - name: images-x
            labels:
              <<: *labels
              owner: imaging
        """,
    )
    loaded = load(path)
    assert loaded.blueprint.buckets[0].labels == {"env": "dev", "owner": "imaging"}


def test_warnings_for_risky_grants(files: Files) -> None:
    path = files.write(
        "bp.yaml",
        """\
        project:
          id: imaging-test-1
        services: [healthcare.googleapis.com]
        datasets:
          - id: d
            location: us
            labels: {env: dev}
            dicomStores:
              - id: s
                iam:
                  - role: roles/healthcare.dicomStoreAdmin
                    members: [user:alice@example.com, serviceAccount:ci@p.iam.gserviceaccount.com]
                  - role: roles/healthcare.dicomViewer
                    members: [group:viewers@example.com, allUsers]
        imports:
          - dicomStore: d/s
            uri: gs://external-landing/**.dcm
        oauth:
          origins: [http://viewer.example.com]
        """,
    )
    warnings = load(path).warnings
    assert [(w.line, w.path) for w in warnings] == [
        (7, "datasets[0].labels"),
        (12, "datasets[0].dicomStores[0].iam[0].members[0]"),
        (14, "datasets[0].dicomStores[0].iam[1].members[0]"),
        (14, "datasets[0].dicomStores[0].iam[1].members[1]"),
        (17, "imports[0].uri"),
        (19, "oauth.origins[0]"),
    ]
    messages = [w.message for w in warnings]
    assert "setIamPolicy" in messages[1]
    assert "healthcare.dicomStores.export" in messages[2]
    assert "roles/healthcare.dicomStoreViewer" in messages[2]
    assert "anyone on the internet" in messages[3]
    assert "not declared in this blueprint" in messages[4]
    assert all(w.severity == "warning" for w in warnings)


def test_import_bucket_without_agent_grant_warns(files: Files) -> None:
    text = VALID.replace(
        "  - service: healthcare.googleapis.com\n",
        "  - service: healthcare.googleapis.com\n    grants:\n"
        "      - {role: roles/healthcare.serviceAgent, project: true}\n",
    )
    warnings = load(files.write("bp.yaml", text)).warnings
    assert len(warnings) == 1
    assert "has no read grant on bucket 'imaging-test-1-import'" in warnings[0].message


def test_errors_and_warnings_are_reported_together(files: Files) -> None:
    path = files.write(
        "bp.yaml",
        "project:\n  id: bad\nimports:\n  - dicomStore: d/s\n    uri: gs://ext-bucket/**\n",
    )
    with pytest.raises(BlueprintError) as caught:
        load(path)
    severities = [d.severity for d in caught.value.diagnostics]
    assert severities.count("error") == 2
    assert severities.count("warning") == 1
    assert str(caught.value).startswith("2 problems in blueprint:")


def test_digest_covers_every_file_and_its_name(files: Files) -> None:
    main = files.write(
        "bp.yaml",
        VALID + "sites:\n  include: sites/*.yaml\n  template: {}\n",
    )
    files.write("sites/a.yaml", "name: a\n")
    first = load(main).digest
    assert first == load(main).digest
    files.write("sites/a.yaml", "name: a\nvars: {x: y}\n")
    second = load(main).digest
    assert second != first
    expected = hashlib.sha256()
    for name, content in (
        ("bp.yaml", main.read_bytes()),
        ("sites/a.yaml", b"name: a\nvars: {x: y}\n"),
    ):
        expected.update(f"{name}\0{len(content)}\0".encode() + content)
    assert second == expected.hexdigest()


def test_diagnostics_with_and_without_positions_sort_together() -> None:
    from provision.errors import Diagnostic

    error = BlueprintError(
        [Diagnostic("a.yaml", 3, 1, "x", "later"), Diagnostic("a.yaml", None, None, "", "first")]
    )
    assert [d.message for d in error.diagnostics] == ["first", "later"]


READS_ALL = VALID.replace(
    "uri: gs://imaging-test-1-import/**.dcm", "uri: gs://imaging-test-1-import/**"
)


def test_an_import_that_would_read_the_lease_object_is_an_error(files: Files) -> None:
    only_bucket = errors(files.write("bp.yaml", READS_ALL))
    assert [(d.line, d.column, d.path) for d in only_bucket] == [(16, 10, "imports[0].uri")]
    assert "every bucket this blueprint declares is read by an import that would also read " in (
        only_bucket[0].message
    )
    assert "set lease.bucket to a bucket no import reads" in only_bucket[0].message
    leased = errors(
        files.write("leased.yaml", READS_ALL + "lease:\n  bucket: imaging-test-1-import\n")
    )
    assert [d.path for d in leased] == ["imports[0].uri"]
    assert (
        "would read the lease object "
        "gs://imaging-test-1-import/provision-locks/imaging-test-1.lease (lease.bucket)"
    ) in leased[0].message


def test_a_bucket_no_import_reads_or_lease_bucket_elsewhere_is_valid(files: Files) -> None:
    elsewhere = READS_ALL + "lease:\n  bucket: platform-state\n"
    assert load(files.write("elsewhere.yaml", elsewhere)).warnings == ()
    second = READS_ALL.replace(
        "buckets:\n  - name: imaging-test-1-import\n",
        "buckets:\n  - name: imaging-test-1-import\n  - name: imaging-test-1-state\n",
    )
    assert load(files.write("second.yaml", second)).warnings == ()
