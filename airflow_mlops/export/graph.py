"""Build the serving graph: scaling + net + softmax from torch, string one-hot from ONNX-ML.

The torch part (:func:`serving_module`) takes the raw numeric values and the one-hot blocks and
is exported by the dynamo exporter with a dynamic batch dimension. The categorical part
(:func:`add_categorical_input`) is plain ONNX prepended to that graph: per column a
``LabelEncoder`` maps strings to indices (unknown = -1), ``Equal`` against ``0..k-1`` and
``Cast`` make the one-hot block (unknown = zeros), ``Concat`` joins the blocks.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ExportError
from airflow_mlops.export.features import FeatureSpec
from airflow_mlops.export.runtime import CATEGORICAL_INPUT, NUMERIC_INPUT, SCORE_OUTPUT

if TYPE_CHECKING:
    import onnx
    import torch

ONEHOT_INPUT = "onehot"
ML_DOMAIN = "ai.onnx.ml"
#: ai.onnx.ml opset: LabelEncoder-2 (string keys, int64 values, int64 default)
ML_OPSET = 3
PRELUDE_PREFIX = "mlops_categorical"


def serving_module(model: torch.nn.Module, spec: FeatureSpec) -> torch.nn.Module:
    """``model`` wrapped to take raw numeric values (and one-hot blocks) and return ``score``.

    Forward: ``(numeric[, onehot]) -> score``: standardized numbers (missing = 0) joined with the
    one-hot blocks, then the net, then a softmax over the logits for classification (for
    regression the ``[N, 1]`` output back in the label's units: ``* target_std + target_mean``).
    """
    import torch

    class Serving(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = model
            self.register_buffer("mean", torch.tensor(spec.mean, dtype=torch.float32))
            scale = 1.0 / torch.tensor(spec.std, dtype=torch.float64)
            self.register_buffer("scale", scale.to(torch.float32))
            self.classify = spec.task == "classification"
            self.target_mean, self.target_std = spec.target_mean, spec.target_std

        def _score(self, inputs: torch.Tensor) -> torch.Tensor:
            out = self.net(inputs)
            if self.classify:
                return torch.softmax(out, dim=1)
            return out * self.target_std + self.target_mean

        def forward(self, numeric: torch.Tensor, *onehot: torch.Tensor) -> torch.Tensor:
            scaled = (numeric - self.mean) * self.scale
            # as in training, a missing (or infinite) value scales to 0, the training mean;
            # abs < inf is false for NaN and inf: 3 ONNX ops where nan_to_num exports 9
            scaled = torch.where(scaled.abs() < torch.inf, scaled, 0.0)
            return self._score(torch.cat([scaled, *onehot], dim=1) if onehot else scaled)

    return Serving().eval()


def export_torch(module: torch.nn.Module, spec: FeatureSpec) -> onnx.ModelProto:
    """Export ``module`` (from :func:`serving_module`) with the dynamo exporter, batch dynamic.

    :raises ExportError: the exporter cannot trace the net; the message carries its reason.
    """
    import torch

    batch = torch.export.Dim("batch")
    rows = 4
    args: tuple[torch.Tensor, ...] = (torch.zeros(rows, len(spec.numeric_columns)),)
    names = [NUMERIC_INPUT]
    shapes: tuple[Any, ...] = ({0: batch},)
    if spec.categorical_columns:
        args += (torch.zeros(rows, spec.n_onehot),)
        names.append(ONEHOT_INPUT)
        shapes += (({0: batch},),)  # forward's *onehot is one nested argument for torch.export
    # the exporter prints progress and warns about optional packages (torchvision): keep quiet
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
        _quiet_loggers("torch.onnx", "onnxscript", "onnx_ir"),
    ):
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                module,
                args,
                None,
                input_names=names,
                output_names=[SCORE_OUTPUT],
                dynamic_shapes=shapes,
                dynamo=True,
                optimize=True,
            )
        except Exception as error:  # the exporter raises many unrelated types
            raise ExportError(
                f"torch.onnx.export could not export the model: {type(error).__name__}: {error}",
                hint="Keep forward() free of data-dependent Python control flow and of "
                "operators without an ONNX translation; see the torch.onnx dynamo docs.",
            ) from error
    return program.model_proto


@contextlib.contextmanager
def _quiet_loggers(*names: str) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def add_categorical_input(model: onnx.ModelProto, spec: FeatureSpec) -> None:
    """Replace the ``onehot`` input of ``model`` by a string input ``categorical`` (in place)."""
    if not spec.categorical_columns:
        return
    from onnx import TensorProto, helper

    graph = model.graph
    onehot = next((v for v in graph.input if v.name == ONEHOT_INPUT), None)
    numeric = next((v for v in graph.input if v.name == NUMERIC_INPUT), None)
    if onehot is None or numeric is None:
        raise ExportError(
            f"The exported graph has inputs {[v.name for v in graph.input]}; expected "
            f"{NUMERIC_INPUT!r} and {ONEHOT_INPUT!r}.",
            hint="This is a bug in airflow-mlops's exporter; please report it with the torch "
            "version.",
        )
    batch_dim = numeric.type.tensor_type.shape.dim[0]
    batch = batch_dim.dim_param or batch_dim.dim_value
    single = len(spec.categorical_columns) == 1
    nodes, blocks, constants = [], [], []
    for j, column in enumerate(spec.categorical_columns):
        values = spec.categories[column]
        prefix = f"{PRELUDE_PREFIX}_{j}"
        codes = list(range(len(values)))
        constants.append(
            helper.make_tensor(f"{prefix}_codes", TensorProto.INT64, [len(codes)], codes)
        )
        # one column: the input is [N, 1] already and its block is the whole one-hot input
        text, block = CATEGORICAL_INPUT, ONEHOT_INPUT
        if not single:
            text, block = f"{prefix}_text", f"{prefix}_block"
            constants.append(helper.make_tensor(f"{prefix}_column", TensorProto.INT64, [1], [j]))
            nodes.append(
                helper.make_node("Gather", [CATEGORICAL_INPUT, f"{prefix}_column"], [text], axis=1)
            )
        nodes += [
            helper.make_node(
                "LabelEncoder",
                [text],
                [f"{prefix}_index"],
                domain=ML_DOMAIN,
                keys_strings=list(values),
                values_int64s=codes,
                default_int64=-1,
            ),
            helper.make_node("Equal", [f"{prefix}_index", f"{prefix}_codes"], [f"{prefix}_hit"]),
            helper.make_node("Cast", [f"{prefix}_hit"], [block], to=TensorProto.FLOAT),
        ]
        blocks.append(block)
    if not single:
        nodes.append(helper.make_node("Concat", blocks, [ONEHOT_INPUT], axis=1))

    graph.input.remove(onehot)
    graph.input.append(
        helper.make_tensor_value_info(
            CATEGORICAL_INPUT, TensorProto.STRING, [batch, len(spec.categorical_columns)]
        )
    )
    graph.initializer.extend(constants)
    existing = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + existing)
    if not any(op.domain == ML_DOMAIN for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid(ML_DOMAIN, ML_OPSET))


def set_metadata(model: onnx.ModelProto, spec: FeatureSpec, extra: dict[str, str]) -> None:
    """Write the contract's metadata_props (JSON values) plus ``extra`` into ``model``."""
    del model.metadata_props[:]
    for key, value in {**spec.metadata.to_props(), **extra}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "airflow-mlops"
