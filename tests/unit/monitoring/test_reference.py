"""The monitoring reference: which lineage tags it needs, and the model's columns."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from airflow_mlops.errors import DriftError
from airflow_mlops.lineage import DATA_REV_TAG, DATASET_TAG
from airflow_mlops.monitoring.reference import pull_training_data, with_predictions


@pytest.mark.parametrize(
    ("registry", "tags", "words"),
    [
        (None, {DATASET_TAG: "d.csv", DATA_REV_TAG: "v"}, "data_registry is not set"),
        ("/registry", {DATASET_TAG: "d.csv"}, "the version lacks"),
    ],
)
def test_no_reference_without_registry_and_tags(
    tmp_path: Path, registry: str | None, tags: dict[str, str], words: str
) -> None:
    with pytest.raises(DriftError, match=words):
        pull_training_data(registry, "m", tags, workspace=tmp_path / "w", cache_dir=tmp_path)


def test_with_predictions_needs_the_model_columns() -> None:
    predictor = SimpleNamespace(feature_columns=["x", "y"], predict=lambda frame: frame["x"] > 0)
    frame = pd.DataFrame({"x": [1, -1], "y": [0, 0]})
    assert with_predictions(frame, predictor)["prediction"].tolist() == [True, False]
    with pytest.raises(DriftError, match=r"lacks the model's columns \['y'\]"):
        with_predictions(frame[["x"]], predictor)
