"""Evidently 0.7 itself: the HTML drift report (on a sample for large data) and the plain
per-column tests on full DataFrames, the baseline the scalable check is compared with."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.artifacts import atomic_write_text
from airflow_mlops.monitoring.drift_types import DriftConfig

if TYPE_CHECKING:
    import pandas as pd
    from evidently.core.report import Snapshot

#: rows of each sample that go into the HTML report (its charts need no more)
REPORT_SAMPLE_ROWS = 50_000


def drift_preset_snapshot(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numerical_columns: Sequence[str],
    categorical_columns: Sequence[str] = (),
    config: DriftConfig | None = None,
) -> Snapshot:
    """Run Evidently's ``DataDriftPreset`` with ``config``'s methods and thresholds."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    config = config or DriftConfig()
    definition = DataDefinition(
        numerical_columns=list(numerical_columns), categorical_columns=list(categorical_columns)
    )
    columns = [*numerical_columns, *categorical_columns]
    preset = DataDriftPreset(
        columns=columns,
        drift_share=config.drift_share,
        method=config.method,
        num_method=config.num_method,
        cat_method=config.cat_method,
        per_column_method=dict(config.per_column_method) or None,
        threshold=config.threshold,
        num_threshold=config.num_threshold,
        cat_threshold=config.cat_threshold,
        per_column_threshold=dict(config.per_column_threshold) or None,
    )
    return Report([preset]).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )


def method_names() -> dict[str, str]:
    """Evidently's display name of each stattest -> its registered name."""
    from evidently.legacy.calculations.stattests import registry

    return {
        test.display_name: name
        for name, by_type in registry._registered_stat_tests.items()
        for test in by_type.values()
    }


def column_tests(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Per column ``{"method", "threshold", "score", "drifted"}`` from a drift snapshot."""
    from airflow_mlops.monitoring.stats import is_drifted

    names = method_names()
    tests = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        method = names.get(config["method"], config["method"])
        score, threshold = float(metric["value"]), float(config["threshold"])
        tests[config["column"]] = {
            "method": method,
            "threshold": threshold,
            "score": score,
            "drifted": is_drifted(method, score, threshold),
        }
    return tests


def sample_rows(frame: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame``, drawn uniformly without replacement."""
    return frame if len(frame) <= rows else frame.sample(n=rows, random_state=seed)


def save_html_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    numerical_columns: Sequence[str],
    categorical_columns: Sequence[str] = (),
    config: DriftConfig | None = None,
    max_rows: int = REPORT_SAMPLE_ROWS,
    seed: int = 0,
) -> Path:
    """Write Evidently's drift report as standalone HTML, atomically.

    The report is drawn from uniform samples of at most ``max_rows`` rows of each side: it is
    for people to look at; the decision comes from :func:`~airflow_mlops.monitoring.scalable.
    compute_drift` on the full data.
    """
    snapshot = drift_preset_snapshot(
        sample_rows(reference, max_rows, seed),
        sample_rows(current, max_rows, seed),
        numerical_columns=numerical_columns,
        categorical_columns=categorical_columns,
        config=config,
    )
    return atomic_write_text(path, snapshot.get_html_str(as_iframe=False))
