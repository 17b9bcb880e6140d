"""Resource kinds: one module per kind (read / pure diff / create / update / delete).

Adding a kind (e.g. `healthcare.dicom_store`):

1. Address: add a constructor to `addresses.py` (kind + Google's full resource name).
2. Module `provision/resources/<kind>.py` with a `@register`ed subclass of `base.Kind` setting
   `name` (the address kind) and `api` (the Google API, bounds apply concurrency), and:
   - `read(ctx, resource) -> Observed`: reads only, through `ctx.api.call("<discovery method
     id>", **params)`; a missing object is `Observed.absent()` (404); 401/403 must raise.
   - `diff(resource, observed, options) -> Change` (pure and deterministic): `after` = the
     desired spec (what apply writes), `before` = observed fields, `diffs` = FieldDiffs, `etag`,
     `depends_on=resource.depends_on`, `observed_exists=observed.exists`. Absent -> `create`.
     A saved plan applies only when planning again gives the same change (`before` and `etag`
     aside), so nothing but the blueprint and the observation may shape it. Add data-driven
     cases under `tests/planner_cases/cases/`.
   - `create` / `update` / `delete` / `run(ctx, change) -> Observed | None`; long-running
     operations via `ctx.api.wait(op, api=..., what=..., progress=ctx.progress)`; creates use
     caller-chosen ids and adopt on 409 ALREADY_EXISTS after reading back.
   - optional `facts` (values learned, e.g. a number) and `orphans` (objects labelled
     `managed-by: provision` that the blueprint no longer lists -> `forget`, or `delete` with
     `--allow-delete`).
   IAM kinds subclass `iam.IamKind` and implement only `get_policy` / `set_policy` (plus
   `set_method` and `iam_admin_roles`); merge semantics and the etag read-modify-write are shared.
3. One line in `registry.BUILTIN_MODULES`, one expansion function in `blueprint/expand.py`.
   A dependency whose name equals or prefixes the resource's name is its container (read first,
   create propagates); other dependencies only order apply, unless the kind's `reads_after` says
   otherwise. A kind whose API must be enabled first sets `requires_services`: it is then read
   after the `services` change and planned without reading when that change enables its API.

Values known only after apply (a project's NUMBER, for service agents) are written as
`symbols.project_number_ref(project_id)` inside specs; planner and applier resolve them.
"""
