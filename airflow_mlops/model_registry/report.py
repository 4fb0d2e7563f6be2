"""The evaluation report of one gate decision: both models on the same holdout rows, with
intervals (overall and per slice), the checks, and a plot.

Files: ``report.md`` (the tables and the verdict), ``evaluation.json`` (everything, for
machines), ``slices.csv`` and ``slices.png`` (the primary metric per slice, champion beside
challenger). The directory is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_mlops.artifacts import atomic_directory, atomic_write_json, atomic_write_text
from airflow_mlops.model_registry.gate import Evaluation, GateConfig, GateDecision

REPORT_FILE = "report.md"
#: everything of the evaluation as JSON, beside :data:`REPORT_FILE` (the MLOps page reads it)
EVALUATION_FILE = "evaluation.json"
PLOT_FILE = "slices.png"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _slice_rows(
    challenger: Evaluation, champion: Evaluation | None, metric: str
) -> list[list[Any]]:
    rows = []
    for value in sorted(set(challenger.slices) | set(champion.slices if champion else {})):
        mine = challenger.slices.get(value, {})
        theirs = champion.slices.get(value, {}) if champion else {}
        rows.append([value, mine.get("rows"), theirs.get(metric), mine.get(metric)])
    return rows


def _interval(values: dict[str, float] | None, signed: bool = False) -> str:
    if not values:
        return "-"
    sign = "+" if signed else ""
    return f"{values['value']:{sign}.4f} [{values['low']:{sign}.4f}, {values['high']:{sign}.4f}]"


def _paired_text(paired: dict[str, Any] | None, champion_label: str, label: str) -> str:
    """Both models' primary metric on the same rows with intervals, and their difference."""
    if paired is None:
        return "(no champion: nothing to compare)"
    share = f"{paired['confidence']:.0%}"
    rows = [
        [champion_label, _interval(paired["champion"])],
        [label, _interval(paired["challenger"])],
        ["difference (challenger - champion)", _interval(paired["difference"], signed=True)],
        ["improvement (positive = better)", _interval(paired["improvement"], signed=True)],
    ]
    text = (
        f"`{paired['metric']}` on the same {paired['rows']} holdout rows, {share} paired "
        f"bootstrap intervals ({paired['resamples']} resamples):\n\n"
        + _table(["model", f"{paired['metric']} [{share} interval]"], rows)
    )
    mcnemar = paired.get("mcnemar")
    if mcnemar is not None:
        text += (
            f"\n\nMcNemar: {mcnemar['better']} rows only the challenger gets right, "
            f"{mcnemar['worse']} only the champion; exact p = {mcnemar['p_value']:.4g} "
            f"(mid-p {mcnemar['mid_p_value']:.4g})."
        )
    slices = paired.get("slices") or {}
    if slices:
        text += "\n\nPer slice (slices with enough rows):\n\n" + _table(
            ["slice", "rows", champion_label, label, "difference"],
            [
                [
                    value,
                    part["rows"],
                    _interval(part["champion"]),
                    _interval(part["challenger"]),
                    _interval(part["difference"], signed=True),
                ]
                for value, part in slices.items()
            ],
        )
    return text


def _holdout_text(challenger: Evaluation, holdout: dict[str, Any] | None) -> str:
    if not holdout:
        return f"Holdout: {challenger.rows} rows."
    text = (
        f"Holdout: {holdout['rows']} of the data's {holdout['data_rows']} rows, no model "
        f"trained on them by rule `{holdout['split_rule']}`; md5 `{holdout['md5']}`."
    )
    if holdout.get("champion_rule"):
        text += f" Note: {holdout['champion_rule']}."
    return text


def _shadow_text(challenger: Evaluation, champion_label: str) -> str:
    shadow = challenger.shadow
    if shadow is None:
        return "(not compared: no champion, or no inference log in the window)"
    return (
        f"On {shadow['rows']} rows of the inference log ({shadow['source']}) the challenger "
        f"predicts what {champion_label} predicted on {shadow['agreement']:.1%} of them; "
        f"mean absolute difference of the outputs: {_fmt(shadow['mean_abs_diff'])}; shift of "
        f"the score distribution (KS): {_fmt(shadow.get('score_shift'))}."
    )


