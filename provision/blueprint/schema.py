"""The blueprint language: pydantic models of what a YAML blueprint may say.

YAML keys are camelCase (as in Google's APIs); Python attributes are snake_case. Every model
forbids unknown keys and is immutable. Google's id rules live in `provision.blueprint.rules` and
are attached here as validators, so one validation pass reports every malformed value at once.
Checks that span several objects (duplicates, references to stores and buckets) live in
`provision.blueprint.validate`.

Validators raise `RuleError`, a `ValueError` that can point below the field it validates
(e.g. at one label key or one member of a binding); `provision.blueprint.messages` turns those
into diagnostics.

Site templates: when validated with `context={TEMPLATE_CONTEXT: True}`, strings holding a
placeholder such as `{site}` skip their id rule; the rendered copies are checked in full.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from provision.blueprint import rules, warning_codes

TEMPLATE_CONTEXT = "site_template"
"""Validation-context key: set it to True to validate a site template (placeholders allowed)."""

SubPath = tuple[str | int, ...]
Anchor = Literal["key", "value"]
Problem = tuple[SubPath, str, Anchor]
"""A path below the validated value, the message, and whether it is about a key or a value."""


class RuleError(ValueError):
    """One or more problems found by a validator, each at a path below the validated value."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message, _ in problems))


def _in_template(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get(TEMPLATE_CONTEXT))


def _rule(check: Callable[[str], str | None]) -> AfterValidator:
    """A validator that applies one `rules.check_*` function to a string."""

    def validate(value: str, info: ValidationInfo) -> str:
        if _in_template(info) and rules.has_placeholder(value):
            return value
        problem = check(value)
        if problem is not None:
            raise RuleError([((), problem, "value")])
        return value

    return AfterValidator(validate)


LabelCheck = Callable[[dict[str, str]], list[rules.LabelProblem]]


