"""The blueprint language: pydantic models of what a YAML blueprint may say.

YAML keys are camelCase (as in Google's APIs); Python attributes are snake_case. Every model
forbids unknown keys. Google's id rules are checked by validators in `provision.blueprint.rules`;
cross-references (stores, buckets) are checked in `provision.blueprint.validate`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


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

    title: str
    expression: str
    description: str = ""


class Binding(Model):
    """Grant `role` to `members`.

    Additive by default: members are added and nobody else is touched. With `authoritative: true`
    the role holds exactly these members (with this condition) and the plan names each member it
    would remove.
    """

    role: str
    members: list[str] = Field(min_length=1)
    condition: Condition | None = None
    authoritative: bool = False


class Project(Model):
    id: str
    display_name: str | None = None
    parent: str | None = Field(
        default=None, description="`organizations/N` or `folders/N`; omit for no parent."
    )
    billing_account: str | None = Field(
        default=None, description="`billingAccounts/XXXXXX-XXXXXX-XXXXXX`."
    )
    labels: dict[str, str] = Field(default_factory=dict)
    create: bool = Field(
        default=True,
        description="Create the project when it does not exist; false to require an existing one.",
    )


class NotificationConfig(Model):
    pubsub_topic: str = Field(description="`projects/{project}/topics/{topic}`.")
    send_for_bulk_import: bool = False


class BigQueryDestination(Model):
    table_uri: str = Field(description="`bq://project.dataset.table`.")
    force: bool = False


class StreamConfig(Model):
    bigquery_destination: BigQueryDestination


class DicomStore(Model):
    id: str
    labels: dict[str, str] = Field(default_factory=dict)
    notification_configs: list[NotificationConfig] = Field(default_factory=list)
    stream_configs: list[StreamConfig] = Field(default_factory=list)
    iam: list[Binding] = Field(default_factory=list)
    deletion_protection: bool = Field(
        default=True,
        description="Refuse to delete this store even when named with --allow-delete.",
    )
    adopt: bool = Field(
        default=False, description="Take over an existing store not created by provision."
    )


class Dataset(Model):
    id: str
    location: str
    time_zone: str | None = Field(default=None, description="IANA time zone; empty means UTC.")
    labels: dict[str, str] = Field(default_factory=dict)
    iam: list[Binding] = Field(default_factory=list)
    dicom_stores: list[DicomStore] = Field(default_factory=list)
    deletion_protection: bool = True
    adopt: bool = False


class Bucket(Model):
    name: str
    location: str = "US"
    storage_class: Literal[
        "STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE", "MULTI_REGIONAL", "REGIONAL"
    ] = "STANDARD"
    uniform_bucket_level_access: bool = True
    labels: dict[str, str] = Field(default_factory=dict)
    iam: list[Binding] = Field(default_factory=list)
    adopt: bool = False


class Grant(Model):
    """One role for a service agent, on exactly one target."""

    role: str
    project: bool = Field(default=False, description="Grant on the project itself.")
    bucket: str | None = Field(default=None, description="Name of a bucket in this blueprint.")
    topic: str | None = Field(default=None, description="`projects/{p}/topics/{t}`.")
    dataset: str | None = Field(default=None, description="Id of a dataset in this blueprint.")


class ServiceAgent(Model):
    """A Google-managed service agent (e.g. the Cloud Healthcare Service Agent) and its grants.

    The tool makes sure the agent exists (generateServiceIdentity), derives its email from the
    project number, then grants what is listed. With no `grants`, the Healthcare agent gets
    `roles/storage.objectViewer` on every bucket named by an import.
    """

    service: str
    grants: list[Grant] | None = None


class Import(Model):
    """Import DICOM files from Cloud Storage into a store (a one-shot `run` step)."""

    dicom_store: str = Field(description="`DATASET/STORE`, both declared in this blueprint.")
    uri: str = Field(description="`gs://bucket/path` with `*`, `**` (at the end) or `?`.")


class OAuth(Model):
    """The OAuth web client a browser viewer signs in with (created by hand; see the plan)."""

    client_id: str | None = None
    origins: list[str] = Field(default_factory=list)


class SiteTemplate(Model):
    """Resources stamped out once per site. Strings may use `{site}`, `{project}`, `{location}`
    and any key of the site file's `vars`."""

    datasets: list[Dataset] = Field(default_factory=list)
    buckets: list[Bucket] = Field(default_factory=list)
    imports: list[Import] = Field(default_factory=list)
    service_agent_grants: list[Grant] = Field(
        default_factory=list, description="Extra grants for the Healthcare service agent."
    )


class Sites(Model):
    include: str = Field(description="Glob, relative to the blueprint, of the site files.")
    template: SiteTemplate
    default_location: str | None = None


class Site(Model):
    """One site file (e.g. `sites/st-marys.yaml`)."""

    name: str
    location: str | None = None
    vars: dict[str, str] = Field(default_factory=dict)


class Blueprint(Model):
    """A whole blueprint after site expansion: what the planner works from."""

    version: Literal[1] = 1
    project: Project
    services: list[str] = Field(default_factory=list)
    iam: list[Binding] = Field(default_factory=list)
    datasets: list[Dataset] = Field(default_factory=list)
    buckets: list[Bucket] = Field(default_factory=list)
    service_agents: list[ServiceAgent] = Field(default_factory=list)
    imports: list[Import] = Field(default_factory=list)
    oauth: OAuth | None = None
    sites: Sites | None = None
