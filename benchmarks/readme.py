"""`make bench-readme`: rewrite the README's benchmark tables from `make bench`'s JSON file.

The tables go between `<!-- bench:begin -->` and `<!-- bench:end -->` in README.md, replacing
what is there; everything else in the README stays as it is. Each ratio stands next to the load
average of the run it comes from, since other work on the machine skews the timings.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_JSON = Path(".provision/bench/latest.json")
X = "\u00d7"
"""The multiplication sign of the README's ratios."""
NONE = "\u2013"
"""An en dash: not measured."""
README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

TARGETS: Mapping[str, str] = {
    "plan_100_le_2x_plan_1": f"plan(100 sites) ≤ 2 {X} plan(1 site)",
    "plan_300_le_2.5x_plan_1": f"plan(300 sites) ≤ 2.5 {X} plan(1 site)",
    "read_waves_300_le_2x_depth": f"read waves ≤ 2 {X} graph depth at 300 sites",
    "plan_reads_le_1.1_per_object": "plan reads ≤ 1.1 per object",
    "quota_plan_no_429": "a 300-site plan against Google's default quotas gets no 429",
    "apply_100_le_3x_critical_path": f"apply from empty of 100 sites ≤ 3 {X} critical path",
    "noop_apply_zero_writes": "a no-op apply makes zero writes",
    "operations_noticed_in_time": (
        "operations noticed within 10% of their duration (≥ 1 s) or 0.5 s (shorter)"
    ),
    "polls_le_schedule_needs": "polls per operation ≤ what the poll schedule needs (+1)",
    "onboarding_no_429": "onboarding under the google profile gets no 429",
    "help_le_0.3s": "`provision --help` ≤ 0.3 s",
    "validate_le_0.4s": "`provision validate blueprints/dev.yaml` ≤ 0.4 s",
    "emulator_start_le_2s": "`provision emulator serve` answers within 2 s",
}


def seconds(value: Any) -> str:
    if value is None:
        return NONE
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def times(value: Any) -> str:
    return NONE if value is None else f"{value:.2f}{X}"


def load(value: Sequence[float] | None) -> str:
    return "?" if not value else " / ".join(f"{x:.2f}" for x in value)


def conditions_line(summary: Mapping[str, Any]) -> str:
    c = summary.get("conditions", {})
    most = c.get("load_1min_max")
    peak = "" if most is None else f", at most {most:.2f} (1 min) after a size"
    return (
        f"Measured {c.get('when', '?')} on {c.get('cpus', '?')} cores, Python "
        f"{c.get('python', '?')}, the emulator in its {c.get('emulator', '?')} with "
        f"{c.get('latency_ms', '?'):g} ms per request; load average (1, 5, 15 min) "
        f"{load(c.get('load_avg_before'))} before the run and {load(c.get('load_avg_after'))} "
        f"after{peak}; plans are the median of {c.get('plan_repeats', '?')}."
    )