def _labels_rule(check: LabelCheck) -> AfterValidator:
    def validate(value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        checked = value
        if _in_template(info):
            checked = {
                k: v
                for k, v in value.items()
                if not (rules.has_placeholder(k) or rules.has_placeholder(v))
            }
        problems = check(checked)
        if problems:
            raise RuleError(
                [(() if key is None else (key,), text, part) for key, part, text in problems]
            )
        return value

    return AfterValidator(validate)


ProjectId = Annotated[str, _rule(rules.check_project_id)]
ProjectDisplayName = Annotated[str, _rule(rules.check_project_display_name)]
Parent = Annotated[str, _rule(rules.check_parent)]
BillingAccount = Annotated[str, _rule(rules.check_billing_account)]
DatasetId = Annotated[str, _rule(rules.check_dataset_id)]
DicomStoreId = Annotated[str, _rule(rules.check_dicom_store_id)]
HealthcareLocation = Annotated[str, _rule(rules.check_healthcare_location)]
TimeZone = Annotated[str, _rule(rules.check_time_zone)]
PubsubTopic = Annotated[str, _rule(rules.check_pubsub_topic)]
BigQueryTable = Annotated[str, _rule(rules.check_bigquery_table_uri)]
TopicId = Annotated[str, _rule(rules.check_topic_id)]
TopicRef = Annotated[str, _rule(rules.check_topic_ref)]
BigQueryDatasetId = Annotated[str, _rule(rules.check_bigquery_dataset_id)]
BucketName = Annotated[str, _rule(rules.check_bucket_name)]
BucketLocation = Annotated[str, _rule(rules.check_bucket_location)]
ServiceName = Annotated[str, _rule(rules.check_service_name)]
Role = Annotated[str, _rule(rules.check_role)]
CustomRoleId = Annotated[str, _rule(rules.check_custom_role_id)]
ForgottenAddress = Annotated[str, _rule(rules.check_address)]
Permission = Annotated[str, _rule(rules.check_permission)]
Member = Annotated[str, _rule(rules.check_member)]
StoreRef = Annotated[str, _rule(rules.check_store_ref)]
ImportUri = Annotated[str, _rule(rules.check_import_uri)]
OAuthClientId = Annotated[str, _rule(rules.check_oauth_client_id)]
OAuthOrigin = Annotated[str, _rule(rules.check_oauth_origin)]
SiteName = Annotated[str, _rule(rules.check_site_name)]
CrmLabels = Annotated[dict[str, str], _labels_rule(rules.check_crm_labels)]
Labels = Annotated[dict[str, str], _labels_rule(rules.check_labels)]
DicomStoreLabels = Annotated[dict[str, str], _labels_rule(rules.check_dicom_store_labels)]
KmsId = Annotated[str, _rule(rules.check_kms_id)]
KmsLocation = Annotated[str, _rule(rules.check_kms_location)]
KmsKeyName = Annotated[str, _rule(rules.check_kms_key_name)]
RotationPeriod = Annotated[str, _rule(rules.check_rotation_period)]
AuditService = Annotated[str, _rule(rules.check_audit_service)]


class Model(BaseModel):
    """Base for every blueprint model: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        str_strip_whitespace=False,
    )


class Condition(Model):
    """An IAM condition (CEL expression); only projects and uniform-access buckets take them."""

    title: str = Field(description="A short name for the condition.")
    expression: str = Field(description="A CEL expression, e.g. `request.time < timestamp(...)`.")
    description: str = ""


class Binding(Model):
    """Grant `role` to `members`.

    Additive by default: members are added and nobody else is touched. With `authoritative: true`
    the role holds exactly these members (with this condition) and the plan names each member it
    would remove.
    """

    role: Role = Field(description=f"The role: {rules.ROLE_RULE}.")
    members: list[Member] = Field(min_length=1, description=f"Principals: {rules.MEMBER_RULE}.")
    condition: Condition | None = Field(
        default=None,
        description="Only on the project and on buckets with uniform bucket-level access; "
        "never with basic roles (owner, editor, viewer).",
    )
    authoritative: bool = Field(
        default=False,
        description="Make this role hold exactly these members; others are removed.",
    )


def _iam_problems(
    bindings: list[Binding],
    resource: rules.ResourceKind,
    prefix: SubPath = (),
    *,
    uniform_bucket_level_access: bool = True,
) -> list[Problem]:
    """Per-resource IAM restrictions: who may be granted there, and whether conditions are OK."""
    problems: list[Problem] = []
    for index, binding in enumerate(bindings):
        for position, member in enumerate(binding.members):
            problem = rules.check_member_allowed(member, resource)
            if problem is not None:
                problems.append(((*prefix, index, "members", position), problem, "value"))
        if binding.condition is not None:
            problem = rules.check_condition_allowed(
                resource, binding.role, uniform_bucket_level_access=uniform_bucket_level_access
            )
            if problem is not None:
                problems.append(((*prefix, index, "condition"), problem, "key"))
    return problems


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise RuleError(problems)


class CustomRole(Model):
    """A project-level custom role, granted in any `iam` list as `projects/PROJECT/roles/ID`
    (e.g. a viewer role without `healthcare.dicomStores.export`)."""

    id: CustomRoleId = Field(description=f"Role id: {rules.CUSTOM_ROLE_ID_RULE}.")
    title: str = Field(default="", max_length=100, description="Shown in the console.")
    description: str = Field(default="", max_length=300, description="What the role is for.")
    included_permissions: list[Permission] = Field(
        min_length=1, description=f"The permissions it grants: {rules.PERMISSION_RULE}."
    )
    stage: Literal["ALPHA", "BETA", "GA", "DEPRECATED", "DISABLED", "EAP"] = Field(
        default="GA", description="Its launch stage; DISABLED makes grants of it grant nothing."
    )


class Project(Model):
    """The Google Cloud project everything lives in."""

    id: ProjectId = Field(description=f"Project id: {rules.PROJECT_ID_RULE}.")
    display_name: ProjectDisplayName | None = Field(
        default=None, description=f"Shown in the console: {rules.PROJECT_DISPLAY_NAME_RULE}."
    )
    parent: Parent | None = Field(
        default=None, description="`organizations/N` or `folders/N`; omit for no parent."
    )
    billing_account: BillingAccount | None = Field(
        default=None, description="`billingAccounts/XXXXXX-XXXXXX-XXXXXX`."
    )
    labels: CrmLabels = Field(default_factory=dict, description=f"Labels: {rules.CRM_LABEL_RULE}.")
    create: bool = Field(
        default=True,
        description="Create the project when it does not exist; false to require an existing one.",
    )


NO_BULK_IMPORT_FLAG = (
    "sendForBulkImport cannot be true: notifications are set as the store's "
    "notificationConfigs, whose items (Google's v1 DicomNotificationConfig) carry only "
    "pubsubTopic; drop the flag"
)


class NotificationConfig(Model):
    """Publish a Pub/Sub message for every instance stored (one item of the store's
    `notificationConfigs`)."""

    pubsub_topic: TopicRef = Field(
        description="`projects/{project}/topics/{topic}`, or the id of a topic declared in "
        "`topics` (the Cloud Healthcare Service Agent then gets `roles/pubsub.publisher` on it "
        "before the store is created)."
    )
    send_for_bulk_import: bool = Field(
        default=False,
        description="Must be false (kept so older blueprints still load). Google's v1 "
        "`notificationConfigs` items (DicomNotificationConfig) carry only `pubsubTopic`; the "
        "flag exists only on the deprecated single `notificationConfig`, which Google refuses "
        "together with `notificationConfigs`, so true is refused.",
    )

    @field_validator("send_for_bulk_import")
    @classmethod
    def _no_bulk_import_flag(cls, value: bool) -> bool:
        if value:
            raise RuleError([((), NO_BULK_IMPORT_FLAG, "value")])
        return value


FORCE_DEPRECATED = (
    "force is deprecated by Google (`writeDisposition` replaces it; force: true means "
    "WRITE_TRUNCATE); it is written as writeDisposition: WRITE_TRUNCATE"
)


class BigQueryDestination(Model):
    """Google's v1 `GoogleCloudHealthcareV1DicomBigQueryDestination`. The Cloud Healthcare
    Service Agent gets `roles/bigquery.dataEditor` on the table's dataset when the blueprint
    declares it (`bigqueryDatasets`), before the store is created or updated."""

    table_uri: BigQueryTable = Field(
        description="`bq://project.dataset.table`; Google creates the table on the first row."
    )
    write_disposition: Literal["WRITE_EMPTY", "WRITE_TRUNCATE", "WRITE_APPEND"] | None = Field(
        default=None,
        description="Whether an existing table is overwritten or appended to; unset is "
        "Google's default (WRITE_EMPTY).",
    )
    include_source_store: bool = Field(
        default=False, description="Add the source store's name as a column."
    )
    schema_type: Literal["FLATTENED", "JSON"] | None = Field(
        default=None,
        description="`FLATTENED` (one column per DICOM tag, Google's `schemaFlattened`) or "
        "`JSON` (all tags in one JSON column, `schemaJson`); unset is Google's default.",
    )
    force: bool = Field(
        default=False,
        description="Deprecated by Google: use `writeDisposition`. true is written as "
        "`writeDisposition: WRITE_TRUNCATE` (the loader warns); not together with "
        "`writeDisposition`.",
    )

    @model_validator(mode="after")
    def _force_or_disposition(self) -> BigQueryDestination:
        if self.force and self.write_disposition is not None:
            message = (
                "force and writeDisposition together: Google ignores force when "
                "writeDisposition is set; drop force"
            )
            raise RuleError([(("force",), message, "key")])
        return self


class StreamConfig(Model):
    """Stream the metadata of every instance stored to BigQuery."""

    bigquery_destination: BigQueryDestination = Field(description="Where to stream.")


BlobStorageClass = Literal["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"]
"""Google's v1 `BlobStorageSettings.blobStorageClass` values (unspecified aside)."""


class DicomStore(Model):
    """A DICOM store inside a dataset."""

    id: DicomStoreId = Field(description=f"Store id: {rules.HEALTHCARE_ID_RULE}.")
    labels: DicomStoreLabels = Field(
        default_factory=dict, description=f"Labels: {rules.DICOM_STORE_LABEL_RULE}."
    )
    notification_configs: list[NotificationConfig] = Field(
        default_factory=list,
        description="Pub/Sub notifications for new instances, set as the store's "
        "`notificationConfigs` (a store's deprecated `notificationConfig` is moved there).",
    )
    stream_configs: list[StreamConfig] = Field(
        default_factory=list, description="BigQuery streaming of instance metadata."
    )
    iam: list[Binding] = Field(
        default_factory=list, description="Store-level IAM (conditions are not accepted)."
    )
    blob_storage_class: BlobStorageClass | None = Field(
        default=None,
        description="Default storage class of the blobs its imports store (an import's own "
        "`blobStorageClass` wins). A v1 DICOM store has no storage class of its own: instances "
        "stored through STOW-RS are always STANDARD. A change applies to imports run from then "
        "on (see Import).",
    )
    deletion_protection: bool = Field(
        default=True,
        description="Refuse to delete this store even when named with --allow-delete. Kept on "
        "the store as the label `deletion-protection`, so it still holds after the store leaves "
        "the blueprint: set it to false and apply before removing a store you mean to delete.",
    )
    adopt: bool = Field(
        default=False, description="Take over an existing store not created by provision."
    )

    @field_validator("iam")
    @classmethod
    def _store_iam(cls, iam: list[Binding]) -> list[Binding]:
        _raise_if(_iam_problems(iam, "dicomStore"))
        return iam


class EncryptionSpec(Model):
    """A customer-managed encryption key (CMEK) for a dataset's data.

    Chosen at creation only: Google cannot change a dataset's key, so a different key (or none)
    for an existing dataset is refused, saying the dataset must be recreated. The project's
    Cloud Healthcare Service Agent is granted `roles/cloudkms.cryptoKeyEncrypterDecrypter` on
    the key, and the dataset is created once that grant is in effect."""

    kms_key_name: KmsKeyName = Field(
        description=f"{rules.KMS_KEY_NAME_RULE}, in the dataset's own location: a key of "
        "`keyRings` in this blueprint, or an existing one (e.g. in a security project)."
    )


class Dataset(Model):
    """A Cloud Healthcare dataset and the DICOM stores in it."""

    id: DatasetId = Field(description=f"Dataset id: {rules.HEALTHCARE_ID_RULE}.")
    location: HealthcareLocation = Field(
        description="A region that offers the Cloud Healthcare API, e.g. `us-central1`."
    )
    time_zone: TimeZone | None = Field(default=None, description="IANA time zone; empty means UTC.")
    labels: Labels = Field(
        default_factory=dict,
        description="Kept for tooling; the Cloud Healthcare API has no labels on datasets, so "
        "these are not applied (the loader warns).",
    )
    iam: list[Binding] = Field(
        default_factory=list, description="Dataset-level IAM (conditions are not accepted)."
    )
    dicom_stores: list[DicomStore] = Field(
        default_factory=list, description="The DICOM stores in this dataset."
    )
    deletion_protection: bool = Field(
        default=True,
        description="Refuse to delete this dataset even when named with --allow-delete. "
        "Datasets have no labels, so this is kept on each of its stores (label "
        "`deletion-protection`); false lifts the protection of the dataset and all its stores, "
        "and a dataset is deleted only when none of its stores is protected.",
    )
    adopt: bool = Field(
        default=False, description="Take over an existing dataset not created by provision."
    )
    encryption_spec: EncryptionSpec | None = Field(
        default=None,
        description="Encrypt the dataset with a customer-managed Cloud KMS key (CMEK); "
        "omitted means Google-managed encryption. Set at creation only.",
    )

    @field_validator("iam")
    @classmethod
    def _dataset_iam(cls, iam: list[Binding]) -> list[Binding]:
        _raise_if(_iam_problems(iam, "dataset"))
        return iam

    @model_validator(mode="after")
    def _key_in_dataset_location(self, info: ValidationInfo) -> Dataset:
        """Google allows only a key in the dataset's own location."""
        if self.encryption_spec is None:
            return self
        key = self.encryption_spec.kms_key_name
        if _in_template(info) and (
            rules.has_placeholder(key) or rules.has_placeholder(self.location)
        ):
            return self
        parts = rules.kms_key_parts(key)
        if parts is not None and parts[1] != self.location:
            message = (
                f"the key is in {parts[1]!r} but the dataset is in {self.location!r}: Cloud "
                "Healthcare accepts only a key in the dataset's own location"
            )
            raise RuleError([(("encryptionSpec", "kmsKeyName"), message, "value")])
        return self


class Topic(Model):
    """A Cloud Pub/Sub topic, e.g. where DICOM stores announce new instances."""

    id: TopicId = Field(description=f"Topic id: {rules.TOPIC_ID_RULE}.")
    labels: Labels = Field(default_factory=dict, description=f"Labels: {rules.LABEL_RULE}.")
    adopt: bool = Field(
        default=False, description="Take over an existing topic not created by provision."
    )


class BigQueryDataset(Model):
    """A BigQuery dataset, e.g. where DICOM stores stream instance metadata."""

    id: BigQueryDatasetId = Field(description=f"Dataset id: {rules.BIGQUERY_DATASET_RULE}.")
    location: str = Field(
        default="US",
        description="`US`, `EU` or a region; cannot change once the dataset exists.",
    )
    description: str | None = Field(default=None, description="Shown in the console.")
    labels: Labels = Field(default_factory=dict, description=f"Labels: {rules.LABEL_RULE}.")
    adopt: bool = Field(
        default=False, description="Take over an existing dataset not created by provision."
    )


class Bucket(Model):
    """A Cloud Storage bucket (typically the source of DICOM imports)."""

    name: BucketName = Field(description=f"Globally unique name: {rules.BUCKET_NAME_RULE}.")
    location: BucketLocation = Field(default="US", description=rules.BUCKET_LOCATION_RULE + ".")
    storage_class: Literal[
        "STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE", "MULTI_REGIONAL", "REGIONAL"
    ] = Field(default="STANDARD", description="Default storage class of new objects.")
    uniform_bucket_level_access: bool = Field(
        default=True, description="IAM only, no object ACLs; needed for IAM conditions."
    )
    labels: Labels = Field(default_factory=dict, description=f"Labels: {rules.LABEL_RULE}.")
    iam: list[Binding] = Field(default_factory=list, description="Bucket-level IAM.")
    adopt: bool = Field(
        default=False, description="Take over an existing bucket not created by provision."
    )

    @model_validator(mode="after")
    def _bucket_iam(self) -> Bucket:
        ubla = self.uniform_bucket_level_access
        _raise_if(_iam_problems(self.iam, "bucket", ("iam",), uniform_bucket_level_access=ubla))
        return self


class Grant(Model):
    """One role for a service agent, on exactly one target."""

    role: Role = Field(description=f"The role: {rules.ROLE_RULE}.")
    project: bool = Field(default=False, description="Grant on the project itself.")
    bucket: BucketName | None = Field(
        default=None, description="Name of a bucket in this blueprint."
    )
    topic: PubsubTopic | None = Field(default=None, description="`projects/{p}/topics/{t}`.")
    dataset: DatasetId | None = Field(
        default=None, description="Id of a dataset in this blueprint."
    )

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Grant:
        targets = [
            name
            for name, present in (
                ("project: true", self.project),
                ("bucket", self.bucket is not None),
                ("topic", self.topic is not None),
                ("dataset", self.dataset is not None),
            )
            if present
        ]
        if len(targets) != 1:
            found = "none" if not targets else " and ".join(targets)
            raise RuleError(
                [
                    (
                        (),
                        "a grant needs exactly one target: `project: true`, `bucket`, `topic` "
                        f"or `dataset` (found {found})",
                        "value",
                    )
                ]
            )
        return self


class ServiceAgent(Model):
    """A Google-managed service agent (e.g. the Cloud Healthcare Service Agent) and its grants.

    The tool makes sure the agent exists (generateServiceIdentity), derives its email from the
    project number, then grants what is listed. With no `grants`, the Healthcare agent gets
    `roles/storage.objectViewer` on every bucket named by an import.
    """

    service: ServiceName = Field(description="The API whose agent this is.")
    grants: list[Grant] | None = Field(
        default=None,
        description="Roles to grant the agent; omitted means the default described above.",
    )


class Import(Model):
    """Import DICOM files from Cloud Storage into a store (a one-shot `run` step)."""

    dicom_store: StoreRef = Field(description="`DATASET/STORE`, both declared in this blueprint.")
    uri: ImportUri = Field(description="`gs://bucket/path` with `*`, `**` (at the end) or `?`.")
    blob_storage_class: BlobStorageClass | None = Field(
        default=None,
        description="Storage class of the imported instances' blobs (the import's "
        "`blobStorageSettings`); unset: the store's `blobStorageClass`, else Google's default "
        "(STANDARD). Applies when the import runs: after it ran, a change is planned as an "
        "update that moves nothing and only records the class, and the plan says how to move "
        "the instances already imported (`dicomStores.setBlobStorageSettings`).",
    )


class TagList(Model):
    """DICOM tags by keyword (`PatientName`) or as 8 hex digits (`00100010`)."""

    tags: list[str] = Field(min_length=1, description="The tags.")


class DicomDeidentify(Model):
    """Google's v1 `DicomConfig`: which tags the copy keeps (one tag filter at most)."""

    filter_profile: (
        Literal[
            "MINIMAL_KEEP_LIST_PROFILE",
            "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
            "KEEP_ALL_PROFILE",
            "DEIDENTIFY_TAG_CONTENTS",
        ]
        | None
    ) = Field(
        default=None,
        description="A tag profile: `ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE` (DICOM PS3.15 "
        "E.1-1), `MINIMAL_KEEP_LIST_PROFILE` (only what valid DICOM needs), "
        "`DEIDENTIFY_TAG_CONTENTS` (sensitive text inside tags replaced, see `text`), "
        "`KEEP_ALL_PROFILE` (Google's default).",
    )
    keep_list: TagList | None = Field(default=None, description="Keep only these tags.")
    remove_list: TagList | None = Field(default=None, description="Remove these tags.")
    skip_id_redaction: bool = Field(
        default=False,
        description="Keep the Study, Series and SOP Instance UIDs (Google replaces them by "
        "default).",
    )

    @model_validator(mode="after")
    def _one_filter(self) -> DicomDeidentify:
        chosen = [
            name
            for name, value in (
                ("filterProfile", self.filter_profile),
                ("keepList", self.keep_list),
                ("removeList", self.remove_list),
            )
            if value is not None
        ]
        if len(chosen) > 1:
            message = f"{' and '.join(chosen)} together: Google takes one tag filter"
            raise RuleError([((chosen[1],), message, "key")])
        return self


class DateShift(Model):
    """Google's `DateShiftConfig`: dates move by an amount consistent per patient. The key is
    never written in a blueprint: give a KMS-wrapped one, or none (Google then generates one
    per operation)."""

    kms_wrapped: dict[str, str] | None = Field(
        default=None,
        description="`{cryptoKey: projects/.../cryptoKeys/K, wrappedKey: BASE64}`.",
    )


class TextTransformation(Model):
    """Google's `InfoTypeTransformation`: what is done to text of the given info types."""

    info_types: list[str] = Field(
        default_factory=list, description="e.g. `DATE`, `PERSON_NAME`; empty: every info type."
    )
    redact_config: dict[str, Any] | None = Field(default=None, description="`{}`: remove the text.")
    replace_with_info_type_config: dict[str, Any] | None = Field(
        default=None, description="`{}`: replace the text by its info type."
    )
    character_mask_config: dict[str, str] | None = Field(
        default=None, description="`{maskingCharacter: '*'}`: mask each character."
    )
    date_shift_config: DateShift | None = Field(
        default=None, description="Shift dates (see DateShift)."
    )


class TextDeidentify(Model):
    """Google's `TextConfig` (applies with `DEIDENTIFY_TAG_CONTENTS`)."""

    additional_transformations: list[TextTransformation] = Field(
        default_factory=list, description="Transformations per info type."
    )
    exclude_info_types: list[str] = Field(
        default_factory=list, description="Info types to leave as they are."
    )


class DeidentifyConfig(Model):
    """Google's v1 `DeidentifyConfig`, the parts that apply to DICOM."""

    dicom: DicomDeidentify = Field(
        default_factory=DicomDeidentify, description="Which tags the copy keeps."
    )
    text: TextDeidentify | None = Field(default=None, description="Text inside tags.")
    image: dict[str, Any] | None = Field(
        default=None,
        description="Google's `ImageConfig`, e.g. `{textRedactionMode: REDACT_SENSITIVE_TEXT}` "
        "(burnt-in text in the pixels).",
    )
    use_regional_data_processing: bool = Field(
        default=False, description="Keep data in the region while it is de-identified."
    )


class Deidentify(Model):
    """A de-identified copy of one DICOM store in another (a one-shot `run` step:
    `dicomStores.deidentify`, recorded on the destination; `--rerun` runs it again)."""

    source: StoreRef = Field(description="`DATASET/STORE` copied from, declared here.")
    destination: StoreRef = Field(
        description="`DATASET/STORE` copied into, declared here, in a dataset of the same "
        "location; Google requires it to exist first."
    )
    config: DeidentifyConfig = Field(
        default_factory=DeidentifyConfig, description="What is removed or changed."
    )


class OAuth(Model):
    """The OAuth web client a browser viewer signs in with (created by hand; see the plan)."""

    client_id: OAuthClientId | None = Field(
        default=None, description=f"{rules.OAUTH_CLIENT_ID_RULE}."
    )
    origins: list[OAuthOrigin] = Field(
        default_factory=list,
        description=f"Authorized JavaScript origins: {rules.OAUTH_ORIGIN_RULE}.",
    )


class SiteTemplate(Model):
    """Resources stamped out once per site. Strings may use `{site}`, `{project}`, `{location}`
    and any key of the site file's `vars`."""

    datasets: list[Dataset] = Field(default_factory=list, description="Datasets per site.")
    buckets: list[Bucket] = Field(default_factory=list, description="Buckets per site.")
    imports: list[Import] = Field(default_factory=list, description="Imports per site.")
    service_agent_grants: list[Grant] = Field(
        default_factory=list, description="Extra grants for the Healthcare service agent."
    )
    deidentify: list[Deidentify] = Field(
        default_factory=list, description="De-identified copies per site."
    )
    key_rings: list[KeyRing] = Field(
        default_factory=list,
        description="Cloud KMS key rings (and their keys) per site, e.g. a site's CMEK in its "
        "location.",
    )


class Sites(Model):
    """Per-site resources: one file per site, rendered through `template`."""

    include: str = Field(description="Glob, relative to the blueprint, of the site files.")
    template: SiteTemplate = Field(description="What each site gets; see SiteTemplate.")
    default_location: str | None = Field(
        default=None, description="`{location}` for sites whose file sets no `location`."
    )

    @field_validator("template", mode="before")
    @classmethod
    def _template_allows_placeholders(cls, value: Any) -> Any:
        """Validate the template in template mode whoever validates the blueprint."""
        if not isinstance(value, dict):
            return value
        try:
            return SiteTemplate.model_validate(value, context={TEMPLATE_CONTEXT: True})
        except ValidationError as error:
            raise RuleError([_problem(detail) for detail in error.errors()]) from None

    @field_validator("include")
    @classmethod
    def _relative_glob(cls, include: str) -> str:
        if not include.strip():
            raise RuleError([((), "the include glob is empty; write e.g. `sites/*.yaml`", "value")])
        if include.startswith(("/", "\\")) or (len(include) > 1 and include[1] == ":"):
            raise RuleError(
                [((), "the include glob must be relative to the blueprint's directory", "value")]
            )
        if ".." in include.replace("\\", "/").split("/"):
            message = "the include glob must stay inside the blueprint's directory (no `..`)"
            raise RuleError([((), message, "value")])
        return include


def _problem(detail: ErrorDetails) -> Problem:
    cause = (detail.get("ctx") or {}).get("error")
    message = str(cause) if isinstance(cause, ValueError) else detail["msg"]
    return tuple(detail["loc"]), message, "value"


RESERVED_SITE_VARS = frozenset({"site", "project", "location"})


class Site(Model):
    """One site file (e.g. `sites/st-marys.yaml`)."""

    name: SiteName = Field(description=f"`{{site}}` in the template: {rules.SITE_NAME_RULE}.")
    location: str | None = Field(default=None, description="`{location}` for this site.")
    vars: dict[str, str] = Field(
        default_factory=dict,
        description="Extra placeholders: each key `k` is available as `{k}` in the template.",
    )
    deletion_protection: bool | None = Field(
        default=None,
        description="Overrides `deletionProtection` of this site's datasets and DICOM stores "
        "(e.g. false for a test site that `destroy --site` may delete); unset keeps the "
        "template's.",
    )

    @field_validator("vars")
    @classmethod
    def _placeholder_names(cls, values: dict[str, str]) -> dict[str, str]:
        problems: list[Problem] = []
        for key in values:
            if not rules.has_placeholder("{" + key + "}"):
                problems.append(
                    ((key,), f"var name {key!r} is invalid: use letters, digits and '_'", "key")
                )
            elif key in RESERVED_SITE_VARS:
                problems.append(
                    ((key,), f"var name {key!r} is reserved; choose another name", "key")
                )
        _raise_if(problems)
        return values


class Acknowledgement(Model):
    """A warning the blueprint's owners have weighed and accept: every warning with this code
    is silenced (README "Warnings" lists the codes)."""

    code: str = Field(description="The warning's code, e.g. `W006`.")
    reason: str = Field(
        min_length=1, description="Why it is accepted (kept for reviewers; never shown)."
    )

    @field_validator("code")
    @classmethod
    def _known_code(cls, code: str) -> str:
        known = warning_codes.acknowledgeable()
        if code not in known:
            raise RuleError(
                [
                    (
                        (),
                        f"{code!r} is not a code of a blueprint warning (known: "
                        f'{", ".join(known)}; see README "Warnings")',
                        "value",
                    )
                ]
            )
        return code

    @field_validator("reason")
    @classmethod
    def _reason_said(cls, reason: str) -> str:
        if not reason.strip():
            raise RuleError([((), "say why the warning is accepted", "value")])
        return reason


class Lease(Model):
    """Where apply keeps its single-writer lease (see README "Single-writer lease")."""

    bucket: BucketName | None = Field(
        default=None,
        description="An existing bucket (best outside the project) holding the lease object; "
        "default: the first bucket of this blueprint that no import reads (else the first whose "
        "imports cannot read the lease object), once it exists. No import may read the lease "
        "object.",
    )
    ttl_seconds: int = Field(
        default=900,
        ge=30,
        le=86400,
        description="Seconds a lease lasts unless renewed (apply renews it while it runs); an "
        "expired lease may be taken over.",
    )


class CryptoKey(Model):
    """A Cloud KMS symmetric key (purpose ENCRYPT_DECRYPT), e.g. a dataset's CMEK.

    Created with the label `managed-by: provision`; never deleted by provision (data encrypted
    with a destroyed key is lost for good)."""

    id: KmsId = Field(description=f"Key id: {rules.KMS_ID_RULE}.")
    labels: Labels = Field(default_factory=dict, description=f"Labels: {rules.LABEL_RULE}.")
    rotation_period: RotationPeriod | None = Field(
        default=None,
        description=f"Automatic rotation: {rules.ROTATION_PERIOD_RULE}; omitted leaves it as it "
        "is (none for a new key).",
    )
    adopt: bool = Field(
        default=False, description="Take over an existing key not created by provision."
    )


class KeyRing(Model):
    """A Cloud KMS key ring in the blueprint's project and the keys in it. An existing ring
    with this id is used as it is; provision never deletes key rings or keys."""

    id: KmsId = Field(description=f"Key ring id: {rules.KMS_ID_RULE}.")
    location: KmsLocation = Field(
        description="Where its keys live; a dataset's key must be in the dataset's location."
    )
    crypto_keys: list[CryptoKey] = Field(
        default_factory=list, description="The keys in this key ring."
    )


AuditLogType = Literal["ADMIN_READ", "DATA_READ", "DATA_WRITE"]


class AuditLog(Model):
    """Cloud Audit Logs of one service: the log types to write (Data Access logs are off by
    default), set as an `auditConfigs` entry of the project's IAM policy.

    Additive, like IAM bindings: the listed log types and exempted members are added, and
    nothing the blueprint does not list is removed (other services, log types, exemptions)."""

    service: AuditService = Field(description=f"The service: {rules.AUDIT_SERVICE_RULE}.")
    log_types: list[AuditLogType] = Field(
        min_length=1,
        description="`ADMIN_READ`, `DATA_READ` and/or `DATA_WRITE` (admin writes are always "
        "logged).",
    )
    exempted_members: dict[AuditLogType, list[Member]] = Field(
        default_factory=dict,
        description="Per log type, principals whose calls are not logged (e.g. a pipeline's "
        "service account); each log type must be one of `logTypes`.",
    )

    @model_validator(mode="after")
    def _exemptions_of_listed_types(self) -> AuditLog:
        problems: list[Problem] = [
            (("exemptedMembers", log_type), f"{log_type} is not one of logTypes", "key")
            for log_type in self.exempted_members
            if log_type not in self.log_types
        ]
        seen: set[str] = set()
        for index, log_type in enumerate(self.log_types):
            if log_type in seen:
                problems.append((("logTypes", index), f"{log_type} is listed twice", "value"))
            seen.add(log_type)
        _raise_if(problems)
        return self


class Blueprint(Model):
    """A whole blueprint after site expansion: what the planner works from."""

    version: Literal[1] = Field(default=1, description="Blueprint format version; always 1.")
    project: Project = Field(description="The project everything lives in.")
    services: list[ServiceName] = Field(
        default_factory=list, description="APIs to enable, e.g. `healthcare.googleapis.com`."
    )
    iam: list[Binding] = Field(default_factory=list, description="Project-level IAM.")
    custom_roles: list[CustomRole] = Field(
        default_factory=list,
        description="Project-level custom roles, granted as `projects/PROJECT/roles/ID`.",
    )
    datasets: list[Dataset] = Field(
        default_factory=list, description="Cloud Healthcare datasets and their DICOM stores."
    )
    buckets: list[Bucket] = Field(
        default_factory=list, description="Cloud Storage buckets, e.g. import sources."
    )
    service_agents: list[ServiceAgent] = Field(
        default_factory=list, description="Google-managed service agents and their grants."
    )
    topics: list[Topic] = Field(
        default_factory=list,
        description="Cloud Pub/Sub topics of the project (`pubsub.googleapis.com` is enabled "
        "for them).",
    )
    bigquery_datasets: list[BigQueryDataset] = Field(
        default_factory=list,
        description="BigQuery datasets of the project (`bigquery.googleapis.com` is enabled "
        "for them).",
    )
    imports: list[Import] = Field(
        default_factory=list, description="DICOM imports from Cloud Storage (run once each)."
    )
    deidentify: list[Deidentify] = Field(
        default_factory=list,
        description="De-identified copies of DICOM stores, e.g. for research (run once each).",
    )
    oauth: OAuth | None = Field(default=None, description="The viewer's OAuth web client.")
    sites: Sites | None = Field(
        default=None,
        description="Per-site datasets, buckets, imports, de-identified copies and key rings "
        "from a template.",
    )
    lease: Lease = Field(
        default_factory=Lease, description="Where apply keeps its single-writer lease."
    )
    key_rings: list[KeyRing] = Field(
        default_factory=list,
        description="Cloud KMS key rings and keys, e.g. datasets' customer-managed keys; "
        "declaring one enables `cloudkms.googleapis.com`.",
    )
    audit_logs: list[AuditLog] = Field(
        default_factory=list,
        description="Cloud Audit Logs per service (the project IAM policy's `auditConfigs`), "
        "added to what is set already.",
    )
    forget: list[ForgottenAddress] = Field(
        default_factory=list,
        description="Objects provision made that this blueprint no longer lists and that plans "
        "should stop mentioning (`KIND:NAME`, as a plan's `forget` line names them); they are "
        "left as they are.",
    )
    acknowledge: list[Acknowledgement] = Field(
        default_factory=list,
        description="Warnings accepted, by code, each with a reason; they are not shown.",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_the_number_one(cls, value: Any) -> Any:
        """YAML `true` and `1.0` would pass as 1; the version is written `1`."""
        if isinstance(value, bool | float):
            written = str(value).lower() if isinstance(value, bool) else repr(value)
            raise RuleError([((), f"the version is written 1, not {written}", "value")])
        return value

    @field_validator("iam")
    @classmethod
    def _project_iam(cls, iam: list[Binding]) -> list[Binding]:
        _raise_if(_iam_problems(iam, "project"))
        return iam


def json_schema(model: type[BaseModel] = Blueprint) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a blueprint document, by YAML key."""
    schema = model.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
