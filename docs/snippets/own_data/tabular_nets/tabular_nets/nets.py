"""Model factories: each takes the model config dict and returns a ``torch.nn.Module``.

Training calls ``factory(model_config)``; ``model_config`` holds ``n_inputs``, ``n_outputs``
and ``task`` (set by training), plus the pipeline's ``model_kwargs``. ``forward`` takes the
preprocessed float32 tensor ``[N, n_inputs]`` and returns ``[N, n_outputs]`` (logits for a
classifier, the value for regression).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def build_net(model_config: dict[str, Any]) -> nn.Module:
    """An MLP with layer norm: ``width`` units, ``depth`` hidden layers (model_kwargs)."""
    width, depth = int(model_config.get("width", 32)), int(model_config.get("depth", 2))
    layers: list[nn.Module] = []
    size = int(model_config["n_inputs"])
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.LayerNorm(width), nn.GELU()]
        size = width
    layers.append(nn.Linear(size, int(model_config["n_outputs"])))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """``x + f(x)`` around a small two-layer block."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def build_residual_net(model_config: dict[str, Any]) -> nn.Module:
    """An input projection, ``depth`` residual blocks of ``width`` units, a linear head."""
    width, depth = int(model_config.get("width", 32)), int(model_config.get("depth", 2))
    return nn.Sequential(
        nn.Linear(int(model_config["n_inputs"]), width),
        *(Residual(width) for _ in range(depth)),
        nn.Linear(width, int(model_config["n_outputs"])),
    )
