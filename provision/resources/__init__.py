"""Resource kinds: one module per kind holds everything about it.

A kind is a `@register`ed subclass of `base.Kind` in `provision/resources/<kind>.py`, listed in
`registry.BUILTIN_MODULES`; its name and address constructor are in `addresses.py`. What it
defines (see `base.Kind` for each contract):

* planning: `read` (API reads only; 404 -> `Observed.absent()`, 401/403 raise) and the pure
  `diff`; optionally `facts`, `orphans`, `reads_after`, `answered_by`, `requires_services`,
  `enables_apis`;
* applying: `create` / `update` / `delete` / `run` (long-running operations via
  `ctx.api.wait`; creates adopt on 409 ALREADY_EXISTS after reading back);
* removing (`provision destroy`): `removable`, `removal_read` (everything the decision needs),
  the pure `plan_removal` (delete, update or forget, with the reason), and a `delete` that reads
  again and refuses what the plan did not show (`refuse_unless_planned`);
* permissions (`validate --check-permissions`): `needs` and `checked_on`; kinds permissions are
  tested on also `created_in`, `visible` and `test_permissions`;
* verifying (`provision verify`): `probes`;
* IAM kinds subclass `iam.IamKind`, set `parent_kind` and `set_method`, and implement only
  `get_policy` / `set_policy`.

Modules without a kind hold what several kinds share: `healthcare` (Cloud Healthcare),
`resource_manager` (Cloud Resource Manager), `iam` and `iam_policy` (IAM), `ownership`,
`symbols`. Each kind has data-driven cases (diff, removal, permissions) in
`tests/planner_cases/cases/<kind>.yaml`. docs/architecture.md ("Where a new kind goes") lists
every file a new kind touches.
"""
