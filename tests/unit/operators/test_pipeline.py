"""The DAG factory: one function builds every task; the level-2 DAG from its config."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_mlops.cicd import CICDConfig
from airflow_mlops.ct.config import DatasetSpec
from airflow_mlops.ct.plan import TaskSpec
from airflow_mlops.errors import ConfigError
from airflow_mlops.operators.pipeline import build_cicd_dag, build_task

DATASET = DatasetSpec(name="data", registry="/r", path="data/train.csv", label="y")
PULL = "airflow_mlops.operators.data.DvcPullOperator"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("airflow_mlops.operators.nowhere.DvcPullOperator", "cannot import"),
        ("airflow_mlops.operators.data.NoSuchOperator", "cannot import"),
        ("DvcPullOperator", "cannot import"),
        ("airflow_mlops.operators.data.check_rev", "is not an operator class"),
    ],
)
def test_a_bad_operator_path_names_the_task(path: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        build_task(TaskSpec("pull_it", path, args={"registry": "/r", "targets": ["a"]}))
    assert "'pull_it'" in str(caught.value)
    assert path in str(caught.value)


def test_build_task_instantiates_the_class_with_its_args_and_outlets() -> None:
    spec = TaskSpec(
        "pull_it", PULL, args={"registry": "/r", "targets": ["a"]}, outlets=("x-a://b",)
    )
    operator = build_task(spec)
    assert type(operator).__name__ == "DvcPullOperator"
    assert (operator.task_id, operator.registry) == ("pull_it", "/r")
    assert [asset.uri for asset in operator.outlets] == ["x-a://b"]


@pytest.mark.parametrize("backend", ["docker", "local"])
def test_the_level2_dag_builds_tests_publishes_deploys_then_runs_ct(backend: str) -> None:
    config = CICDConfig(
        dag_id="cicd", dataset=DATASET, sample_rev="v1", ct_dag_id="ct", backend=backend,
        tags=("level-2",), doc_md="level 2",
    )  # fmt: skip
    dag = build_cicd_dag(config)
    upstream = {task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks}
    assert upstream == {
        "pull_sample": [],
        "build_image": [],
        "test_in_image": ["build_image", "pull_sample"],
        "onnx_parity_of_smoke_model": ["test_in_image"],
        "publish": ["build_image", "onnx_parity_of_smoke_model"],
        "deploy": ["publish"],
        "run_ct": ["deploy"],
    }
    assert dag.schedule is None and dag.max_active_runs == 1
    assert dag.render_template_as_native_obj
    assert dag.get_task("build_image").backend == backend
    assert dag.get_task("run_ct").trigger_dag_id == "ct"


def _uris(condition: object) -> list[str]:
    """The asset URIs of an asset or a (nested) ``|`` condition of assets."""
    if hasattr(condition, "uri"):
        return [condition.uri]
    return [uri for part in condition.objects for uri in _uris(part)]


@pytest.mark.parametrize(
    ("switch_off", "left_out"),
    [
        ({}, None),
        ({"cron": None}, None),
        ({"on_new_data": False}, "x-mlops://data/data"),
        ({"on_drift": False}, "x-mlops://drift/m"),
        ({"on_performance_drop": False}, "x-mlops://performance/m"),
        ({"on_manual": False}, None),
    ],
)
def test_the_ct_schedule_holds_only_the_switched_on_triggers(
    switch_off: dict[str, object], left_out: str | None
) -> None:
    from airflow.sdk import AssetOrTimeSchedule

    from airflow_mlops.ct.config import CTPipelineConfig
    from airflow_mlops.ct.triggers import TriggerPolicy
    from airflow_mlops.operators.pipeline import ct_schedule

    policy = TriggerPolicy(**switch_off)
    config = CTPipelineConfig(dag_id="x", model_name="m", dataset=DATASET, triggers=policy)
    schedule = ct_schedule(policy, config)
    assets = schedule.asset_condition if isinstance(schedule, AssetOrTimeSchedule) else schedule
    uris = set(_uris(assets))
    every = {"x-mlops://data/data", "x-mlops://drift/m", "x-mlops://performance/m"}
    assert uris == every - {left_out}
    assert isinstance(schedule, AssetOrTimeSchedule) == ("cron" not in switch_off)


def test_one_config_builds_the_data_arrival_and_monitoring_dags() -> None:
    from airflow_mlops.assets import data_asset_uri
    from airflow_mlops.ct.config import CTPipelineConfig
    from airflow_mlops.operators.pipeline import build_data_arrival_dag, build_monitoring_dag

    config = CTPipelineConfig(dag_id="ct", model_name="m", dataset=DATASET, tags=("own",))
    arrival = build_data_arrival_dag(config)
    (sensor,) = arrival.tasks
    assert (arrival.dag_id, sensor.task_id) == ("ct_data_arrival", "wait_for_new_version")
    assert (sensor.registry, sensor.target, sensor.refs) == (
        "/r",
        "data/train.csv",
        "refs/heads/main",
    )
    # the sensor emits on the very asset the CT DAG is scheduled on
    assert [a.uri for a in sensor.outlets] == [data_asset_uri(DATASET.name)]
    assert set(arrival.tags) == {"own", "data"}

    monitoring = build_monitoring_dag(
        config,
        input_path="/in/batch.csv",
        drift={"drift_share": 0.2},
        labels_path="/labels/{{ ds }}.csv",
    )
    upstream = {task.task_id: sorted(task.upstream_task_ids) for task in monitoring.tasks}
    assert upstream == {"score_batch": [], "check_drift": ["score_batch"]}
    drift = monitoring.get_task("check_drift")
    assert (drift.model_name, drift.data_registry, drift.label_column) == ("m", "/r", "y")
    # late labels are joined on the ids scoring logs
    assert drift.labels_path == "/labels/{{ ds }}.csv"
    assert monitoring.get_task("score_batch").id_column is None  # ids: <run_id>-<row>
    with_ids = CTPipelineConfig(
        dag_id="ct", model_name="m", dataset=dataclasses.replace(DATASET, id_column="row_id")
    )
    assert build_monitoring_dag(with_ids).get_task("score_batch").id_column == "row_id"
    assert monitoring.params["input_path"] == "/in/batch.csv"
    assert monitoring.dag_id == "ct_monitoring"


@pytest.mark.parametrize(("start_date", "catches_up"), [(None, False), ("2026-01-01", True)])
def test_unpausing_the_ct_dag_trains_for_a_past_tick_only_with_a_start_date(
    start_date: str | None, catches_up: bool
) -> None:
    import datetime as dt

    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    from airflow_mlops.ct.config import CTPipelineConfig
    from airflow_mlops.operators.pipeline import build_ct_dag

    config = CTPipelineConfig(dag_id="x", model_name="m", dataset=DATASET)
    start = dt.datetime.fromisoformat(start_date).replace(tzinfo=dt.UTC) if start_date else None
    dag = DagSerialization.from_dict(
        DagSerialization.to_dict(build_ct_dag(config, start_date=start))
    )
    first = dag.timetable.next_dagrun_info(  # what the scheduler plans when the DAG is unpaused
        last_automated_data_interval=None,
        restriction=TimeRestriction(dag.start_date, dag.end_date, dag.catchup),
    )
    assert (first.run_after <= dt.datetime.now(dt.UTC)) == catches_up
