"""The pipeline's own tests (Google's MLOps level 2), on a sample of the user's data and model.

One home for the checks that the pytest plugin (:mod:`airflow_mlops.pytest_plugin`, ``pytest
--mlops-config pkg.module:CONFIG --mlops-data SAMPLE``) exposes as tests and that level 2 runs
inside the built image before CT may use it:

- ``preprocessing_round_trip``: fitted on the sample, exported (as JSON) and loaded back, the
  preprocessing gives the same numbers;
- ``forward_shape``: the model factory builds a ``torch.nn.Module`` whose forward pass gives
  ``[rows, outputs]`` for the task;
- ``loss_falls``: a short training lowers the training loss;
- ``overfits_a_few_records``: the model can learn at all;
- ``finite``: no NaN or infinity in the loss, the weights or the outputs;
- ``writes_artifacts``: training writes its checkpoint, the export its ONNX model and report;
- ``onnx_parity``: onnxruntime's scores match torch's.

Each check raises :class:`PipelineCheckError` saying what failed, with the numbers.
``python -m airflow_mlops.training.selftest --data TABLE --label COLUMN --output DIR`` runs them
all (``--config pkg.module:CONFIG`` for a pipeline's model) and writes ``selftest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.artifacts import atomic_write_json
from airflow_mlops.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from airflow_mlops.export.exporter import ExportResult
    from airflow_mlops.training.config import TrainingConfig
    from airflow_mlops.training.preprocessing import Preprocessor

REPORT = "selftest.json"
CHECKPOINT_FILES = ("model.pt", "metrics.json", "config.json")
EXPORT_FILES = ("model.onnx", "export_report.json")
CHECKS = (
    "preprocessing_round_trip",
    "forward_shape",
    "loss_falls",
    "overfits_a_few_records",
    "finite",
    "writes_artifacts",
    "onnx_parity",
)
#: the few-record overfit passes when the training loss ends below this share of its start
OVERFIT_RATIO = 0.1


class PipelineCheckError(AssertionError):
    """A pipeline check failed; the message names the check and what was measured."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


@dataclass(frozen=True)
class Check:
    """One check's outcome for the report: its name, whether it passed, and why not."""

    name: str
    passed: bool
    detail: dict[str, Any]


def load_object(path: str) -> Any:
    """The object at ``"package.module:NAME"`` (e.g. a pipeline's ``CTPipelineConfig``).

    :raises ConfigError: naming the package to install when the module does not import.
    """
    module_name, _, name = path.partition(":")
    if not (module_name and name):
        raise ConfigError(f"{path!r} is not 'package.module:NAME'.")
    try:
        return getattr(importlib.import_module(module_name), name)
    except ImportError as error:
        raise ConfigError(
            f"Cannot import {module_name!r} for {path!r}: {error}.",
            hint=f"Install the package that holds it (and its dependencies, e.g. "
            f"{getattr(error, 'name', None) or module_name!r}) where the tests run: in the "
            "training image, the user image's requirements.",
        ) from error
    except AttributeError as error:
        raise ConfigError(f"{module_name!r} has no {name!r} (from {path!r}).") from error


def training_params_of(config: Any) -> dict[str, Any]:
    """The TrainingConfig fields of a ``CTPipelineConfig``: its dataset and model, and those of
    its training defaults that are TrainingConfig fields."""
    from airflow_mlops.training.config import TrainingConfig

    known = {f.name for f in fields(TrainingConfig)}
    defaults = {k: v for k, v in config.training_defaults.items() if k in known}
    return {**defaults, **config.training_params()}


def _quiet(_: str) -> None:
    """Progress lines of the inner trainings are not needed in the checks' output."""


