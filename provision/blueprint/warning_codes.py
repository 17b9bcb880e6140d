"""Every warning provision gives, by its stable code.

A warning's text may change between versions; its code does not. Blueprint warnings (`W0xx`)
may be silenced by the blueprint's `acknowledge` list (code and reason); the command warnings
(`W1xx`) are found by one run (its options, the live state) and cannot be. README "Warnings"
lists them all (a test keeps that list complete).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WarningCode:
    code: str
    slug: str
    """A short name, e.g. `dicom-viewer-exports`."""
    summary: str
    acknowledgeable: bool = True
    """Whether a blueprint's `acknowledge` may silence it."""


BUCKET_RESIDENCY = "W001"
UNDECLARED_IMPORT_BUCKET = "W002"
AGENT_NOT_DECLARED = "W003"
AGENT_CANNOT_READ = "W004"
STORE_ADMIN_ROLE = "W005"
DICOM_VIEWER_EXPORTS = "W006"
PUBLIC_ACCESS = "W007"
HEALTHCARE_API_NOT_LISTED = "W008"
DATASET_LABELS = "W009"
PLAIN_HTTP_ORIGIN = "W010"
AGENT_GRANTS_REPLACED = "W011"
ALLOW_DELETE_UNUSED = "W101"
FORGET_UNMATCHED = "W102"
EMULATOR_URL_DEPRECATED = "W103"

CODES: dict[str, WarningCode] = {
    w.code: w
    for w in (
        WarningCode(
            BUCKET_RESIDENCY,
            "bucket-residency",
            "an import's bucket may keep the DICOM files outside its dataset's location",
        ),
        WarningCode(
            UNDECLARED_IMPORT_BUCKET,
            "undeclared-import-bucket",
            "an import reads a bucket the blueprint does not declare",
        ),
        WarningCode(
            AGENT_NOT_DECLARED,
            "agent-not-declared",
            "imports are declared but the Cloud Healthcare Service Agent is not",
        ),
        WarningCode(
            AGENT_CANNOT_READ,
            "agent-cannot-read-bucket",
            "the Cloud Healthcare Service Agent's grants do not let it read an import's bucket",
        ),
        WarningCode(
            STORE_ADMIN_ROLE,
            "dicom-store-admin-to-person",
            "a person or group gets roles/healthcare.dicomStoreAdmin (it includes setIamPolicy)",
        ),
        WarningCode(
            DICOM_VIEWER_EXPORTS,
            "dicom-viewer-exports",
            "a person or group gets roles/healthcare.dicomViewer, which includes export",
        ),
        WarningCode(
            PUBLIC_ACCESS,
            "public-access",
            "allUsers or allAuthenticatedUsers is granted on a dataset, store or bucket",
        ),
        WarningCode(
            HEALTHCARE_API_NOT_LISTED,
            "healthcare-api-not-listed",
            "datasets are declared but healthcare.googleapis.com is not in services",
        ),
        WarningCode(
            DATASET_LABELS,
            "dataset-labels-ignored",
            "datasets have labels, which the Cloud Healthcare API does not keep",
        ),
        WarningCode(
            PLAIN_HTTP_ORIGIN,
            "plain-http-origin",
            "an OAuth origin is plain http:// but not localhost",
        ),
        WarningCode(
            AGENT_GRANTS_REPLACED,
            "agent-default-grants-replaced",
            "the site template's serviceAgentGrants replace the agent's default grants",
        ),
        WarningCode(
            ALLOW_DELETE_UNUSED,
            "allow-delete-unused",
            "an --allow-delete address is nothing the run deletes",
            acknowledgeable=False,
        ),
        WarningCode(
            FORGET_UNMATCHED,
            "forget-matches-nothing",
            "a `forget` entry names nothing the plan finds to drop (remove the entry)",
            acknowledgeable=False,
        ),
        WarningCode(
            EMULATOR_URL_DEPRECATED,
            "emulator-url-deprecated",
            "--emulator-url is the deprecated name of --endpoint",
            acknowledgeable=False,
        ),
    )
}


def acknowledgeable() -> list[str]:
    """The codes a blueprint may acknowledge, in order."""
    return [code for code, w in CODES.items() if w.acknowledgeable]


def tagged(text: str, code: str) -> str:
    """`text [CODE]`: how a warning that is not about a blueprint line shows its code."""
    return f"{text} [{code}]"
