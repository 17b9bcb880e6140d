"""Kind `iam.custom_role` (`projects/{id}/roles/{roleId}`): a project-level custom role, granted
in bindings by that name.

spec = {"projectId", "roleId", "title", "description", "includedPermissions": [sorted], "stage"}

Read with `projects.roles.get` (404: absent). Google keeps a deleted role for 7 days, answering
it with `deleted: true`; such a role is planned as `update` that undeletes it, then patches it.
Created with `projects.roles.create` (the caller-chosen `roleId`); on 409 the role is read back
and taken over. A role carries no labels, so nothing marks it as provision's: a role of the
blueprint's id is managed as the blueprint says, and `destroy` leaves roles alone (a grant
elsewhere may still use one). Updated with `projects.roles.patch`, its `etag` and an
`updateMask` of the fields that differ.
"""

from __future__ import annotations

from provision.errors import ApplyError, GoogleApiError
from provision.gcp.methods import ROLES
from provision.model import JSON, Action, Address, Change, FieldDiff, Observed, Resource
from provision.resources import addresses
from provision.resources.base import Context, Kind, Needs, Options, compared, field_diffs
from provision.resources.registry import register

API = "iam"
FIELDS = ("title", "description", "includedPermissions", "stage")
"""The fields of Google's Role the blueprint owns."""
DEFAULT_STAGE = "GA"
"""The blueprint's default `stage`. Google's default is ALPHA, which it omits from answers."""


def role_body(spec: JSON) -> JSON:
    """Google's Role for `spec` (without its name)."""
    return {key: spec[key] for key in FIELDS if key in spec}


def observed_fields(role: JSON) -> JSON:
    """A Role as the spec's fields (an absent `stage` is ALPHA; permissions sorted)."""
    return {
        "title": str(role.get("title") or ""),
        "description": str(role.get("description") or ""),
        "includedPermissions": sorted(role.get("includedPermissions") or []),
        "stage": str(role.get("stage") or "ALPHA"),
    }


@register
class CustomRoleKind(Kind):
    name = addresses.CUSTOM_ROLE
    api = API
    noun = "custom role"
    needs = Needs(
        "roles/iam.roleAdmin",
        ("iam.roles.get", "iam.roles.update", "iam.roles.undelete"),
        ("iam.roles.create",),
    )

    def checked_on(self, resource: Resource) -> Address:
        """Roles' permissions are tested on their project."""
        return addresses.project(resource.spec["projectId"])

    def read(self, ctx: Context, resource: Resource) -> Observed:
        try:
            role = ctx.api.call(f"{ROLES}.get", name=resource.address.name)
        except GoogleApiError as error:
            if error.http_status == 404:
                return Observed.absent()
            raise
        fields = observed_fields(role)
        if role.get("deleted"):
            fields["deleted"] = True
        etag = role.get("etag")
        return Observed(exists=True, fields=fields, etag=str(etag) if etag else None)

    def diff(self, resource: Resource, observed: Observed, options: Options) -> Change:
        wanted = {key: resource.spec[key] for key in FIELDS}
        after = {"projectId": resource.spec["projectId"], "roleId": resource.spec["roleId"]}
        after.update(wanted)
        if not observed.exists:
            diffs = tuple(FieldDiff(key, None, wanted[key]) for key in FIELDS if wanted[key])
            return Change(
                resource.address,
                Action.CREATE,
                after=after,
                diffs=diffs,
                depends_on=resource.depends_on,
                observed_exists=observed.exists,
            )
        before = dict(observed.fields)
        changed = field_diffs(before, wanted, FIELDS)
        reason = ""
        if before.get("deleted"):
            changed.insert(0, FieldDiff("deleted", True, False))
            reason = "the role was deleted (Google keeps it 7 days); undeleting it"
        return compared(resource, observed, after, changed, reason)

    def create(self, ctx: Context, change: Change) -> Observed | None:
        spec = change.after or {}
        body = {"roleId": spec["roleId"], "role": role_body(spec)}
        try:
            role = ctx.api.call(
                f"{ROLES}.create", parent=addresses.project_name(spec["projectId"]), body=body
            )
        except GoogleApiError as error:
            if error.http_status != 409:
                raise
            return self._take_over(ctx, change)
        return Observed(exists=True, fields=observed_fields(role))

    def _take_over(self, ctx: Context, change: Change) -> Observed:
        """After 409 on create: an earlier attempt's answer was lost, or the role exists;
        bring it to the spec."""
        current = ctx.api.call(f"{ROLES}.get", name=change.address.name)
        taken = Change(
            change.address,
            Action.UPDATE,
            before={**observed_fields(current), "deleted": bool(current.get("deleted"))},
            after=change.after,
            etag=str(current.get("etag") or "") or None,
        )
        return self.update(ctx, taken)

    def update(self, ctx: Context, change: Change) -> Observed:
        spec = change.after or {}
        before = change.before or {}
        etag = change.etag
        if before.get("deleted"):
            restored = ctx.api.call(
                f"{ROLES}.undelete", name=change.address.name, body={"etag": etag} if etag else {}
            )
            etag = restored.get("etag") or etag
        mask = [key for key in FIELDS if observed_fields(before).get(key) != spec.get(key)]
        if not mask:
            return Observed(exists=True, fields=role_body(spec))
        body = {**role_body(spec), **({"etag": etag} if etag else {})}
        try:
            role = ctx.api.call(
                f"{ROLES}.patch",
                name=change.address.name,
                updateMask=",".join(mask),
                body=body,
            )
        except GoogleApiError as error:
            if error.status == "ABORTED" or error.http_status == 409:
                raise ApplyError(
                    f"{change.address}: the role changed since it was planned; plan again"
                ) from None
            raise
        return Observed(exists=True, fields=observed_fields(role))
