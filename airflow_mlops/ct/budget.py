"""The compute budget of a CT pipeline: how big a model and how much training one run may ask for.

Every bound of the run params can be valid on its own while their product jams the training
queue for hours (six hidden layers of 4096 units: 84M parameters; 1000 epochs of batch size 1).
The prepare task estimates the run before any work and refuses it when the estimate exceeds
the budget, quoting the estimate and the limit. The training timeout follows from the budget:
the longest a run inside it may take at the assumed throughput.

The estimate counts the built-in MLP's parameters from the hidden sizes and the number of
feature columns (the config's, else :attr:`ComputeBudget.features`); a custom model factory's
size is unknown before training, so only its steps are bounded here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_mlops.errors import ConfigError
from airflow_mlops.inputs import check_int, check_number


@dataclass(frozen=True)
class Estimate:
    """What one run would cost.

    :param parameters: trainable parameters of the built-in MLP; None for a custom factory.
    :param cost: epochs x rows x parameters (None with ``parameters``).
    :param steps: optimizer steps, epochs x ceil(rows / batch_size).
    """

    parameters: int | None
    cost: int | None
    steps: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ComputeBudget:
    """The most one CT run may ask for, and the training timeout that follows.

    :param max_parameters: the largest model, in trainable parameters.
    :param max_cost: the most training, in epochs x rows x parameters.
    :param max_steps: the most optimizer steps, epochs x ceil(rows / batch_size): a batch size of
        1 costs time per step that the parameter count does not show.
    :param rows: the training rows the estimate assumes (about the dataset's size).
    :param features: the model inputs assumed when the config lists no feature columns.
    :param cost_per_second: training throughput the timeout assumes, in parameter-rows per
        second (measured on 2 CPU cores: about 3e8 for an 84M-parameter MLP).
    :param steps_per_second: optimizer steps per second the timeout assumes for small models.
    :param overhead_s: seconds of a training task besides the epochs (container start, data
        load, checkpoint).
    """

    max_parameters: int = 10_000_000
    max_cost: int = 500_000_000_000
    max_steps: int = 100_000
    rows: int = 10_000
    features: int = 64
    cost_per_second: float = 3e8
    steps_per_second: float = 100.0
    overhead_s: float = 600.0

    def __post_init__(self) -> None:
        for name in ("max_parameters", "max_cost", "max_steps", "rows", "features"):
            check_int(f"ComputeBudget.{name}", getattr(self, name), 1, 10**18)
        for name in ("cost_per_second", "steps_per_second"):
            check_number(
                f"ComputeBudget.{name}", getattr(self, name), 0, 1e18, exclusive_minimum=True
            )
        check_number("ComputeBudget.overhead_s", self.overhead_s, 0, 86_400)

    def timeout_s(self) -> float:
        """The training timeout: overhead plus the longest run inside the budget."""
        longest = self.max_cost / self.cost_per_second + self.max_steps / self.steps_per_second
        return math.ceil(self.overhead_s + longest)

    def estimate(self, training: Mapping[str, Any]) -> Estimate:
        """The estimate of a run from its training params (the prepare task's ``training``:
        ``max_epochs``, ``batch_size``, ``hidden_layers``, ``feature_columns``,
        ``model_factory``)."""
        epochs, batch = int(training["max_epochs"]), int(training["batch_size"])
        steps = epochs * math.ceil(self.rows / batch)
        if training.get("model_factory"):
            return Estimate(parameters=None, cost=None, steps=steps)
        columns = training.get("feature_columns")
        width = len(columns) if columns else self.features
        parameters = 0
        for hidden in (*training.get("hidden_layers", ()), 1):
            parameters += width * int(hidden) + int(hidden)
            width = int(hidden)
        return Estimate(parameters=parameters, cost=epochs * self.rows * parameters, steps=steps)

    def check(self, training: Mapping[str, Any]) -> Estimate:
        """The run's estimate, if it fits.

        :raises ConfigError: naming each exceeded limit with the estimate and the limit.
        """
        estimate = self.estimate(training)
        over = [
            f"{what} {value:,} > {name} {limit:,}"
            for what, value, name, limit in (
                ("parameters", estimate.parameters, "max_parameters", self.max_parameters),
                ("epochs x rows x parameters", estimate.cost, "max_cost", self.max_cost),
                ("steps (epochs x rows / batch_size)", estimate.steps, "max_steps", self.max_steps),
            )
            if value is not None and value > limit
        ]
        if over:
            raise ConfigError(
                f"The run exceeds the pipeline's compute budget ({self.rows:,} rows assumed): "
                + "; ".join(over)
                + ".",
                hint="Use fewer or smaller hidden layers, fewer epochs or a larger batch_size; "
                "or raise CTPipelineConfig.compute_budget (ComputeBudget) for this pipeline.",
                details={"estimate": estimate.as_dict(), "budget": asdict(self)},
            )
        return estimate