def write_report(
    directory: str | Path,
    *,
    name: str,
    challenger: Evaluation,
    champion: Evaluation | None,
    decision: GateDecision,
    config: GateConfig,
    holdout: dict[str, Any] | None = None,
) -> Path:
    """Write the report files into ``directory``; returns the directory.

    :param holdout: the holdout's record (``split_rule``, ``md5``, ``rows``, ``data_rows``,
        ``champion_rule``).
    """
    metric = config.primary(challenger.task)
    names = sorted(set(challenger.metrics) | set(champion.metrics if champion else {}))
    metric_rows = [
        [m, champion.metrics.get(m) if champion else None, challenger.metrics.get(m)] for m in names
    ]
    latency = "latency p50 batch 1 (ms)"
    metric_rows.append([latency, champion and champion.latency_p50_ms, challenger.latency_p50_ms])
    champion_label = f"champion v{champion.version}" if champion else "champion (none)"
    challenger_label = f"challenger v{challenger.version}"
    slice_rows = _slice_rows(challenger, champion, metric)
    verdict = "ACCEPTED" if decision.accepted else "REJECTED"
    text = "\n\n".join(
        [
            f"# Evaluation of {name} {challenger_label}: {verdict}",
            "\n".join(f"- {reason}" for reason in decision.reasons),
            _holdout_text(challenger, holdout) + f" Primary metric: `{metric}`.",
            "## Champion and challenger on the same rows",
            _paired_text(challenger.paired, champion_label, challenger_label),
            "## Metrics",
            _table(["metric", champion_label, challenger_label], metric_rows),
            f"## Slices by `{config.slice_column}` ({metric})",
            _table(["slice", "rows", champion_label, challenger_label], slice_rows)
            if slice_rows
            else "(no slice column)",
            "## Shadow comparison on recent traffic",
            _shadow_text(challenger, champion_label),
            "## Checks",
            _table(
                ["check", "value", "limit", "passed"],
                [[c["check"], c["value"], c["limit"], c["passed"]] for c in decision.checks],
            ),
            f"![{metric} per slice]({PLOT_FILE})" if slice_rows else "",
        ]
    )
    with atomic_directory(directory) as staging:
        atomic_write_text(staging / REPORT_FILE, text + "\n")
        atomic_write_json(
            staging / EVALUATION_FILE,
            {
                "model": name,
                "decision": decision.to_dict(),
                "gate": config.to_dict(),
                "challenger": challenger.to_dict(),
                "champion": champion.to_dict() if champion else None,
                "holdout": holdout,
            },
        )
        atomic_write_text(
            staging / "slices.csv",
            "slice,rows,champion,challenger\n"
            + "".join(",".join(_fmt(cell) for cell in row) + "\n" for row in slice_rows),
        )
        if slice_rows:
            _plot(staging / PLOT_FILE, slice_rows, metric, champion_label, challenger_label)
    return Path(directory)


def _plot(
    path: Path, rows: list[list[Any]], metric: str, champion_label: str, challenger_label: str
) -> None:
    """A grouped bar chart of ``metric`` per slice (no pyplot: no global backend state)."""
    import numpy as np
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.2), dpi=100)
    axes = figure.add_subplot()
    x = np.arange(len(rows))
    champion = [row[2] if row[2] is not None else np.nan for row in rows]
    challenger = [row[3] if row[3] is not None else np.nan for row in rows]
    axes.bar(x - 0.2, champion, width=0.4, label=champion_label, color="#9aa5b1")
    axes.bar(x + 0.2, challenger, width=0.4, label=challenger_label, color="#2f80ed")
    axes.set_xticks(x, [f"{row[0]}\n(n={row[1]})" for row in rows])
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} per slice")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, format="png")
