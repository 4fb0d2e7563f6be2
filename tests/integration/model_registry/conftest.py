"""ONNX models of known quality on the demo data, exported by the real export core.

Each model is a logistic regression (scikit-learn) copied into a torch ``Linear`` layer and
exported with the preprocessing baked in, so the tests control exactly how good a model is
overall and on each clinic, without running the training loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.local.demo.dataset import LABEL, SEGMENT, breast_cancer_frame

CLINICS = ["north", "south", "east", "west"]


@pytest.fixture(scope="session")
def cancer() -> Any:
    """The demo dataset (569 rows); the holdout of the gate tests."""
    return breast_cancer_frame()


def _preprocessing(frame: Any) -> dict[str, Any]:
    numeric = [c for c in frame.columns if c not in (LABEL, SEGMENT)]
    return {
        "numeric_columns": numeric,
        "categorical_columns": [SEGMENT],
        "mean": [float(frame[c].mean()) for c in numeric],
        "std": [float(frame[c].std()) for c in numeric],
        "categories": {SEGMENT: CLINICS},
        "label": LABEL,
        "task": "classification",
        "classes": [0, 1],
    }


def _linear(frame: Any, preprocessing: dict[str, Any], kind: str) -> Any:
    """A torch Linear(n_inputs, 2) whose logit difference is a fitted logistic regression.

    kinds: ``good`` (all features), ``weak`` (one weak feature), ``west_broken`` (good, but every
    row of the ``west`` clinic pushed to class 1).
    """
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression

    numeric = preprocessing["numeric_columns"]
    x = (frame[numeric].to_numpy() - np.asarray(preprocessing["mean"])) / np.asarray(
        preprocessing["std"]
    )
    onehot = np.stack([(frame[SEGMENT] == c).to_numpy(float) for c in CLINICS], axis=1)
    inputs = np.concatenate([x, onehot], axis=1)
    if kind == "weak":
        inputs = inputs * (np.arange(inputs.shape[1]) == numeric.index("mean_texture"))
    fit = LogisticRegression(C=1.0, max_iter=2000).fit(inputs, frame[LABEL])
    weights, bias = fit.coef_[0].copy(), float(fit.intercept_[0])
    if kind == "west_broken":
        weights[len(numeric) + CLINICS.index("west")] += 25.0
    layer = torch.nn.Linear(inputs.shape[1], 2)
    with torch.no_grad():
        rows = np.stack([np.zeros_like(weights), weights])
        layer.weight.copy_(torch.tensor(rows, dtype=torch.float32))
        layer.bias.copy_(torch.tensor([0.0, bias], dtype=torch.float32))
    return layer.eval()


@pytest.fixture(scope="session")
def onnx_models(cancer: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"good", "weak", "west_broken"}`` -> exported model.onnx paths."""
    from airflow_mlops.export.exporter import ExportConfig, export_model
    from airflow_mlops.export.latency import TimingPlan

    config = ExportConfig(
        sample_rows=64,
        latency_batches=(1,),
        timing=TimingPlan(warmup=1, min_calls=3, max_calls=5, max_seconds=0.1),
    )
    preprocessing = _preprocessing(cancer)
    root = tmp_path_factory.mktemp("onnx-models")
    return {
        kind: export_model(
            _linear(cancer, preprocessing, kind), preprocessing, root / kind, config=config
        ).onnx_path
        for kind in ("good", "weak", "west_broken")
    }


@pytest.fixture
def model_name() -> str:
    """A registered model name no other test uses."""
    return f"cancer-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def lineage_for() -> Callable[..., Any]:
    """``lineage_for(run_id, **fields)``: a Lineage of one (fake) CT run."""
    from airflow_mlops.lineage import Lineage, fingerprint

    def build(run_id: str, **fields: Any) -> Lineage:
        params = fields.pop("params", {"epochs": 5, "lr": 0.01})
        values = {
            "dataset": "cancer",
            "data_rev": "v1",
            "data_md5": "0" * 32,
            "image_digest": "sha256:" + "a" * 64,
            "dag_id": "mlops_level1_ct",
            "run_id": run_id,
            "trigger": "manual",
            "params": params,
            "fingerprint": fingerprint("0" * 32, "sha256:" + "a" * 64, {**params, "run": run_id}),
        }
        return Lineage(**{**values, **fields})

    return build
