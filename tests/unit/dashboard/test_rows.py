"""The page's rows from MLflow's JSON: lineage from the ``mlops.*`` tags, gate, drift points."""

from __future__ import annotations

import json

from airflow_mlops.dashboard.links import LinkBuilder
from airflow_mlops.dashboard.rows import (
    chart_metric,
    drift_point,
    holdout_comparison,
    version_row,
)
from airflow_mlops.lineage import (
    GATE_DECISION_TAG,
    GATE_REASONS_TAG,
    HOLDOUT_MD5_TAG,
    HOLDOUT_ROWS_TAG,
    LINEAGE_KEYS,
    REPORT_TAG,
    SPLIT_RULE_TAG,
    Lineage,
)

LINKS = LinkBuilder(mlflow_ui_url="http://mlflow:5000", airflow_url="")


def _pairs(values: dict[str, object]) -> list[dict[str, object]]:
    return [{"key": key, "value": value} for key, value in values.items()]


def test_a_version_row_shows_every_lineage_tag_the_registration_writes() -> None:
    lineage = Lineage(
        dataset="d",
        data_commit="3f2a9c0d41b7e6a5c8d9e0f1a2b3c4d5e6f7a8b9",
        dag_id="ct",
        run_id="manual__1",
        params={"epochs": 3},
        parity_max_abs=1e-6,
        validation_outcome="success",
    )
    tags = {
        **lineage.tags(),
        GATE_DECISION_TAG: "accepted",
        GATE_REASONS_TAG: json.dumps(["better"]),
        REPORT_TAG: "javascript:alert(1)",
        SPLIT_RULE_TAG: json.dumps({"fraction": 0.2, "seed": 0}),
        HOLDOUT_MD5_TAG: "abc",
        HOLDOUT_ROWS_TAG: "114",
    }
    version = {"name": "m", "version": 4, "run_id": "r1", "tags": _pairs(tags)}
    logged = {"val_accuracy": 0.9, "seed": 7, "n_parameters": 1234}
    run = {"info": {"experiment_id": "2"}, "data": {"metrics": _pairs(logged)}}

    row = version_row(version, ["champion"], run, LINKS)

    assert set(row["lineage"]) == {*LINEAGE_KEYS, "gate_decision"}
    assert row["lineage"]["dataset"] == "d" and row["lineage"]["params"] == {"epochs": 3}
    assert row["gate"] == {
        "decision": "accepted",
        "reasons": ["better"],
        "holdout": {"split_rule": {"fraction": 0.2, "seed": 0}, "md5": "abc", "rows": 114.0},
    }
    assert row["metrics"] == {"val_accuracy": 0.9}  # training internals apart
    assert row["internals"] == {"seed": 7, "n_parameters": 1234}
    assert row["data_commit"] == lineage.data_commit
    assert row["parity_max_abs"] == 1e-6 and row["validation_outcome"] == "success"
    assert row["links"]["dag_run"] == "/dags/ct/runs/manual__1"
    assert row["links"]["run"] == "http://mlflow:5000/#/experiments/2/runs/r1"
    assert row["report_uri"] == "javascript:alert(1)" and row["links"]["report"] is None
    assert chart_metric([row]) == "val_accuracy"


def test_a_monitoring_run_without_drift_share_is_no_drift_point() -> None:
    info = {"run_id": "r", "start_time": 0}
    assert drift_point({"info": info, "data": {}}, LINKS) is None
    report = "/mlops/reports/drift/monitor/r/drift/index.html"
    data = {"metrics": _pairs({"drift_share": 0.5}), "tags": _pairs({REPORT_TAG: report})}
    point = drift_point({"info": info, "data": data}, LINKS)
    assert point is not None
    assert (point["drift_share"], point["time"], point["links"]["report"]) == (
        0.5,
        "1970-01-01T00:00:00Z",
        report,
    )


def test_a_drift_point_says_which_columns_drifted() -> None:
    metrics = {"drift_share": 0.5, "drift.age": 0.001, "drifted.age": 1.0, "drift.bmi": 0.6,
               "drifted.bmi": 0.0, "drift.old_run_column": 0.2}  # fmt: skip
    point = drift_point(
        {"info": {"run_id": "r", "start_time": 0}, "data": {"metrics": _pairs(metrics)}}, LINKS
    )
    assert point is not None
    assert point["columns"] == {
        "age": {"score": 0.001, "drifted": True},
        "bmi": {"score": 0.6, "drifted": False},
        "old_run_column": {"score": 0.2, "drifted": None},
    }


def test_a_report_tag_pointing_elsewhere_is_shown_as_text_not_linked() -> None:
    """Anyone who may write MLflow tags could otherwise put a link on the page."""
    evil = "https://evil.example/phish/report.html"
    version = {"name": "m", "version": 1, "run_id": "r", "tags": _pairs({REPORT_TAG: evil})}
    row = version_row(version, [], None, LINKS)
    assert row["report_uri"] == evil and row["links"]["report"] is None
    point = drift_point(
        {
            "info": {"run_id": "r", "start_time": 0},
            "data": {"metrics": _pairs({"drift_share": 0.1}), "tags": _pairs({REPORT_TAG: evil})},
        },
        LINKS,
    )
    assert point is not None and point["links"]["report"] is None


def test_reports_link_to_the_plugins_routes() -> None:
    run = "0123456789abcdef0123456789abcdef"
    report = f"mlflow-artifacts:/1/{run}/artifacts/evaluation/v3/report.md"
    assert LINKS.report(report) == f"/mlops/reports/mlflow/{run}/evaluation/v3/report.md"
    files = LinkBuilder(
        mlflow_ui_url=None,
        airflow_url="http://airflow:8080",
        report_path=lambda uri: "validation/ct/r/index.html" if uri.startswith("file:") else None,
    )
    assert (
        files.report("file:///home/artifacts/validation/ct/r/index.html")
        == "http://airflow:8080/mlops/reports/validation/ct/r/index.html"
    )
    assert files.report("https://evil.example/x") is None
    assert LINKS.report(f"mlflow-artifacts:/1/{run}/artifacts/../../x") is None


def test_the_holdout_comparison_comes_from_the_gates_evaluation() -> None:
    interval = {"value": 0.95, "low": 0.92, "high": 0.97}
    paired = {
        "metric": "accuracy",
        "rows": 114,
        "confidence": 0.95,
        "resamples": 1000,
        "champion": interval,
        "challenger": {"value": 0.96, "low": 0.93, "high": 0.98},
        "difference": {"value": 0.01, "low": -0.01, "high": 0.03},
        "slices": {"b": {"rows": 50, "champion": interval}, "a": {"rows": 64}},
    }
    evaluation = {
        "decision": {"accepted": False, "reasons": ["not better"]},
        "challenger": {"version": "4", "paired": paired},
        "champion": {"version": "3"},
        "holdout": {"rows": 114, "md5": "abc"},
    }

    shown = holdout_comparison(evaluation)

    assert shown is not None
    assert (shown["champion_version"], shown["challenger_version"]) == ("3", "4")
    assert shown["champion"] == interval and shown["difference"]["low"] == -0.01
    assert shown["accepted"] is False and shown["rows"] == 114
    assert [s["slice"] for s in shown["slices"]] == ["a", "b"]
    assert holdout_comparison({"challenger": {"version": "1", "paired": None}}) is None
    assert holdout_comparison(None) is None
