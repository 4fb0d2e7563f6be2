"""A small seeded model over the synthetic demo schema, exported to ONNX.

Benchmarks and tests of batch scoring and drift need a real ONNX model with the demo's
preprocessing baked in, without running a training job first.
"""

from __future__ import annotations

from pathlib import Path


def export_demo_model(out: Path, hidden_units: int | None = 64, fit_rows: int = 2_000) -> Path:
    """Export a seeded MLP (or a linear model when ``hidden_units`` is None) to ``out``.

    :param out: the export directory.
    :param hidden_units: width of the one hidden layer; None exports a single linear layer.
    :param fit_rows: synthetic rows the preprocessing statistics are computed on.
    :return: the path of the ONNX file.
    """
    import torch

    from airflow_mlops.export.exporter import ExportConfig, export_model
    from airflow_mlops.export.latency import TimingPlan
    from airflow_mlops.local.demo.synthetic import SyntheticGenerator

    generator = SyntheticGenerator.fit()
    frame = next(generator.chunks(fit_rows, seed=7, chunk_rows=fit_rows))
    numeric = list(generator.features)
    preprocessing = {
        "numeric_columns": numeric,
        "categorical_columns": ["clinic"],
        "mean": frame[numeric].mean().astype(float).tolist(),
        "std": frame[numeric].std().astype(float).tolist(),
        "categories": {"clinic": list(generator.categories)},
        "label": "malignant",
        "task": "classification",
        "classes": [0, 1],
    }
    inputs = len(numeric) + len(generator.categories)
    torch.manual_seed(0)
    if hidden_units is None:
        layers = [torch.nn.Linear(inputs, 2)]
    else:
        hidden = torch.nn.Linear(inputs, hidden_units)
        layers = [hidden, torch.nn.ReLU(), torch.nn.Linear(hidden_units, 2)]
    net = torch.nn.Sequential(*layers).eval()
    timing = TimingPlan(warmup=1, min_calls=2, max_calls=3, max_seconds=0.1)
    config = ExportConfig(sample_rows=64, timing=timing)
    return Path(export_model(net, preprocessing, out, config=config).onnx_path)