@dataclass
class PipelineChecks:
    """The checks for one pipeline on a sample; trainings and the export run once, shared.

    :param sample: the rows to check on (a few hundred are enough).
    :param params: TrainingConfig fields (label, task, model_factory, model_kwargs, ...).
    :param workdir: where the checkpoints and the ONNX export go.
    """

    sample: pd.DataFrame
    params: Mapping[str, Any]
    workdir: Path

    @classmethod
    def from_files(
        cls, data: str | Path, params: Mapping[str, Any], workdir: str | Path, rows: int = 256
    ) -> PipelineChecks:
        """Checks on up to ``rows`` rows drawn (seeded) from the table ``data``."""
        from airflow_mlops.data.io import read_table

        frame = read_table(data)
        sample = frame.sample(n=min(rows, len(frame)), random_state=0).reset_index(drop=True)
        return cls(sample, dict(params), Path(workdir))

    def config(self, **overrides: Any) -> TrainingConfig:
        from airflow_mlops.training.config import TrainingConfig

        base = {"max_epochs": 8, "patience": 100, "seed": 7, "device": "cpu"}
        return TrainingConfig.from_dict({**base, **self.params, **overrides})

    @cached_property
    def preprocessor(self) -> Preprocessor:
        from airflow_mlops.training.preprocessing import fit_preprocessor

        return fit_preprocessor(self.sample, self.config())

    @cached_property
    def smoke(self) -> dict[str, Any]:
        """The metrics of a short training on the sample (its checkpoint in ``smoke/``)."""
        from airflow_mlops.training.loop import train

        return train(self.sample, self.config(), self.workdir / "smoke", log=_quiet)

    @cached_property
    def export(self) -> ExportResult:
        """The smoke checkpoint exported to ONNX (in ``onnx/``), parity on the sample."""
        from airflow_mlops.export.exporter import export_checkpoint

        return export_checkpoint(
            self.workdir / "smoke",
            self.workdir / "onnx",
            sample=self.sample,
            model_factory=self.config().model_factory,
        )

    def _smoke_or_fail(self, check: str) -> dict[str, Any]:
        from airflow_mlops.errors import MlopsError

        try:
            return self.smoke
        except MlopsError as error:
            raise PipelineCheckError(
                check, f"the training on the sample failed: {error}"
            ) from error

    def preprocessing_round_trip(self) -> None:
        import numpy as np

        from airflow_mlops.training.preprocessing import Preprocessor

        fitted = self.preprocessor
        exported = json.loads(json.dumps(fitted.to_dict()))
        first, again = (
            fitted.transform(self.sample),
            Preprocessor.from_dict(exported).transform(self.sample),
        )
        if first.shape != again.shape or not np.array_equal(first, again):
            worst = float(np.max(np.abs(first - again))) if first.shape == again.shape else None
            raise PipelineCheckError(
                "preprocessing_round_trip",
                f"the exported preprocessing gives other numbers: shapes {first.shape} and "
                f"{again.shape}, largest difference {worst}.",
            )

    def forward_shape(self) -> None:
        import torch

        from airflow_mlops.training.model import build_model, model_config_for

        config = self.config()
        prep = self.preprocessor
        model = build_model(config.model_factory, model_config_for(config, prep)).eval()
        rows = min(len(self.sample), 16)
        with torch.no_grad():
            output = model(torch.from_numpy(prep.transform(self.sample.head(rows))))
        expected = (rows, prep.n_outputs)
        if not isinstance(output, torch.Tensor) or tuple(output.shape) != expected:
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output)
            raise PipelineCheckError(
                "forward_shape",
                f"model_factory {config.model_factory or 'built-in MLP'!r}: the forward pass of "
                f"{rows} rows gave {got}, but a {prep.task} task with {prep.n_outputs} outputs "
                f"needs a tensor of shape {expected}.",
            )

    def loss_falls(self) -> None:
        losses = [epoch["train_loss"] for epoch in self._smoke_or_fail("loss_falls")["history"]]
        if not losses[-1] < losses[0]:
            raise PipelineCheckError(
                "loss_falls",
                f"the training loss did not fall in {len(losses)} epochs on "
                f"{len(self.sample)} rows: {losses[0]:.6g} -> {losses[-1]:.6g} "
                f"({'rose' if losses[-1] > losses[0] else 'flat'}); the model diverges or "
                "does not learn.",
            )

    def overfits_a_few_records(self) -> None:
        from airflow_mlops.errors import MlopsError
        from airflow_mlops.training.loop import train

        label = self.params["label"]
        few = self.sample.groupby(label, group_keys=False).head(8).reset_index(drop=True)
        if len(few) > 32:  # regression: every label is its own group
            few = few.head(16)
        config = self.config(
            max_epochs=300, patience=300, dropout=0.0, weight_decay=0.0, learning_rate=0.03,
            batch_size=len(few), val_fraction=0.25,
        )  # fmt: skip
        try:
            history = train(few, config, self.workdir / "overfit", log=_quiet)["history"]
        except MlopsError as error:
            raise PipelineCheckError("overfits_a_few_records", str(error)) from error
        first, final = history[0]["train_loss"], history[-1]["train_loss"]
        if not final <= OVERFIT_RATIO * first:
            raise PipelineCheckError(
                "overfits_a_few_records",
                f"{len(few)} records not overfit in {len(history)} epochs: training loss "
                f"{first:.6g} -> {final:.6g}, above {OVERFIT_RATIO:.0%} of the start; the model "
                "cannot learn (frozen or disconnected parameters, a constant output?).",
            )

    def finite(self) -> None:
        import torch

        from airflow_mlops.training.checkpoint import load_checkpoint

        history = self._smoke_or_fail("finite")["history"]
        bad_loss = [e for e in history if not math.isfinite(e["train_loss"])]
        checkpoint = load_checkpoint(
            self.workdir / "smoke", model_factory=self.config().model_factory
        )
        model = checkpoint.build_model().eval()
        bad_weights = [n for n, p in model.state_dict().items() if not torch.isfinite(p).all()]
        with torch.no_grad():
            outputs = model(torch.from_numpy(checkpoint.preprocessor.transform(self.sample)))
        bad_outputs = int((~torch.isfinite(outputs)).sum())
        if bad_loss or bad_weights or bad_outputs:
            raise PipelineCheckError(
                "finite",
                f"non-finite values: loss in {len(bad_loss)} epochs, weights {bad_weights[:5]}, "
                f"{bad_outputs} outputs.",
            )

    def writes_artifacts(self) -> None:
        from airflow_mlops.errors import MlopsError

        self._smoke_or_fail("writes_artifacts")
        missing = [
            f"smoke/{n}" for n in CHECKPOINT_FILES if not (self.workdir / "smoke" / n).is_file()
        ]
        try:
            exported = self.export.onnx_path.parent
        except MlopsError as error:
            missing.append(f"onnx/ ({error})")
        else:
            missing += [f"onnx/{n}" for n in EXPORT_FILES if not (exported / n).is_file()]
        if missing:
            raise PipelineCheckError("writes_artifacts", f"not written: {', '.join(missing)}.")

    def onnx_parity(self) -> None:
        from airflow_mlops.errors import MlopsError

        self._smoke_or_fail("onnx_parity")
        try:
            parity = self.export.parity
        except MlopsError as error:
            raise PipelineCheckError("onnx_parity", str(error)) from error
        if not parity.ok:
            raise PipelineCheckError(
                "onnx_parity",
                f"{parity.mismatched} of {parity.rows} rows differ between torch and "
                f"onnxruntime (max abs {parity.max_abs:.3g}).",
            )

    def run_all(self, checks: Sequence[str] = CHECKS) -> list[Check]:
        """The ``checks`` in order, a failing or crashing one recorded with its message."""
        results = []
        for name in checks:
            try:
                getattr(self, name)()
            except Exception as error:  # a crashing check is a failed check, with its reason
                results.append(Check(name, False, {"error": str(error) or repr(error)}))
            else:
                results.append(Check(name, True, {}))
        return results


