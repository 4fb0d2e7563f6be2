"""The CT plan: task order, references between tasks, and the optional reference pull."""

from __future__ import annotations

from airflow_mlops.ct import plan
from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec


def config(**overrides) -> CTPipelineConfig:
    dataset = DatasetSpec(
        name="cancer",
        registry="/r",
        path="data/cancer.csv",
        label="malignant",
        segment_column="clinic",
    )
    overrides.setdefault("validation_reference_rev", "v1")
    return CTPipelineConfig(dag_id="ct", model_name="cancer-mlp", dataset=dataset, **overrides)


def test_tasks_run_in_dependency_order_and_reference_only_earlier_tasks() -> None:
    tasks = plan.plan_ct_pipeline(config())
    seen: set[str] = set()
    for task in tasks:
        assert set(task.upstream) <= seen, f"{task.task_id} runs before {task.upstream}"
        for value in map(str, task.args.values()):
            for other in {t.task_id for t in tasks} - seen - {task.task_id}:
                assert f"task_ids='{other}'" not in value, f"{task.task_id} reads {other} early"
        seen.add(task.task_id)
    assert [t.task_id for t in tasks][-4:] == [plan.TRAIN, plan.EXPORT, plan.REGISTER, plan.PROMOTE]


def test_a_learned_suite_pulls_the_reference_version_and_a_given_suite_does_not() -> None:
    learned = {t.task_id: t for t in plan.plan_ct_pipeline(config())}
    assert learned[plan.PULL_REFERENCE].args["reference_rev"] == "v1"
    assert "pull_reference" in learned[plan.VALIDATE].args["reference"]
    given = {t.task_id: t for t in plan.plan_ct_pipeline(config(validation_suite="s.json"))}
    assert plan.PULL_REFERENCE not in given
    assert given[plan.VALIDATE].args["suite"] == "s.json"


def test_training_reads_the_pulled_file_and_promotion_emits_the_model_asset() -> None:
    tasks = {t.task_id: t for t in plan.plan_ct_pipeline(config(backend="local"))}
    assert tasks[plan.TRAIN].args["data_path"] == (
        "{{ ti.xcom_pull(task_ids='pull_data')['targets'][0]['local_path'] }}"
    )
    assert tasks[plan.TRAIN].args["backend"] == "local"
    assert tasks[plan.PROMOTE].outlets == ("x-mlops://model/cancer-mlp",)
    assert tasks[plan.PROMOTE].args["segment_column"] == "clinic"


def test_an_unchanged_rerun_stops_right_after_the_pull() -> None:
    tasks = {t.task_id: t for t in plan.plan_ct_pipeline(config())}
    assert tasks[plan.FINGERPRINT].upstream == (plan.PULL,)
    assert tasks[plan.PULL_REFERENCE].upstream == (plan.FINGERPRINT,)
    assert tasks[plan.TRAIN].upstream == (plan.VALIDATE,)


def test_each_task_names_its_operator_class_by_dotted_path() -> None:
    tasks = {t.task_id: t for t in plan.plan_ct_pipeline(config())}
    assert tasks[plan.PULL].operator == plan.PULL_OPERATOR
    assert tasks[plan.PULL_REFERENCE].operator == plan.PULL_REFERENCE_OPERATOR
    assert tasks[plan.PREPARE].operator == "airflow_mlops.operators.ct.PrepareCTRunOperator"
    assert all(t.operator.startswith(f"{plan.OPERATORS}.") for t in tasks.values())


def test_an_unset_reference_is_resolved_by_the_reference_pull_at_run_time() -> None:
    tasks = {t.task_id: t for t in plan.plan_ct_pipeline(config(validation_reference_rev=None))}
    args = tasks[plan.PULL_REFERENCE].args
    assert args["reference_rev"] is None and "rev" not in args
    assert (args["model_name"], args["registry"], args["targets"]) == (
        "cancer-mlp",
        "/r",
        ["data/cancer.csv"],
    )


def test_the_model_factory_reaches_the_export_and_the_task_sets_the_gate_metric() -> None:
    from airflow_mlops.ct.config import ModelSpec

    dataset = DatasetSpec(name="d", registry="/r", path="d.csv", label="y", task="regression")
    custom = CTPipelineConfig(
        dag_id="ct", model_name="m", dataset=dataset, model=ModelSpec(model_factory="pkg.net:make")
    )
    tasks = {t.task_id: t for t in plan.plan_ct_pipeline(custom)}
    assert tasks[plan.EXPORT].args["model_factory"] == "pkg.net:make"
    assert tasks[plan.PROMOTE].args["gate"]["metric"] == "rmse"
    named = {t.task_id: t for t in plan.plan_ct_pipeline(config(gate={"metric": "f1"}))}
    assert named[plan.PROMOTE].args["gate"]["metric"] == "f1"
    # an inferred task: the gate picks the metric once the model's task is known
    assert (
        "metric"
        not in {t.task_id: t for t in plan.plan_ct_pipeline(config())}[plan.PROMOTE].args["gate"]
    )


def test_a_run_resumes_at_the_gate_and_the_code_enters_fingerprint_and_lineage() -> None:
    tasks = {t.task_id: t for t in plan.plan_ct_pipeline(config())}
    check, promote = tasks[plan.FINGERPRINT].args, tasks[plan.PROMOTE]
    assert check["resume_task_ids"] == [plan.PROMOTE]
    assert promote.upstream == (plan.REGISTER, plan.FINGERPRINT)
    assert promote.args["trigger_rule"] == "none_failed_min_one_success"
    assert "check_fingerprint" in promote.args["challenger_version"]
    for key in ("image_digest", "model_code", "git_sha"):
        assert check[key] == plan.xcom(plan.PREPARE, "code", key)
    lineage = tasks[plan.REGISTER].args["lineage"]
    assert lineage["model_code"] == check["model_code"] and lineage["git_sha"] == check["git_sha"]
    assert tasks[plan.REGISTER].args["image_digest"] == check["image_digest"]


def test_the_local_backend_puts_the_user_package_on_the_training_path() -> None:
    from airflow_mlops.ct.config import ModelSpec

    model = ModelSpec(model_factory="net:make", package_path="net")
    local = {t.task_id: t for t in plan.plan_ct_pipeline(config(backend="local", model=model))}
    assert local[plan.TRAIN].args["environment"] == {
        "PYTHONPATH": plan.xcom(plan.PREPARE, "python_path")
    }
    docker = {t.task_id: t for t in plan.plan_ct_pipeline(config(model=model))}
    assert "environment" not in docker[plan.TRAIN].args  # the image has it installed


def test_docker_and_kubernetes_train_in_the_prepared_image() -> None:
    for backend, image in (("docker", True), ("kubernetes", True), ("local", False)):
        train = {t.task_id: t for t in plan.plan_ct_pipeline(config(backend=backend))}[plan.TRAIN]
        assert train.args["backend"] == backend
        assert (train.args["image"] == plan.xcom(plan.PREPARE, "image")) is image
