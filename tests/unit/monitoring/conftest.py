"""Seeded demo-schema samples for the drift tests, and a small exported ONNX classifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mlops.local.demo.dataset import LABEL, SEGMENT
from airflow_mlops.local.demo.synthetic import SyntheticGenerator


@pytest.fixture(scope="session")
def generator() -> SyntheticGenerator:
    return SyntheticGenerator.fit()


@pytest.fixture(scope="session")
def sample(generator: SyntheticGenerator):
    """``sample(rows, seed, shift=None)``: one frame of demo-schema rows, label kept."""

    def make(rows: int, seed: int, shift: dict[str, float] | None = None):
        return next(generator.chunks(rows, seed=seed, chunk_rows=rows, shift=shift))

    return make


@pytest.fixture(scope="session")
def numerical(generator: SyntheticGenerator) -> list[str]:
    return list(generator.features)


@pytest.fixture(scope="session")
def categorical() -> list[str]:
    return [SEGMENT]


@pytest.fixture(scope="session")
def onnx_classifier(tmp_path_factory: pytest.TempPathFactory, generator) -> Path:
    """A seeded MLP over the demo features, exported per the ONNX contract."""
    import torch

    from airflow_mlops.export.exporter import ExportConfig, export_model
    from airflow_mlops.export.latency import TimingPlan

    frame = next(generator.chunks(2000, seed=7, chunk_rows=2000))
    numeric = list(generator.features)
    preprocessing = {
        "numeric_columns": numeric,
        "categorical_columns": [SEGMENT],
        "mean": frame[numeric].mean().astype(float).tolist(),
        "std": frame[numeric].std().astype(float).tolist(),
        "categories": {SEGMENT: list(generator.categories)},
        "label": LABEL,
        "task": "classification",
        "classes": [0, 1],
    }
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(len(numeric) + len(generator.categories), 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 2),
    ).eval()
    config = ExportConfig(
        sample_rows=64, timing=TimingPlan(warmup=1, min_calls=2, max_calls=4, max_seconds=0.1)
    )
    out = tmp_path_factory.mktemp("onnx") / "model"
    return Path(export_model(net, preprocessing, out, config=config).onnx_path)
