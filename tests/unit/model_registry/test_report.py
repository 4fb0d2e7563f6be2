"""The evaluation report files."""

from __future__ import annotations

import json

from airflow_mlops.model_registry.gate import Evaluation, Gate, GateConfig
from airflow_mlops.model_registry.report import write_report


def test_report_has_tables_plot_and_json(tmp_path):
    slices = {"north": {"rows": 50, "accuracy": 0.9}, "west": {"rows": 20, "accuracy": 0.6}}
    challenger = Evaluation("2", "classification", 70, {"accuracy": 0.85}, slices, 0.05)
    champion = Evaluation(
        "1",
        "classification",
        70,
        {"accuracy": 0.8},
        {"north": {"rows": 50, "accuracy": 0.8}, "west": {"rows": 20, "accuracy": 0.8}},
        0.04,
    )
    config = GateConfig()
    decision = Gate(config).compare(challenger, champion)
    out = write_report(
        tmp_path / "report",
        name="cancer",
        challenger=challenger,
        champion=champion,
        decision=decision,
        config=config,
    )
    text = (out / "report.md").read_text()
    assert "# Evaluation of cancer challenger v2: REJECTED" in text
    assert "| west | 20 | 0.8000 | 0.6000 |" in text
    assert (out / "slices.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "evaluation.json").read_text())["decision"]["accepted"] is False
    assert (out / "slices.csv").read_text().splitlines()[0] == "slice,rows,champion,challenger"


def test_report_shows_both_models_on_the_same_rows_with_intervals(tmp_path):
    import numpy as np

    from airflow_mlops.model_registry.significance import compare_on_rows

    truth = np.zeros(120, dtype=int)
    challenger_right = np.arange(120) >= 6
    champion_right = np.arange(120) >= 20
    slices = np.array(["north", "west"] * 60)
    paired = compare_on_rows(
        "accuracy",
        1,
        truth,
        np.eye(2)[np.where(challenger_right, 0, 1)],
        np.eye(2)[np.where(champion_right, 0, 1)],
        [0, 1],
        resamples=300,
        slices=slices,
    )
    challenger = Evaluation("2", "classification", 120, {"accuracy": 0.95}, paired=paired)
    champion = Evaluation("1", "classification", 120, {"accuracy": 0.8333})
    config = GateConfig(slice_column="site")
    decision = Gate(config).compare(challenger, champion)
    holdout = {
        "split_rule": '{"fraction":0.2}',
        "md5": "ab" * 16,
        "rows": 120,
        "data_rows": 600,
        "champion_rule": "champion v1 records no split rule",
    }
    out = write_report(
        tmp_path / "report",
        name="m",
        challenger=challenger,
        champion=champion,
        decision=decision,
        config=config,
        holdout=holdout,
    )
    text = (out / "report.md").read_text()
    assert "Holdout: 120 of the data's 600 rows" in text and "records no split rule" in text
    assert "`accuracy` on the same 120 holdout rows, 95% paired bootstrap intervals" in text
    assert "| champion v1 | 0.8333 [" in text and "| challenger v2 | 0.9500 [" in text
    assert "| difference (challenger - champion) | +0.1167 [+" in text
    assert "McNemar: 14 rows only the challenger gets right, 0 only the champion" in text
    assert "| north | 60 |" in text and "| west | 60 |" in text
    assert json.loads((out / "evaluation.json").read_text())["holdout"]["rows"] == 120