def run_selftest(
    data: str | Path,
    params: Mapping[str, Any],
    output: str | Path,
    rows: int = 256,
    checks: Sequence[str] = CHECKS,
) -> list[Check]:
    """Run ``checks`` on up to ``rows`` rows of ``data``; the report goes to ``output``."""
    out = Path(output)
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        raise ConfigError(f"No such pipeline checks: {unknown}; known: {', '.join(CHECKS)}.")
    try:
        results = PipelineChecks.from_files(data, params, out, rows).run_all(checks)
    except Exception as error:  # the data does not load: every check failed, with the reason
        results = [Check(name, False, {"error": str(error)}) for name in checks]
    atomic_write_json(out / REPORT, [r.__dict__ for r in results])
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_mlops.training.selftest")
    parser.add_argument("--data", required=True, help="CSV or Parquet table with the label")
    parser.add_argument("--label", help="the label column (default: the config's)")
    parser.add_argument("--config", help="the pipeline's CTPipelineConfig, 'pkg.module:NAME'")
    parser.add_argument("--params", help="TrainingConfig fields as JSON (model_factory, ...)")
    parser.add_argument("--output", required=True, help="directory for artifacts and report")
    parser.add_argument("--rows", type=int, default=256, help="rows sampled for the checks")
    parser.add_argument("--checks", default=",".join(CHECKS), help="comma-separated checks")
    args = parser.parse_args(argv)
    params = training_params_of(load_object(args.config)) if args.config else {}
    params.update(json.loads(args.params) if args.params else {})
    if args.label:
        params["label"] = args.label
    results = run_selftest(args.data, params, args.output, args.rows, args.checks.split(","))
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'} {result.name} {result.detail}", flush=True)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
