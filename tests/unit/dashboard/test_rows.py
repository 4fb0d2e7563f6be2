"""The page's rows from MLflow's JSON: lineage from the ``mlops.*`` tags, gate, drift points."""

from __future__ import annotations

import json

from airflow_mlops.dashboard.links import LinkBuilder
from airflow_mlops.dashboard.rows import chart_metric, drift_point, version_row
from airflow_mlops.lineage import (
    GATE_DECISION_TAG,
    GATE_REASONS_TAG,
    LINEAGE_KEYS,
    REPORT_TAG,
    Lineage,
)

LINKS = LinkBuilder(mlflow_ui_url="http://mlflow:5000", airflow_url="")


def _pairs(values: dict[str, object]) -> list[dict[str, object]]:
    return [{"key": key, "value": value} for key, value in values.items()]


def test_a_version_row_shows_every_lineage_tag_the_registration_writes() -> None:
    lineage = Lineage(
        dataset="d",
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
    }
    version = {"name": "m", "version": 4, "run_id": "r1", "tags": _pairs(tags)}
    run = {"info": {"experiment_id": "2"}, "data": {"metrics": _pairs({"val_accuracy": 0.9})}}

    row = version_row(version, ["champion"], run, LINKS)

    assert set(row["lineage"]) == {*LINEAGE_KEYS, "gate_decision"}
    assert row["lineage"]["dataset"] == "d" and row["lineage"]["params"] == {"epochs": 3}
    assert row["gate"] == {"decision": "accepted", "reasons": ["better"]}
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
