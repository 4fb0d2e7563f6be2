"""Level 2 as plain data: its config, its plan, and where the image is built from."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from airflow_mlops import cicd
from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec
from airflow_mlops.errors import ConfigError, TrainingError

DATASET = DatasetSpec(name="data", registry="/r", path="data/train.csv", label="y")


def config(**overrides) -> cicd.CICDConfig:
    return cicd.CICDConfig(
        **{"dag_id": "cicd", "dataset": DATASET, "sample_rev": "v1", **overrides}
    )


def test_a_bad_config_lists_every_problem_with_its_field() -> None:
    with pytest.raises(ConfigError) as caught:
        config(dag_id="no spaces", backend="kubernetes", base_image="Bad Image", retries=-1)
    message = str(caught.value)
    for field in ("dag_id", "backend", "base_image", "retries"):
        assert field in message
    assert len(caught.value.details["problems"]) == 4


def test_the_plan_tests_before_it_publishes_and_deploys_what_it_published() -> None:
    tasks = {t.task_id: t for t in cicd.plan_cicd_pipeline(config(ct_dag_id="ct"))}
    assert list(tasks) == [cicd.PULL_SAMPLE, cicd.BUILD, cicd.TEST, cicd.PARITY, cicd.PUBLISH,
                           cicd.DEPLOY, cicd.RUN_CT]  # fmt: skip
    assert tasks[cicd.TEST].upstream == (cicd.BUILD, cicd.PULL_SAMPLE)
    assert tasks[cicd.PUBLISH].upstream == (cicd.BUILD, cicd.PARITY)
    assert tasks[cicd.DEPLOY].args["image"] == "{{ ti.xcom_pull(task_ids='publish') }}"
    assert tasks[cicd.PULL_SAMPLE].args["rev"] == "v1"
    assert tasks[cicd.RUN_CT].args["trigger_dag_id"] == "ct"
    assert all(t.operator.count(".") >= 2 for t in tasks.values())


def test_without_a_ct_dag_the_plan_ends_with_the_deploy() -> None:
    assert cicd.plan_cicd_pipeline(config())[-1].task_id == cicd.DEPLOY


def test_for_pipeline_takes_the_ct_pipelines_data_reference_and_backend() -> None:
    ct = CTPipelineConfig(
        dag_id="ct", model_name="m", dataset=DATASET, backend="local", validation_reference_rev="v2"
    )
    level2 = cicd.CICDConfig.for_pipeline(ct, "cicd", tags=("level-2",))
    assert (level2.sample_rev, level2.backend, level2.ct_dag_id) == ("v2", "local", "ct")
    assert level2.tags == ("level-2",)
    assert cicd.CICDConfig.for_pipeline(
        CTPipelineConfig(dag_id="ct", model_name="m", dataset=DATASET, backend="kubernetes"), "c"
    ).backend == "docker"  # fmt: skip


def test_the_source_tree_is_found_through_the_installed_dockerfile() -> None:
    root = cicd.source_root()
    assert (root / cicd.DOCKERFILE).is_file()
    assert root == Path(__file__).resolve().parents[2]


def test_a_configured_source_tree_without_build_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"constraints\.txt") as caught:
        cicd.source_root(tmp_path)
    assert "source_root" in caught.value.hint


def test_the_level2_config_takes_the_pipeline_model_code_to_the_image_build() -> None:
    from airflow_mlops.cicd import BUILD, CICDConfig, plan_cicd_pipeline
    from airflow_mlops.ct.config import CTPipelineConfig, DatasetSpec, ModelSpec

    model = ModelSpec(model_factory="net:make", wheel="dist/net-1.0-py3-none-any.whl")
    pipeline = CTPipelineConfig(
        dag_id="ct", model_name="m", model=model, pipeline_repo="/repo",
        dataset=DatasetSpec(name="d", registry="/r", path="d.csv", label="y"),
    )  # fmt: skip
    config = CICDConfig.for_pipeline(pipeline, "cicd")
    build = {t.task_id: t for t in plan_cicd_pipeline(config)}[BUILD]
    assert (build.args["model"], build.args["pipeline_repo"]) == (model, "/repo")


def test_the_image_test_runs_the_pipeline_checks_on_the_pipelines_model() -> None:
    from airflow_mlops.ct.config import ModelSpec

    model = ModelSpec(model_factory="net:make", model_kwargs={"width": 8})
    pipeline = CTPipelineConfig(dag_id="ct", model_name="m", model=model, dataset=DATASET)
    test = {
        t.task_id: t for t in cicd.plan_cicd_pipeline(cicd.CICDConfig.for_pipeline(pipeline, "c"))
    }
    params = test[cicd.TEST].args["training_params"]
    assert params["model_factory"] == "net:make" and params["model_kwargs"] == {"width": 8}
    assert params["label"] == "y"
    command = cicd.pipeline_tests_command("train:1", Path("/d/s.csv"), "y", Path("/o"), params)
    assert command[:8] == ["docker", "run", "--rm", "--network", "none", "--read-only",
                           "--user", "1000:1000"]  # fmt: skip
    assert command[command.index("train:1") + 1 :][:2] == ["-m", "pytest"]
    assert json.loads(command[command.index("--mlops-params") + 1]) == params
    assert command[command.index("--pyargs") + 1] == "airflow_mlops.pytest_plugin"


def test_an_image_without_the_pipeline_checks_is_refused_saying_to_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = subprocess.CompletedProcess(
        [], 4, "", "__main__.py: error: unrecognized arguments: --mlops-data /mnt/data/s.csv"
    )
    monkeypatch.setattr(cicd.subprocess, "run", lambda *a, **k: stale)
    with pytest.raises(TrainingError, match="cannot run the pipeline tests") as caught:
        cicd.run_pipeline_tests("old:1", tmp_path / "s.csv", "y", tmp_path / "out", {"label": "y"})
    assert "Rebuild the training image" in caught.value.hint


class FakeDocker:
    """``docker`` answering from a set of local images and whether a registry is reachable."""

    def __init__(self, images: set[str], registry: bool) -> None:
        self.images, self.registry, self.calls = set(images), registry, []

    def __call__(self, *args: str, timeout: float = 60) -> tuple[bool, str]:
        self.calls.append(args)
        if args[0] == "pull":
            if self.registry:
                self.images.add(args[1])
                return True, ""
            return False, "Error response from daemon: dial tcp: lookup registry-1.docker.io"
        return args[2] in self.images, ""


@pytest.mark.parametrize(
    ("images", "registry", "chosen"),
    [
        (set(), True, cicd.OFFICIAL_BASE_IMAGE),  # pulled
        ({cicd.OFFICIAL_BASE_IMAGE}, False, cicd.OFFICIAL_BASE_IMAGE),  # already there
        ({cicd.FALLBACK_BASE_IMAGE}, False, cicd.FALLBACK_BASE_IMAGE),  # no registry
    ],
)
def test_the_base_is_the_slim_python_image_else_the_local_fallback(images, registry, chosen):
    assert cicd.choose_base_image(None, FakeDocker(images, registry)) == chosen


def test_a_requested_base_is_used_as_it_is() -> None:
    docker = FakeDocker(set(), registry=False)
    assert cicd.choose_base_image("acme/cuda:12", docker) == "acme/cuda:12"
    assert docker.calls == []


def test_without_registry_and_fallback_the_error_says_how_to_build_it() -> None:
    from airflow_mlops.errors import ServiceError

    with pytest.raises(ServiceError, match=r"cannot be pulled .*lookup registry") as caught:
        cicd.choose_base_image(None, FakeDocker(set(), registry=False))
    assert "make docker-base" in caught.value.hint