def plan_table(sizes: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [
        "| sites | objects | plan from empty | **plan** | plan / plan(1) | reads (per object) "
        "| batches | waves (depth) | waves / depth | client CPU per read | sequential reads "
        "| sequential / plan | plan at Google's quotas (429s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        quota = (
            NONE
            if s.get("quota_plan_s") is None
            else f"{seconds(s['quota_plan_s'])} ({s['quota_plan_429s']})"
        )
        sequential = s.get("sequential_reads_s") or None
        rows.append(
            f"| {s['sites']} | {s['objects']} | {seconds(s['plan_empty_s'])} "
            f"| **{seconds(s['plan_s'])}** | {times(s.get('plan_ratio_to_1'))} "
            f"| {s['plan_reads']} ({s['reads_per_object']:.2f}) | {s['plan_batches']} "
            f"| {s['plan_read_waves']} ({s['graph_depth']}) | {times(s.get('waves_over_depth'))} "
            f"| {s['cpu_ms_per_read']:.2f} ms | {seconds(sequential)} "
            f"| {times(s.get('sequential_over_plan') if sequential else None)} | {quota} |"
        )
    return rows


def apply_table(sizes: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [
        "| sites | apply from empty | writes / reads | critical path | apply / critical path "
        "| API floor | no-op apply writes | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        rows.append(
            f"| {s['sites']} | {seconds(s['apply_empty_s'])} "
            f"| {s['apply_writes']} / {s['apply_reads']} | {seconds(s['apply_critical_path_s'])} "
            f"| {times(s.get('apply_over_critical_path'))} | {seconds(s['apply_api_bound_s'])} "
            f"| {s['noop_apply_writes']} | {s['peak_rss_mb']:.0f} MB |"
        )
    return rows


def onboarding_table(onboarded: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [
        "| sites | time scale | apply | critical path | operations' critical path "
        "| apply / operations' path | operations | latest notice (≥ 1 s ops) "
        "| latest notice (shorter) | polls (schedule needs) | 429s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in onboarded:
        ratio = o.get("max_overshoot_ratio_long")
        short = o.get("max_overshoot_s_short")
        rows.append(
            f"| {o['sites']} | {o['google_scale']:g} | {seconds(o['apply_s'])} "
            f"| {seconds(o['apply_critical_path_s'])} "
            f"| {seconds(o['operations_critical_path_s'])} "
            f"| {times(o.get('apply_over_operations_path'))} | {o['operations']} "
            f"| {NONE if ratio is None else f'{100 * ratio:.1f}% of its duration'} "
            f"| {seconds(short)} | {o['polls']} ({o['polls_needed']}) | {o['status_429']} |"
        )
    return rows


def target_figure(name: str, document: Mapping[str, Any]) -> str:
    """The figure behind target `name`, to show next to met / missed."""
    listed = document.get("sizes", [])
    sizes = {s["sites"]: s for s in listed}
    onboarded = document.get("onboarding", [])
    summary = document.get("summary", {})
    one, hundred, three = sizes.get(1), sizes.get(100), sizes.get(300)
    quota = [s for s in listed if s.get("quota_plan_429s") is not None]
    long_ratios = [
        o["max_overshoot_ratio_long"]
        for o in onboarded
        if o.get("max_overshoot_ratio_long") is not None
    ]
    short = [
        o["max_overshoot_s_short"] for o in onboarded if o.get("max_overshoot_s_short") is not None
    ]
    noticed = [f"{100 * max(long_ratios):.1f}% of a duration"] if long_ratios else []
    noticed += [f"{max(short):.2f} s after a short one"] if short else []
    figures = {
        "plan_100_le_2x_plan_1": hundred
        and f"{times(hundred.get('plan_ratio_to_1'))} ({seconds(hundred['plan_s'])})",
        "plan_300_le_2.5x_plan_1": three
        and one
        and f"{times(three.get('plan_ratio_to_1'))} ({seconds(three['plan_s'])} against "
        f"{seconds(one['plan_s'])})",
        "read_waves_300_le_2x_depth": three
        and f"{three['plan_read_waves']} waves, depth {three['graph_depth']}",
        "plan_reads_le_1.1_per_object": listed
        and f"at most {max(s['reads_per_object'] for s in listed):.2f}",
        "quota_plan_no_429": quota
        and ", ".join(f"{s['quota_plan_429s']} at {s['sites']} sites" for s in quota),
        "apply_100_le_3x_critical_path": hundred and times(hundred.get("apply_over_critical_path")),
        "noop_apply_zero_writes": listed
        and f"at most {max(s['noop_apply_writes'] for s in listed)}",
        "operations_noticed_in_time": onboarded and "latest " + ", ".join(noticed),
        "polls_le_schedule_needs": onboarded
        and f"{sum(o['polls'] for o in onboarded)} polls, the schedule needs "
        f"{sum(o['polls_needed'] for o in onboarded)}",
        "onboarding_no_429": onboarded and f"{sum(o['status_429'] for o in onboarded)}",
        "help_le_0.3s": seconds(summary.get("help_s")),
        "validate_le_0.4s": seconds(summary.get("validate_s")),
        "emulator_start_le_2s": seconds(summary.get("emulator_start_s")),
    }
    return str(figures.get(name) or "")


def targets_table(document: Mapping[str, Any]) -> list[str]:
    summary = document.get("summary", {})
    met = summary.get("targets", {})
    where = load(summary.get("conditions", {}).get("load_avg_after"))
    rows = ["| target | result | figure | load average |", "|---|---|---|---|"]
    for name, text in TARGETS.items():
        if name not in met:
            continue
        verdict = {True: "met", False: "**missed**", None: "not measured"}[met[name]]
        rows.append(f"| {text} | {verdict} | {target_figure(name, document)} | {where} |")
    return rows


def tables(document: Mapping[str, Any]) -> str:
    """The README block for `document` (the bench's JSON)."""
    summary = document.get("summary", {})
    parts = [
        BEGIN,
        "<!-- generated by `make bench-readme` from `make bench`'s JSON; edits here are lost -->",
        "",
        conditions_line(summary),
        "",
        *plan_table(document.get("sizes", [])),
        "",
        *apply_table(document.get("sizes", [])),
        "",
    ]
    if document.get("onboarding"):
        parts += [
            "Onboarding under the emulator's `google` profile (from nothing: project, billing, "
            "APIs, then every site):",
            "",
            *onboarding_table(document["onboarding"]),
            "",
        ]
    parts += [
        f"`provision --help`: {seconds(summary.get('help_s'))}; `provision validate "
        f"blueprints/dev.yaml`: {seconds(summary.get('validate_s'))}; `provision emulator "
        f"serve` first answer: {seconds(summary.get('emulator_start_s'))} (best of 5, fresh "
        "processes).",
        "",
        *targets_table(document),
        END,
    ]
    return "\n".join(parts)


def rewrite(readme: str, document: Mapping[str, Any]) -> str:
    """`readme` with its generated block replaced (ValueError when it has no markers)."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {BEGIN} ... {END} block")
    return readme[:start] + tables(document) + readme[end + len(END) :]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="the bench's JSON file")
    parser.add_argument("--readme", type=Path, default=README, help="the README to rewrite")
    args = parser.parse_args(argv)
    document = json.loads(args.json.read_text(encoding="utf-8"))
    args.readme.write_text(
        rewrite(args.readme.read_text(encoding="utf-8"), document), encoding="utf-8"
    )
    print(f"{args.readme}: benchmark tables rewritten from {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
