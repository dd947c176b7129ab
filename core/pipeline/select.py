"""Which trained model the build ships: the best one that passes the release gates.

The later stage (IPO) is preferred when it passes and does not regress against the SFT
model it started from (readable share down by more than 5 points, or similarity to the
reference down by more than 0.02); otherwise the build falls back to SFT, and the reason is
recorded. When no model passes, the one closest to passing is kept as the candidate and the
export waits for the operator's explicit override.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.pipeline.gates import GateReport, check_gates, shipped_label

READABLE_SLACK = 0.05
SIMILARITY_SLACK = 0.02


@dataclass
class Selection:
    run_id: str
    method: str  # SFT | IPO
    passed: bool
    reason: str
    reports: dict[str, GateReport] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run_id, "method": self.method, "passed": self.passed,
                "reason": self.reason,
                "reports": {k: v.to_dict() for k, v in self.reports.items()}}


def select_model(project: Any, sft_run: str, ipo_run: str | None = None) -> Selection:
    from core.evaluation.table import eval_table

    candidates = [(ipo_run, "IPO"), (sft_run, "SFT")] if ipo_run else [(sft_run, "SFT")]
    reports = {run: check_gates(project, run) for run, _ in candidates}
    labels = [shipped_label(run) for run, _ in candidates]
    rows = {row.label: row.metrics for row in eval_table(project, labels).rows}
    if ipo_run:
        ipo_report, sft_report = reports[ipo_run], reports[sft_run]
        regression = _regression(rows[shipped_label(ipo_run)], rows[shipped_label(sft_run)])
        if ipo_report.passed and not regression:
            return Selection(ipo_run, "IPO", True, "IPO passes every gate and does not "
                             "regress against SFT", reports)
        why = regression or f"IPO {ipo_report.summary()}"
        if sft_report.passed:
            return Selection(sft_run, "SFT", True, f"fell back to SFT: {why}", reports)
        if ipo_report.passed:
            return Selection(ipo_run, "IPO", True, f"IPO passes every gate although {why}; "
                             f"SFT {sft_report.summary()}", reports)
        best = min(candidates, key=lambda c: (len(reports[c[0]].failed_gates()),
                                              -(rows[shipped_label(c[0])]
                                                .get("readable_share") or 0.0)))
        return Selection(best[0], best[1], False, f"no model passes the release gates; "
                         f"{best[1]} is closest: {reports[best[0]].summary()}", reports)
    report = reports[sft_run]
    return Selection(sft_run, "SFT", report.passed,
                     "SFT passes every gate" if report.passed else f"SFT {report.summary()}",
                     reports)


def _regression(later: dict[str, Any], earlier: dict[str, Any]) -> str:
    """Why ``later`` is worse than ``earlier`` ("" when it is not)."""
    readable_new, readable_old = later.get("readable_share"), earlier.get("readable_share")
    if readable_new is not None and readable_old is not None and \
            readable_new < readable_old - READABLE_SLACK:
        return (f"IPO is less readable than SFT ({readable_new:.0%} vs {readable_old:.0%} "
                "readable answers)")
    sim_new, sim_old = later.get("similarity"), earlier.get("similarity")
    if sim_new is not None and sim_old is not None and sim_new < sim_old - SIMILARITY_SLACK:
        return (f"IPO answers drift from the references (similarity {sim_new:.2f} vs "
                f"{sim_old:.2f})")
    return ""
