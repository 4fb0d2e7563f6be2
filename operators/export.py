"""ExportOnnxOperator: a training checkpoint to an ONNX model that serving can feed raw rows."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow.sdk import BaseOperator

from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.export.exporter import ONNX_FILE, REPORT_FILE, ExportConfig, export_checkpoint
from airflow_mlops.export.latency import TimingPlan
from airflow_mlops.inputs import check_name, check_path, rule
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.artifacts import context_artifact_dir
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.plugins.links import ParityReportLink

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context

    from airflow_mlops.export.exporter import ExportResult


class OnnxExportError(MlopsTaskError):
    """The export, ``onnx.checker`` or the parity check failed; ``details`` hold the numbers."""


class ExportOnnxOperator(BaseOperator):
    """Export a training checkpoint to ONNX with its preprocessing baked in, then check it.

    Loads ``model.pt`` with ``torch.load(weights_only=True)`` (no pickled code runs), exports
    scaling + net + softmax with a dynamic batch dimension and prepends the string one-hot
    encoding (ONNX-ML), runs ``onnx.checker``, compares onnxruntime with torch on a validation
    sample, times onnxruntime on the CPU at each batch size, and only then writes
    ``model.onnx`` and ``export_report.json`` (atomically on local disk; the report last on
    object storage). The model's inputs are ``numeric`` (float32) and ``categorical`` (string)
    raw columns; score it with :class:`airflow_mlops.export.runtime.OnnxPredictor`.

    Returns to XCom ``{"onnx_uri", "report_uri", "sha256", "parity_max_abs", "parity": {"rows",
    "max_abs", "max_rel", "worst_row", "worst_column", "atol", "rtol"}, "latency": {"threads",
    "batch_<n>": {"p50_ms", "p95_ms", "rows_per_second"}}, "checkpoint_uri"}``.

    Subclass and override :meth:`load_sample` to choose the validation rows another way.

    :param checkpoint_uri: the training output directory (holds ``model.pt``): a local path,
        ``file://`` or an object-storage URI such as ``s3://bucket/run/checkpoint``. (templated)
    :param output_uri: directory for the ONNX model and its report; default
        ``<artifact root>/onnx/<dag_id>/<run_id>/<task_id>[/<map_index>]``. (templated)
    :param sample_uri: a CSV/Parquet table of raw validation rows for the parity check and the
        timing; None draws rows from the training statistics (incl. unseen categories and
        missing numbers). (templated)
    :param atol: parity tolerance, absolute, on each output score.
    :param rtol: parity tolerance relative to the torch score.
    :param sample_rows: at most this many sample rows are compared (a seeded random subset).
    :param threads: onnxruntime intra-op threads while timing (1 = the per-request cost on one
        core; also what a busy shared worker gets).
    :param latency_batches: batch sizes to time; empty to skip the timing.
    :param conn_id: Airflow connection for object-storage URIs (e.g. an AWS connection for
        ``s3://``); None uses the storage's default.
    :param model_factory: the training's ``model_factory`` (``"package.module:function"``) when
        it used one; None for the built-in MLP. A checkpoint naming another factory is refused:
        the file does not choose the code that rebuilds it.
    """

    template_fields: Sequence[str] = ("checkpoint_uri", "output_uri", "sample_uri")
    operator_extra_links = (ParityReportLink(),)
    ui_color = "#6f9fd8"
    argument_rules = {
        "checkpoint_uri": check_path,
        "output_uri": rule(check_path, allow_none=True),
        "sample_uri": rule(check_path, allow_none=True),
        "conn_id": rule(check_name, allow_none=True),
    }

    def __init__(
        self,
        *,
        checkpoint_uri: str,
        output_uri: str | None = None,
        sample_uri: str | None = None,
        atol: float = 1e-5,
        rtol: float = 1e-4,
        sample_rows: int = 512,
        threads: int = 1,
        latency_batches: Sequence[int] = (1, 1024),
        conn_id: str | None = None,
        model_factory: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:
            self.export_config = ExportConfig(
                atol=atol,
                rtol=rtol,
                sample_rows=sample_rows,
                threads=threads,
                latency_batches=tuple(latency_batches)
                if isinstance(latency_batches, list | tuple)
                else latency_batches,
                timing=TimingPlan(),
            )
        except ConfigError as error:
            raise OnnxExportError.from_core(error) from error
        self.checkpoint_uri = checkpoint_uri
        self.output_uri = output_uri
        self.sample_uri = sample_uri
        self.conn_id = conn_id
        self.model_factory = model_factory
        check_arguments(self, self.argument_rules, rendered=False)

    def load_sample(self, context: Context) -> pd.DataFrame | None:
        """The raw validation rows for parity and timing: ``sample_uri`` read as a table, or
        None (rows drawn from the training statistics). Override to pick rows another way."""
        if not self.sample_uri:
            return None
        from airflow_mlops.data.io import read_table

        return read_table(str(self.sample_uri))

    def default_output_uri(self, context: Context) -> str:
        """``<artifact root>/onnx/<dag_id>/<run_id>/<task_id>[/<map_index>]``."""
        return str(context_artifact_dir(context, "onnx"))

    def execute(self, context: Context) -> dict[str, Any]:
        check_arguments(self, self.argument_rules, rendered=True)
        output_uri = str(self.output_uri or self.default_output_uri(context))
        try:
            sample = self.load_sample(context)
            with tempfile.TemporaryDirectory(prefix="mlops-onnx-") as scratch:
                checkpoint = self._local_input(str(self.checkpoint_uri), Path(scratch) / "ckpt")
                local_out = _local_path(output_uri) or Path(scratch) / "onnx"
                result = export_checkpoint(
                    checkpoint,
                    local_out,
                    sample=sample,
                    config=self.export_config,
                    model_factory=self.model_factory,
                )
                if _local_path(output_uri) is None:
                    self._upload(local_out, output_uri)
        except MlopsError as error:
            self.log.error("Export failed; details: %s", json.dumps(error.details, default=str))
            raise OnnxExportError(
                f"{error}\nFull details: the JSON logged just above in task {self.task_id!r}.",
                details=error.details,
            ) from error
        return self._summary(result, output_uri)

    def _summary(self, result: ExportResult, output_uri: str) -> dict[str, Any]:
        parity = result.parity
        latency = result.latency_summary()
        self.log.info(
            "ONNX parity on %d rows: max |diff| %.3g (atol %g, rtol %g); latency %s",
            parity.rows,
            parity.max_abs,
            parity.atol,
            parity.rtol,
            json.dumps(latency),
        )
        base = output_uri.rstrip("/")
        return {
            "onnx_uri": f"{base}/{ONNX_FILE}",
            "report_uri": f"{base}/{REPORT_FILE}",
            "sha256": result.sha256,
            "parity_max_abs": parity.max_abs,
            "parity": {k: v for k, v in parity.to_dict().items() if k not in ("ok", "mismatched")},
            "latency": latency,
            "checkpoint_uri": str(self.checkpoint_uri),
        }

    def _storage(self, uri: str) -> Any:
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(uri, conn_id=self.conn_id)

    def _local_input(self, uri: str, scratch: Path) -> Path:
        """``uri`` itself when local, else its files copied into ``scratch``."""
        local = _local_path(uri)
        if local is not None:
            return local
        remote = self._storage(uri)
        scratch.mkdir(parents=True)
        for item in remote.iterdir():
            if item.is_file():
                (scratch / item.name).write_bytes(item.read_bytes())
        return scratch

    def _upload(self, local_dir: Path, uri: str) -> None:
        """Copy the export to object storage, the report last (its presence = complete)."""
        remote = self._storage(uri)
        for name in (ONNX_FILE, REPORT_FILE):
            (remote / name).write_bytes((local_dir / name).read_bytes())


def _local_path(uri: str) -> Path | None:
    """The local path of a plain path or ``file://`` URI; None for object storage."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme else uri)
    return None
