"""A custom torch model plugged into training without forking: a ``model_factory``.

Training builds the network by calling ``"module:function"`` with the model config dict
(``n_inputs``, ``n_outputs``, ``task``, the built-in MLP's settings, plus ``model_kwargs``). Put
this module in a package installed in the training image (and wherever the checkpoint is
loaded), then pass its path in the training params::

    TrainInDockerOperator(
        task_id="train",
        data_path="...",
        training_params={
            "label": "malignant",
            "model_factory": "my_models.residual:build_residual_mlp",
            "model_kwargs": {"width": 64, "blocks": 2},
        },
    )

The checkpoint stores the factory path and the config dict, so ``load_checkpoint(dir,
model_factory=...).build_model()`` and ``ExportOnnxOperator(model_factory=...)`` rebuild this
exact network (the loader names the factory it trusts; the checkpoint must name the same).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """``x + MLP(LayerNorm(x))``: a pre-norm residual block."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LayerNorm(width),
            nn.Linear(width, width * 2),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(width * 2, width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualMLP(nn.Module):
    """Input projection, residual blocks, linear head returning logits ``[N, n_outputs]``."""

    def __init__(self, n_inputs: int, n_outputs: int, width: int, blocks: int, dropout: float):
        super().__init__()
        self.stem = nn.Linear(n_inputs, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width, dropout) for _ in range(blocks)))
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def build_residual_mlp(model_config: dict[str, Any]) -> nn.Module:
    """The factory: ``model_kwargs`` ``width`` (default 32) and ``blocks`` (default 2)."""
    return ResidualMLP(
        n_inputs=int(model_config["n_inputs"]),
        n_outputs=int(model_config["n_outputs"]),
        width=int(model_config.get("width", 32)),
        blocks=int(model_config.get("blocks", 2)),
        dropout=float(model_config.get("dropout", 0.0)),
    )
