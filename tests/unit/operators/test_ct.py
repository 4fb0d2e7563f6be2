"""The CT run's own operators: the reference pull resolves its revision when it runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.ct import reference
from airflow_mlops.errors import ConfigError
from airflow_mlops.operators.ct import PullReferenceOperator
from airflow_mlops.operators.data import DvcPullOperator


def test_the_reference_pull_resolves_the_revision_then_pulls_it(
    monkeypatch: pytest.MonkeyPatch, task_context: Any
) -> None:
    asked: dict[str, Any] = {}

    def resolve(named, **kwargs):
        asked.update(named=named, **kwargs)
        return reference.Reference("c" * 40, "champion")

    def pull(self, context):
        return {"rev": self.rev, "targets": [{"local_path": "/w/d.csv"}]}

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.test")
    monkeypatch.setattr(reference, "resolve_reference", resolve)
    monkeypatch.setattr(DvcPullOperator, "execute", pull)
    task = PullReferenceOperator(
        task_id="pull_reference", registry="/r", targets=["d.csv"], model_name="m",
        mirrors_dir="/tmp/mirrors",
    )  # fmt: skip

    result = task.execute(task_context(task=task))

    assert result == {
        "rev": "c" * 40,
        "targets": [{"local_path": "/w/d.csv"}],
        "reference_source": "champion",
    }
    assert asked["named"] is None and asked["model_name"] == "m"
    assert (asked["registry"], asked["target"]) == ("/r", "d.csv")


def test_a_bad_named_reference_is_refused_at_parse_time() -> None:
    with pytest.raises(ConfigError, match="reference_rev"):
        PullReferenceOperator(
            task_id="pull_reference", registry="/r", targets=["d.csv"], model_name="m",
            reference_rev="../etc",
        )  # fmt: skip


def test_prepare_passes_every_training_field_of_the_config(
    task_context: Any, tmp_path: Path
) -> None:
    from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec, ModelSpec
    from airflow_mlops.operators.ct import PrepareCTRunOperator

    dataset = DatasetSpec(
        name="d", registry="/r", path="d.csv", label="y", task="multiclass", id_column="id",
        timestamp_column="ts", ignored_columns=("note",), categorical_columns=("colour",),
    )  # fmt: skip
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "net.py").write_text("def make(config):\n    ...\n")
    model = ModelSpec(model_factory="pkg.net:make", model_kwargs={"width": 8}, package_path="pkg")
    config = CTPipelineConfig(
        dag_id="ct", model_name="m", dataset=dataset, model=model, backend="local",
        pipeline_repo=str(tmp_path),
    )  # fmt: skip
    task = PrepareCTRunOperator(task_id="prepare_run", config=config)

    result = task.execute(task_context(task=task))
    training = result["training"]

    assert training["label"] == "y" and training["task"] == "multiclass"
    assert training["id_column"] == "id"
    assert training["exclude_columns"] == ["ts", "note"]
    assert training["categorical_columns"] == ["colour"]
    assert (training["model_factory"], training["model_kwargs"]) == ("pkg.net:make", {"width": 8})
    assert "max_epochs" in training  # the run's hyper-parameters too

    # the code the run is made of: the model package's hash, the repo's commit (none here)
    assert result["code"]["model_code"].startswith("sha256:")
    assert result["code"]["git_sha"] in ("unknown", os.environ.get("AIRFLOW_MLOPS_GIT_SHA"))
    assert result["code"]["image_digest"] == result["image"]  # local:... is its own identity
    assert result["python_path"].split(os.pathsep)[0] == str(tmp_path / "pkg")
    (tmp_path / "pkg" / "net.py").write_text("def make(config):\n    return None\n")
    assert (
        task.execute(task_context(task=task))["code"]["model_code"]
        != (result["code"]["model_code"])
    )


def test_a_model_factory_that_cannot_be_identified_refuses_the_run(task_context: Any) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec, ModelSpec
    from airflow_mlops.operators.ct import PrepareCTRunOperator

    config = CTPipelineConfig(
        dag_id="ct", model_name="m", backend="local",
        dataset=DatasetSpec(name="d", registry="/r", path="d.csv", label="y"),
        model=ModelSpec(model_factory="no_such_pkg.net:make"),
    )  # fmt: skip
    task = PrepareCTRunOperator(task_id="prepare_run", config=config)
    with pytest.raises(AirflowFailException, match="no_such_pkg"):
        task.execute(task_context(task=task))


def test_prepare_refuses_a_run_over_the_compute_budget_before_any_work(task_context: Any) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_mlops.ct.budget import ComputeBudget
    from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec
    from airflow_mlops.operators.ct import PrepareCTRunOperator

    config = CTPipelineConfig(
        dag_id="ct", model_name="m", backend="local",
        dataset=DatasetSpec(name="d", registry="/r", path="d.csv", label="y"),
        compute_budget=ComputeBudget(rows=500),
    )  # fmt: skip
    task = PrepareCTRunOperator(task_id="prepare_run", config=config)
    assert task.execute(task_context(task=task))["training"]["hidden_layers"] == [64, 32]
    jam = {"hidden_sizes": [4096, 4096, 4096, 4096, 4096, 4096]}
    with pytest.raises(AirflowFailException, match="Run refused before any work") as refused:
        task.execute(task_context(task=task, conf=jam))
    assert "> max_parameters 10,000,000" in str(refused.value)


def test_prepare_refuses_a_manual_run_whose_id_claims_the_schedule(task_context: Any) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec
    from airflow_mlops.operators.ct import PrepareCTRunOperator

    config = CTPipelineConfig(
        dag_id="ct", model_name="m", backend="local",
        dataset=DatasetSpec(name="d", registry="/r", path="d.csv", label="y"),
    )  # fmt: skip
    task = PrepareCTRunOperator(task_id="prepare_run", config=config)
    spoofed = task_context(task=task, run_id="scheduled__2099-01-01T00:00:00+00:00")
    with pytest.raises(AirflowFailException, match="claims a 'scheduled' run"):
        task.execute(spoofed)
    honest = task_context(task=task, run_id="scheduled__2099-01-01", run_type="scheduled")
    assert task.execute(honest)["trigger"]
