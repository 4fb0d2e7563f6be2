"""Checkpoint -> ONNX with preprocessing baked in, checked, parity-tested, timed, then written.

Nothing is written unless every check passes: the model is built and checked in memory, and
``model.onnx`` with ``export_report.json`` land in the output directory in one atomic rename.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.artifacts import atomic_directory, atomic_write_json
from airflow_mlops.errors import ConfigError, ExportError
from airflow_mlops.export.latency import LatencyStats, TimingPlan, onnx_latency
from airflow_mlops.inputs import check_int, check_number, rule

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch

    from airflow_mlops.export.features import FeatureSpec
    from airflow_mlops.export.parity import ParityReport

ONNX_FILE = "model.onnx"
#: the largest sample and latency batch, in rows
MAX_BATCH = 1_000_000
REPORT_FILE = "export_report.json"


@dataclass(frozen=True)
class ExportConfig:
    """Checks run by the export.

    :param atol: parity: absolute tolerance on each score (regression: times the label's
        training std, so the check means the same whatever the label's units).
    :param rtol: parity: tolerance relative to the torch score.
    :param sample_rows: rows of the validation sample used for parity (a random subset).
    :param threads: onnxruntime intra-op threads for the latency measurement.
    :param latency_batches: batch sizes to time; empty to skip timing.
    :param timing: how many calls to time per batch size.
    :param seed: seed of the sample subset and of the synthetic sample.
    """

    atol: float = 1e-5
    rtol: float = 1e-4
    sample_rows: int = 512
    threads: int = 1
    latency_batches: tuple[int, ...] = (1, 1024)
    timing: TimingPlan = field(default_factory=TimingPlan)
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        for name, check in (
            ("atol", rule(check_number, 0, 1)),
            ("rtol", rule(check_number, 0, 1)),
            ("sample_rows", rule(check_int, 1, MAX_BATCH)),
            ("threads", rule(check_int, 1, 1024)),
            ("seed", rule(check_int, 0, 2**32 - 1)),
        ):
            try:
                check(name, getattr(self, name))
            except ConfigError as error:
                problems.append(error.message.rstrip("."))
        batches = self.latency_batches
        if not isinstance(batches, tuple) or not all(
            isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= MAX_BATCH for b in batches
        ):
            problems.append(f"latency_batches={batches!r}: must be integers from 1 to {MAX_BATCH}")
        if problems:
            raise ConfigError(
                "Invalid export config: " + "; ".join(problems) + ".",
                hint="Fix the ExportOnnxOperator / ExportConfig arguments named above.",
            )


@dataclass(frozen=True)
class ExportResult:
    """Where the model and its report are, and what the checks measured."""

    onnx_path: Path
    report_path: Path
    sha256: str
    parity: ParityReport
    latency: dict[int, LatencyStats]
    threads: int

    def latency_summary(self) -> dict[str, Any]:
        """``{"threads", "batch_<n>": {"p50_ms", "p95_ms", "rows_per_second"}}`` (for XCom)."""
        summary: dict[str, Any] = {"threads": self.threads}
        for batch, stats in self.latency.items():
            summary[f"batch_{batch}"] = {
                "p50_ms": round(stats.p50_ms, 4),
                "p95_ms": round(stats.p95_ms, 4),
                "rows_per_second": round(stats.rows_per_second, 1),
            }
        return summary


def export_model(
    model: torch.nn.Module,
    preprocessing: Mapping[str, Any],
    output_dir: str | os.PathLike[str],
    *,
    sample: pd.DataFrame | None = None,
    config: ExportConfig | None = None,
    metadata: Mapping[str, str] | None = None,
) -> ExportResult:
    """Export ``model`` with its ``preprocessing`` (contract of ``model.pt``) to ONNX.

    :param model: the net, taking the preprocessed float32 ``[N, n_inputs]`` tensor.
    :param preprocessing: columns, mean/std, categories, label, task, classes.
    :param output_dir: directory that receives ``model.onnx`` and ``export_report.json``.
    :param sample: raw validation rows for parity and latency; None = rows drawn from the
        training statistics (with unseen categories).
    :param config: tolerances and timing; defaults to :class:`ExportConfig`.
    :param metadata: extra metadata_props (string values) to record in the model.
    :raises ExportError: export, ``onnx.checker`` or parity failed; nothing is written.
    """
    import onnx

    # the export's machinery loads here, not when the operator module is imported at DAG parse
    from airflow_mlops.export.features import FeatureSpec
    from airflow_mlops.export.graph import (
        add_categorical_input,
        export_torch,
        serving_module,
        set_metadata,
    )
    from airflow_mlops.export.parity import check_parity
    from airflow_mlops.export.runtime import OnnxPredictor

    config = config or ExportConfig()
    spec = FeatureSpec.from_preprocessing(preprocessing)
    if sample is not None:
        spec.preprocessor.check_columns(sample)
    model = model.eval()
    proto = export_torch(serving_module(model, spec), spec)
    add_categorical_input(proto, spec)
    set_metadata(proto, spec, dict(metadata or {}))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise ExportError(
            f"onnx.checker rejected the exported model: {error}",
            hint="This is a bug in the exporter or an unsupported layer; report it with the "
            "model_config of the checkpoint.",
        ) from error
    payload = proto.SerializeToString()

    frame = _parity_frame(spec, sample, config)
    predictor = OnnxPredictor.from_bytes(payload, threads=config.threads, source=ONNX_FILE)
    parity = check_parity(
        torch_reference(model, spec),
        predictor,
        frame,
        atol=config.atol * spec.target_std,
        rtol=config.rtol,
    )
    latency = onnx_latency(
        predictor,
        frame,
        batches=config.latency_batches,
        threads=config.threads,
        plan=config.timing,
    )
    digest = hashlib.sha256(payload).hexdigest()
    target = Path(output_dir)
    with atomic_directory(target) as staging:
        (staging / ONNX_FILE).write_bytes(payload)
        result = ExportResult(
            onnx_path=target / ONNX_FILE,
            report_path=target / REPORT_FILE,
            sha256=digest,
            parity=parity,
            latency=latency,
            threads=config.threads,
        )
        atomic_write_json(staging / REPORT_FILE, _report(result, proto, spec))
    return result


def export_checkpoint(
    checkpoint_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    sample: pd.DataFrame | None = None,
    config: ExportConfig | None = None,
    model_factory: str | None = None,
) -> ExportResult:
    """Export the training output in ``checkpoint_dir`` (``model.pt``, safely loaded).

    See :func:`export_model`; the checkpoint's directory is recorded in the model metadata.
    ``model_factory`` is the factory the model was trained with (None: the built-in MLP); a
    checkpoint naming another one is refused (see :func:`load_checkpoint`).
    """
    from airflow_mlops.training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(checkpoint_dir, model_factory=model_factory)
    return export_model(
        checkpoint.build_model(),
        checkpoint.preprocessor.to_dict(),
        output_dir,
        sample=sample,
        config=config,
        metadata={"source_checkpoint": str(Path(checkpoint_dir).resolve())},
    )


def torch_reference(
    model: torch.nn.Module, spec: FeatureSpec
) -> Callable[[pd.DataFrame], np.ndarray]:
    """Score raw rows with ``model`` through the training transform (the parity reference)."""
    import torch

    def score(frame: pd.DataFrame) -> np.ndarray:
        with torch.inference_mode():
            out = model(torch.from_numpy(spec.preprocessor.transform(frame)))
            if spec.task == "classification":
                out = torch.softmax(out, dim=1)
        return spec.preprocessor.decode_output(out.numpy())

    return score


def _parity_frame(
    spec: FeatureSpec, sample: pd.DataFrame | None, config: ExportConfig
) -> pd.DataFrame:
    if sample is None:
        return spec.synthetic_frame(config.sample_rows, seed=config.seed)
    if len(sample) == 0:
        raise ExportError(
            "The validation sample for the parity check is empty.",
            hint="Pass a non-empty sample, or none to use rows drawn from the training stats.",
        )
    if len(sample) > config.sample_rows:
        return sample.sample(n=config.sample_rows, random_state=config.seed)
    return sample


def _report(result: ExportResult, proto: Any, spec: FeatureSpec) -> dict[str, Any]:
    import onnx
    import onnxruntime
    import torch

    return {
        "onnx_file": ONNX_FILE,
        "sha256": result.sha256,
        "bytes": proto.ByteSize(),
        "inputs": [value.name for value in proto.graph.input],
        "outputs": [value.name for value in proto.graph.output],
        "opsets": {op.domain or "ai.onnx": op.version for op in proto.opset_import},
        "metadata": {**spec.metadata.to_props()},
        "checker": "passed (full_check)",
        "parity": result.parity.to_dict(),
        "latency": result.latency_summary(),
        "latency_detail": {str(b): s.to_dict() for b, s in result.latency.items()},
        "versions": {
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    }
