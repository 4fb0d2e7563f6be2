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
