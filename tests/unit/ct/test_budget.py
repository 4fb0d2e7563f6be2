"""The compute budget: the estimate of a run, its refusal quoting estimate and limit, and the
training timeout that follows."""

from __future__ import annotations

import pytest

from airflow_mlops.ct.budget import ComputeBudget
from airflow_mlops.ct.params import parse_run_params
from airflow_mlops.errors import ConfigError


def _training(**conf: object) -> dict[str, object]:
    return parse_run_params(conf).training_params()


def test_the_estimate_counts_the_mlp_and_the_steps() -> None:
    budget = ComputeBudget(rows=1000, features=30)
    estimate = budget.check(_training(hidden_sizes=[64, 32], epochs=10, batch_size=100))
    parameters = 30 * 64 + 64 + 64 * 32 + 32 + 32 + 1
    assert (estimate.parameters, estimate.cost, estimate.steps) == (
        parameters,
        10 * 1000 * parameters,
        100,
    )
    # the config's feature columns count over the assumed number
    assert budget.estimate({**_training(), "feature_columns": ["a", "b"]}).parameters == (
        2 * 64 + 64 + 64 * 32 + 32 + 32 + 1
    )


def test_the_defaults_fit_and_a_jam_is_refused_with_estimate_and_limit() -> None:
    budget = ComputeBudget()
    budget.check(_training())
    with pytest.raises(ConfigError, match=r"parameters 84,\d{3},\d{3} > max_parameters") as wide:
        budget.check(_training(hidden_sizes=[4096] * 6))
    assert "epochs x rows x parameters" in str(wide.value)
    assert wide.value.details["estimate"]["parameters"] > budget.max_parameters
    with pytest.raises(ConfigError, match=r"steps .* > max_steps 100,000"):
        budget.check(_training(epochs=1000, batch_size=1))


def test_a_custom_factory_is_bounded_by_its_steps_only() -> None:
    training = {**_training(hidden_sizes=[4096] * 6), "model_factory": "pkg.net:make"}
    assert ComputeBudget().check(training).parameters is None
    with pytest.raises(ConfigError, match="max_steps"):
        ComputeBudget().check({**training, "max_epochs": 1000, "batch_size": 1})


def test_the_training_timeout_follows_from_the_budget() -> None:
    small = ComputeBudget(max_cost=3 * 10**9, max_steps=1000, overhead_s=60)
    assert small.timeout_s() == 60 + 10 + 10
    assert ComputeBudget().timeout_s() < 2 * 3600  # the old fixed timeout


@pytest.mark.parametrize(
    "changes", [{"max_parameters": 0}, {"rows": 1.5}, {"cost_per_second": 0}, {"overhead_s": -1}]
)
def test_a_bad_budget_is_refused_naming_the_field(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=f"ComputeBudget.{next(iter(changes))}"):
        ComputeBudget(**changes)  # type: ignore[arg-type]
