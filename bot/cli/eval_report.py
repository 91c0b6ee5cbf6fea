"""How ``lanebot eval`` shows its results: a per-lane table, the failing examples, a policy diff,
JSON and JUnit XML. Pure functions of ``lanes.evals.runner`` values."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from lanes.evals.runner import EvalReport, LaneDiff, LaneEval


def render_report(report: EvalReport) -> str:
    lines = [
        f"eval of {report.policy} (model spend ${report.spent_usd:.4f})",
        "",
        f"{'lane':<12} {'examples':>8} {'passed':>7} {'rate':>6} {'min':>5} {'route':>6} {'checks':>7} "
        f"{'json':>5} {'evid.':>6} {'simil.':>7} {'len':>5} {'cost':>9} {'p50 ms':>8}  verdict",
    ]
    for lane in report.lanes:
        lines.append(_lane_row(lane))
    failing = [(lane.lane, s) for lane in report.lanes for s in lane.scores if not s.passed]
    if failing:
        lines += ["", "failing examples:"]
        lines += [f"  {lane:<12} {s.id}: {'; '.join(s.failures)}" for lane, s in failing]
    return "\n".join(lines)


def _lane_row(lane: LaneEval) -> str:
    verdict = "PASS" if lane.meets_threshold else "FAIL"
    if lane.pass_rate is None:
        verdict = "no active examples"
    return (
        f"{lane.lane:<12} {len(lane.scores):>8} {lane.passed_count:>7} {_pct(lane.pass_rate):>6} "
        f"{_pct(lane.min_pass_rate):>5} {_pct(lane.route_share()):>6} {_pct(lane.share('checks_passed')):>7} "
        f"{_pct(lane.share('json_valid')):>5} {_pct(lane.share('evidence_verbatim')):>6} "
        f"{_pct(lane.median('similarity')):>7} {_num(lane.median('length_ratio')):>5} "
        f"${lane.cost_usd:>8.4f} {_num(lane.median('latency_ms'), 0):>8}  {verdict}"
    )


def render_diff(baseline: EvalReport, candidate: EvalReport, diffs: tuple[LaneDiff, ...]) -> str:
    lines = [f"{candidate.policy} against {baseline.policy}:"]
    for diff in diffs:
        old, new = diff.baseline, diff.candidate
        rate_old, rate_new = (old.pass_rate if old else None), (new.pass_rate if new else None)
        cost_old, cost_new = (old.cost_usd if old else 0.0), (new.cost_usd if new else 0.0)
        lines.append(
            f"  {diff.lane:<12} pass rate {_pct(rate_old)} -> {_pct(rate_new)}, "
            f"similarity {_pct(old.median('similarity') if old else None)} -> "
            f"{_pct(new.median('similarity') if new else None)}, cost ${cost_old:.4f} -> ${cost_new:.4f}; "
            f"{len(diff.regressed)} regressed, {len(diff.fixed)} fixed"
        )
        lines += [f"    regressed {s.id}: {'; '.join(s.failures)}" for s in diff.regressed]
        lines += [f"    fixed     {example}" for example in diff.fixed]
    return "\n".join(lines)


def report_json(report: EvalReport, baseline: EvalReport | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"policy": report.policy, "passed": report.passed, "spent_usd": report.spent_usd}
    data["lanes"] = [_lane_json(lane) for lane in report.lanes]
    if baseline is not None:
        data["baseline"] = {"policy": baseline.policy, "lanes": [_lane_json(lane) for lane in baseline.lanes]}
    return data


def _lane_json(lane: LaneEval) -> dict[str, Any]:
    return {
        "lane": lane.lane,
        "examples": len(lane.scores),
        "passed": lane.passed_count,
        "pass_rate": lane.pass_rate,
        "min_pass_rate": lane.min_pass_rate,
        "meets_threshold": lane.meets_threshold,
        "cost_usd": lane.cost_usd,
        "scores": [
            {
                "id": s.id,
                "kind": s.kind,
                "passed": s.passed,
                "ran": s.ran,
                "failures": list(s.failures),
                "expected_route": s.expected_route,
                "route": s.route,
                "status": s.status,
                "checks_passed": s.checks_passed,
                "json_valid": s.json_valid,
                "evidence_verbatim": s.evidence_verbatim,
                "similarity": s.similarity,
                "length_ratio": s.length_ratio,
                "cost_usd": s.cost_usd,
                "latency_ms": s.latency_ms,
            }
            for s in lane.scores
        ],
    }


def junit_xml(report: EvalReport) -> str:
    """One ``testsuite`` per lane, one ``testcase`` per example (``failure`` or ``skipped``)."""
    suites = ElementTree.Element("testsuites", name=f"lanebot eval {report.policy}")
    for lane in report.lanes:
        failures = sum(s.ran and not s.passed for s in lane.scores)
        skipped = sum(not s.ran for s in lane.scores)
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=f"lane {lane.lane}",
            tests=str(len(lane.scores)),
            failures=str(failures),
            skipped=str(skipped),
            errors="0",
        )
        for s in lane.scores:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"lanebot.eval.{lane.lane}",
                name=s.id,
                time=f"{(s.latency_ms or 0) / 1000:.3f}",
            )
            if not s.ran:
                ElementTree.SubElement(case, "skipped", message="; ".join(s.failures))
            elif s.failures:
                failure = ElementTree.SubElement(case, "failure", message="; ".join(s.failures))
                failure.text = "\n".join(s.failures)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, decimals: int = 2) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"
