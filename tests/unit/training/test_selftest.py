"""The in-image pipeline self-test passes on good data and fails on data it cannot learn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from airflow_mlops.local.demo.dataset import breast_cancer_frame
from airflow_mlops.training.selftest import CHECKS, REPORT, main


def test_selftest_passes_on_the_demo_data(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    breast_cancer_frame().to_csv(data, index=False)
    code = main(
        [
            "--data",
            str(data),
            "--label",
            "malignant",
            "--output",
            str(tmp_path / "out"),
            "--rows",
            "128",
        ]
    )
    report = json.loads((tmp_path / "out" / REPORT).read_text())
    assert code == 0
    assert [c["name"] for c in report if c["passed"]] == list(CHECKS)


def test_selftest_fails_when_the_label_is_missing(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    frame = breast_cancer_frame().drop(columns=["malignant"])
    frame["noise"] = np.arange(len(frame))
    frame.to_csv(data, index=False)
    code = main(["--data", str(data), "--label", "malignant", "--output", str(tmp_path / "out")])
    report = json.loads((tmp_path / "out" / REPORT).read_text())
    assert code == 1
    assert not any(check["passed"] for check in report)
    assert "malignant" in report[0]["detail"]["error"]
