"""Validate a dataset against a suite, apply the outcome policy, write the report and data docs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.artifacts import atomic_directory, atomic_write_json, atomic_write_text
from airflow_mlops.errors import ConfigError, DataError
from airflow_mlops.validation.policy import ValidationPolicy, outcome_of

if TYPE_CHECKING:
    import pandas as pd

    from airflow_mlops.validation.engine import ExpectationResult

ENGINES = ("auto", "gx")
#: the pseudo-expectation reported when the file cannot be read as a table at all
READABLE = "expect_table_to_be_readable"


@dataclass(frozen=True)
class ValidationReport:
    """What a validation found; :meth:`to_dict` is the operator's XCom result.

    :param outcome: ``pass``, ``warn`` or ``stop`` (see :mod:`.policy`).
    :param retrain: a failed expectation with severity ``retrain`` asks for retraining.
    :param failed: one dict per failed expectation: expectation, column, severity, level,
        unexpected_count, element_count, examples (at most ``max_examples``), detail.
    """

    dataset: str
    suite_name: str
    outcome: str
    retrain: bool
    failed: list[dict[str, Any]]
    statistics: dict[str, Any]
    data_docs_uri: str | None = None
    report_uri: str | None = None
    engines: dict[str, int] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.outcome == "pass"

    def to_dict(self) -> dict[str, Any]:
        """A small JSON-able dict: references and counts, never the data."""
        return {
            "success": self.success,
            "outcome": self.outcome,
            "retrain": self.retrain,
            "dataset": self.dataset,
            "suite": self.suite_name,
            "failed": self.failed,
            "statistics": self.statistics,
            "data_docs_uri": self.data_docs_uri,
            "report_uri": self.report_uri,
            "engines": self.engines,
        }

    def summary(self, *, where: str | None = None) -> str:
        """A message naming every failed expectation, its column, count and a few values."""
        stats = self.statistics
        head = (
            f"Data validation outcome {self.outcome.upper()} for {self.dataset!r} "
            f"(suite {self.suite_name!r}): {len(self.failed)} of "
            f"{stats.get('evaluated_expectations', 0)} expectations failed"
            f"{', retraining requested' if self.retrain else ''}."
        )
        lines = [head, *_describe_all(self.failed)]
        reports = [r for r in (where, self.data_docs_uri, self.report_uri) if r]
        if reports:
            lines.append("Full report: " + "; ".join(reports))
        return "\n".join(lines)


def validate_frame(
    frame: pd.DataFrame,
    suite: dict[str, Any],
    *,
    dataset: str = "dataframe",
    policy: ValidationPolicy | None = None,
    engine: str = "auto",
    output_dir: str | Path | None = None,
    run_name: str = "validation",
) -> ValidationReport:
    """Check ``frame`` against ``suite`` (see :func:`.suite.normalize_suite`).

    :param engine: ``auto`` (vectorised where the semantics are GX's, GX for the rest) or
        ``gx`` (GX computes every expectation).
    :param output_dir: if given, ``report.json``, ``validation.json`` and the GX data docs page
        ``index.html`` are written there, atomically (the folder appears complete or not at all).
    """
    if engine not in ENGINES:
        raise ConfigError(
            f"Unknown validation engine {engine!r}.", hint=f"Use one of {', '.join(ENGINES)}."
        )
    # the engine loads here, not when the operator module is imported at DAG parse
    from airflow_mlops.validation.engine import evaluate_fast

    policy = policy or ValidationPolicy()
    started = time.perf_counter()
    items = suite["expectations"]
    results: list[ExpectationResult | None] = (
        [evaluate_fast(frame, item, policy.max_examples) for item in items]
        if engine == "auto"
        else [None] * len(items)
    )
    pending = [i for i, r in enumerate(results) if r is None]
    if pending:
        from airflow_mlops.validation.gx_runner import evaluate_gx

        for index, result in zip(
            pending,
            evaluate_gx(
                frame,
                [items[i] for i in pending],
                suite_name=suite["name"],
                max_examples=policy.max_examples,
            ),
            strict=True,
        ):
            results[index] = result
    done = [r for r in results if r is not None]
    statistics = {
        "evaluated_expectations": len(done),
        "successful_expectations": sum(r.success for r in done),
        "rows": len(frame),
        "columns": len(frame.columns),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return _report(
        dataset, suite["name"], done, statistics, policy, output_dir, run_name, set(frame.columns)
    )


def validate_dataset(
    path: str,
    suite: dict[str, Any],
    *,
    storage_options: dict[str, Any] | None = None,
    max_bytes: int | None = None,
    **options: Any,
) -> ValidationReport:
    """Read ``path`` (CSV/Parquet, local or ``s3://``) and validate it with :func:`validate_frame`.

    A file that cannot be read as a table gives a ``stop`` report whose single failure,
    ``expect_table_to_be_readable``, carries the reader's message; nothing is raised for it.
    """
    from airflow_mlops.data.io import read_table
    from airflow_mlops.validation.engine import ExpectationResult

    try:
        frame = read_table(path, storage_options=storage_options, max_bytes=max_bytes)
    except DataError as error:
        failure = ExpectationResult(READABLE, {}, {"level": "schema"}, False, error=str(error))
        statistics = {"evaluated_expectations": 1, "successful_expectations": 0}
        policy = options.get("policy") or ValidationPolicy()
        return _report(
            path,
            suite["name"],
            [failure],
            statistics,
            policy,
            options.get("output_dir"),
            options.get("run_name", "validation"),
            set(),
        )
    return validate_frame(frame, suite, dataset=path, **options)


def _report(
    dataset: str,
    suite_name: str,
    results: list[ExpectationResult],
    statistics: dict[str, Any],
    policy: ValidationPolicy,
    output_dir: str | Path | None,
    run_name: str,
    columns: set[str],
) -> ValidationReport:
    failed = [_failure(r, policy, columns) for r in results if not r.success]
    outcome, retrain = outcome_of([f["severity"] for f in failed])
    engines: dict[str, int] = {}
    for result in results:
        engines[result.engine] = engines.get(result.engine, 0) + 1
    report = ValidationReport(
        dataset, suite_name, outcome, retrain, failed, statistics, engines=engines
    )
    if output_dir is None:
        return report
    target = Path(output_dir)
    docs_uri = (target / "index.html").resolve().as_uri()
    report_uri = (target / "report.json").resolve().as_uri()
    report = ValidationReport(
        dataset, suite_name, outcome, retrain, failed, statistics, docs_uri, report_uri, engines
    )
    with atomic_directory(target) as folder:
        readable = [r for r in results if r.type != READABLE]
        if readable:
            from airflow_mlops.validation.gx_runner import render_data_docs

            html = render_data_docs(suite_name, results, run_name=run_name, dataset=dataset)
        else:
            html = _unreadable_page(dataset, failed[0]["detail"])
        atomic_write_text(folder / "index.html", html)
        atomic_write_json(folder / "report.json", report.to_dict())
        atomic_write_json(folder / "validation.json", [_result_dict(r) for r in results])
    return report


def _failure(
    result: ExpectationResult, policy: ValidationPolicy, columns: set[str]
) -> dict[str, Any]:
    needed = result.kwargs.get("column_list") or [result.column]
    absent = [c for c in needed if c is not None and c not in columns]
    detail = _detail(result)
    if absent and result.type != "expect_column_to_exist":
        detail = f"cannot run: column(s) {absent} missing from the data"
    return {
        "expectation": result.type,
        "column": result.column,
        "level": result.meta.get("level", "value"),
        "severity": policy.severity_of(result.type, result.meta),
        "unexpected_count": result.unexpected_count,
        "element_count": result.element_count,
        "examples": result.examples[: policy.max_examples],
        "detail": detail,
    }


def _detail(result: ExpectationResult) -> str:
    """A short human reading of what was expected and what was found."""
    kwargs = result.kwargs
    if result.error:
        return result.error
    if result.type == "expect_table_columns_to_match_set":
        observed = result.observed or {}
        parts = [f"{k} columns {observed[k]}" for k in ("missing", "unexpected") if observed.get(k)]
        return ", ".join(parts) or "the column set differs"
    if result.type == "expect_table_row_count_to_be_between":
        return f"{result.observed} rows, expected {_bounds(kwargs)}"
    if result.type == "expect_column_to_exist":
        role = " (the label)" if "label" in str(result.meta.get("notes", "")) else ""
        return f"column {kwargs['column']!r}{role} is missing"
    if result.type == "expect_column_values_to_be_in_type_list" and result.observed:
        return f"dtype {result.observed}, expected one of {kwargs['type_list']}"
    if result.type == "expect_column_stdev_to_be_between":
        return (
            f"standard deviation {result.observed}, expected {_bounds(kwargs)} (constant column?)"
        )
    if result.unexpected_count is not None:
        fraction = result.unexpected_fraction or 0.0
        expected = {
            "expect_column_values_to_be_between": f"outside {_bounds(kwargs)}",
            "expect_column_values_to_be_in_set": f"not in {kwargs.get('value_set')}",
            "expect_column_values_to_not_be_null": "null",
            "expect_compound_columns_to_be_unique": "duplicated rows",
        }.get(result.type, "unexpected")
        allowed = f", at most {1 - kwargs['mostly']:.1%} allowed" if "mostly" in kwargs else ""
        return (
            f"{result.unexpected_count} of {result.element_count} values {expected} "
            f"({fraction:.1%}{allowed})"
        )
    return f"observed {result.observed!r}"


def _bounds(kwargs: dict[str, Any]) -> str:
    low = "(" if kwargs.get("strict_min") else "["
    high = ")" if kwargs.get("strict_max") else "]"
    return f"{low}{kwargs.get('min_value', '-inf')}, {kwargs.get('max_value', 'inf')}{high}"


def _describe_all(failed: list[dict[str, Any]]) -> list[str]:
    """One line per failure; the failures caused by one missing column share a line."""
    lines, grouped = [], {}
    for failure in failed:
        if failure["detail"].startswith("cannot run: column"):
            grouped.setdefault((failure["severity"], failure["detail"]), []).append(failure)
        else:
            lines.append(f"- {_describe(failure)}")
    for (severity, detail), items in grouped.items():
        kinds = ", ".join(item["expectation"] for item in items)
        lines.append(
            f"- [{severity}] {len(items)} expectation(s) {detail[: -len(' from the data')]}"
            f" from the data ({kinds})"
        )
    return lines


def _describe(failure: dict[str, Any]) -> str:
    column = f" on column {failure['column']!r}" if failure["column"] else ""
    shown = repr(failure["examples"])
    shown = shown if len(shown) <= 300 else shown[:297] + "..."
    examples = f"; e.g. {shown}" if failure["examples"] else ""
    return (
        f"[{failure['severity']}] {failure['expectation']}{column}: {failure['detail']}{examples}"
    )


def _result_dict(result: ExpectationResult) -> dict[str, Any]:
    return {
        "type": result.type,
        "kwargs": result.kwargs,
        "meta": result.meta,
        "success": result.success,
        "element_count": result.element_count,
        "unexpected_count": result.unexpected_count,
        "missing_count": result.missing_count,
        "examples": result.examples,
        "observed": result.observed,
        "error": result.error,
        "engine": result.engine,
    }


def _unreadable_page(dataset: str, message: str) -> str:
    from html import escape

    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Validation: unreadable "
        f"dataset</title></head><body><h1>Dataset could not be read</h1><p><code>{escape(dataset)}"
        f"</code></p><pre>{escape(message)}</pre></body></html>\n"
    )
