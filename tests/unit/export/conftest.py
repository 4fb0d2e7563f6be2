"""A small net and preprocessing dict per the training contract, and one exported model.

The net is built here rather than trained so that the export tests run without the training
core; tests that need a real checkpoint train one with ``airflow_mlops.training``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.export.exporter import ExportConfig, ExportResult, export_model
from airflow_mlops.export.latency import TimingPlan

NUMERIC = ["mean_radius", "mean_texture", "worst_area", "mean_smoothness"]
CATEGORIES = {"clinic": ["north", "south", "east", "west"], "grade": [1, 2, 3]}


def make_preprocessing(task: str = "classification", categorical: bool = True) -> dict[str, Any]:
    """A ``preprocessing`` dict as the training core writes it into ``model.pt``."""
    columns = list(CATEGORIES) if categorical else []
    return {
        "numeric_columns": NUMERIC,
        "categorical_columns": columns,
        "mean": [14.1, 19.3, 880.6, 0.096],
        "std": [3.5, 4.3, 569.4, 0.014],
        "categories": {c: CATEGORIES[c] for c in columns},
        "label": "malignant" if task == "classification" else "size",
        "task": task,
        "classes": [0, 1] if task == "classification" else [],
    }


def make_net(preprocessing: dict[str, Any], seed: int = 0) -> Any:
    """An MLP with the input width the preprocessing gives and seeded random weights."""
    import torch

    torch.manual_seed(seed)
    width = len(preprocessing["numeric_columns"]) + sum(
        len(v) for v in preprocessing["categories"].values()
    )
    outputs = len(preprocessing["classes"]) if preprocessing["task"] == "classification" else 1
    return torch.nn.Sequential(
        torch.nn.Linear(width, 16), torch.nn.ReLU(), torch.nn.Linear(16, outputs)
    ).eval()


@pytest.fixture(scope="session")
def quick_config() -> ExportConfig:
    """Default tolerances, a short timing plan."""
    return ExportConfig(
        sample_rows=128, timing=TimingPlan(warmup=2, min_calls=5, max_calls=20, max_seconds=0.2)
    )


@pytest.fixture(scope="session")
def classifier_export(
    tmp_path_factory: pytest.TempPathFactory, quick_config: ExportConfig
) -> ExportResult:
    """A classifier with two categorical columns, exported once for the session."""
    preprocessing = make_preprocessing()
    out = tmp_path_factory.mktemp("export") / "classifier"
    return export_model(make_net(preprocessing), preprocessing, out, config=quick_config)


@pytest.fixture(name="make_preprocessing")
def make_preprocessing_fixture() -> Any:
    """:func:`make_preprocessing` as a fixture (test modules are not a package)."""
    return make_preprocessing


@pytest.fixture(name="make_net")
def make_net_fixture() -> Any:
    """:func:`make_net` as a fixture."""
    return make_net


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    return tmp_path / "onnx"
