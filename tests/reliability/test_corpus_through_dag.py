"""The validation corpus through the whole level-1 CT DAG: broken data never reaches the registry.

One champion is trained once for the module. Each kind of broken data of
:mod:`tests.support.corpus` is then committed to a private copy of the demo registry
as a tagged DVC version and a run is triggered on it with ``{"data_rev": <tag>}``: the run must
stop at ``validate_data`` with a message naming the problem, nothing downstream may run, and the
registry (versions and champion) must be exactly as before. A value-skew batch (severity
``retrain`` only) must instead warn, train, record ``validation_outcome=warn`` on the new version
and leave promotion to the gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_mlops.ct.plan import (
    EXPORT,
    FINGERPRINT,
    PREPARE,
    PROMOTE,
    PULL,
    PULL_REFERENCE,
    REGISTER,
    TRAIN,
    VALIDATE,
)
from airflow_mlops.data.io import MAX_BYTES_ENV
from airflow_mlops.lineage import lineage_tag
from airflow_mlops.local.demo.registry import DATASET_PATH
from tests.support.corpus import CASES, CORPUS_MAX_BYTES, CorpusCase, clean_batch

pytestmark = [pytest.mark.slow, pytest.mark.integration]

MODEL = "rel-corpus-through-dag"
#: the file suffixes of the corpus; each gets the reference version in its own format
SUFFIXES = (".csv.gz", ".parquet", ".csv")
DOWNSTREAM = (TRAIN, EXPORT, REGISTER, PROMOTE)


def suffix_of(path: Path) -> str:
    return next(suffix for suffix in SUFFIXES if path.name.endswith(suffix))


def reference_tag(suffix: str) -> str:
    """The tag of the v1 reference in the format ``suffix`` (``v1`` itself for CSV)."""
    return "v1" if suffix == ".csv" else "reference" + suffix.replace(".", "-")


def dataset_path(suffix: str) -> str:
    return DATASET_PATH.removesuffix(".csv") + suffix


def skewed_batch(folder: Path) -> Path:
    """A healthy batch except 5 % of ``mean_area`` half a span above the v1 range: value skew
    that the learned suite flags with severity ``retrain`` (warn), not broken data (stop)."""
    from airflow_mlops.local.demo.dataset import breast_cancer_frame, version_v1

    reference = version_v1(breast_cancer_frame())
    low, high = reference["mean_area"].min(), reference["mean_area"].max()
    batch = clean_batch(breast_cancer_frame())
    batch.loc[batch.index[: len(batch) // 20], "mean_area"] = high + (high - low) / 2
    path = folder / "value_skew.csv"
    batch.to_csv(path, index=False)
    return path


class CorpusRegistry:
    """A private copy of the demo registry that takes files as tagged DVC versions.

    Each version is a branch off ``base``: v1 with the DVC remote pointed at this copy's
    remote in the committed config, so a pipeline's clone pulls the new objects from there.
    """

    def __init__(self, registry: Any) -> None:
        from airflow_mlops.local.demo.registry import dvc_argv, run_tool

        self.repo = registry.repo
        run_tool(["git", "checkout", "-q", "-B", "corpus-base", "v1"], self.repo)
        run_tool(dvc_argv("remote", "modify", "local", "url", str(registry.remote)), self.repo)
        self._git("commit", "-q", "-am", "DVC remote of the corpus registry")

    def _git(self, *args: str) -> None:
        from airflow_mlops.local.demo.registry import run_tool

        run_tool(["git", *args], self.repo)

    def commit(self, source: Path, target: str, tag: str) -> str:
        """Commit ``source`` as the DVC-tracked ``target`` on its own branch, tagged ``tag``."""
        import contextlib
        import shutil

        from dvc.repo import Repo

        self._git("checkout", "-q", "-B", f"branch-{tag}", "corpus-base")
        (self.repo / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, self.repo / target)
        with contextlib.chdir(self.repo), Repo(".") as repo:  # in-process: 0.3 s, not 2 s
            repo.add(target)
        self._git("add", "-A")
        self._git("commit", "-q", "-m", f"corpus case {tag}")
        self._git("tag", tag)
        return tag

    def push(self) -> None:
        import contextlib

        from dvc.repo import Repo

        with contextlib.chdir(self.repo), Repo(".") as repo:
            repo.push(all_tags=True)


@pytest.fixture(scope="module")
def corpus(
    demo_registry_template: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, tuple[str, str]]]:
    """The registry with every corpus case (and the value-skew batch) as a tag; the registry
    path and ``case name -> (tag, suffix)``."""
    from airflow_mlops.local.demo.dataset import breast_cancer_frame, version_v1
    from tests.conftest import copy_registry
    from tests.support.corpus import CLEAN, build_corpus

    root = tmp_path_factory.mktemp("corpus-registry")
    registry = CorpusRegistry(copy_registry(demo_registry_template, root))
    files = build_corpus(root / "files")
    del files[CLEAN.name]
    files["value_skew"] = skewed_batch(root / "files")
    reference = version_v1(breast_cancer_frame())
    for suffix in SUFFIXES[:2]:
        source = root / "files" / f"reference{suffix}"
        if suffix == ".parquet":
            reference.to_parquet(source, index=False)
        else:
            reference.to_csv(source, index=False)
        registry.commit(source, dataset_path(suffix), reference_tag(suffix))
    tags = {}
    for name, source in files.items():
        suffix = suffix_of(source)
        tags[name] = (registry.commit(source, dataset_path(suffix), f"corpus-{name}"), suffix)
    registry.push()
    return registry.repo, tags


@pytest.fixture(scope="module")
def champion() -> dict[str, Any]:
    """Filled once per module by :func:`pipeline`: the registry after the champion's run."""
    return {}


@pytest.fixture
def pipeline(ct: Any, corpus: tuple[Path, dict[str, tuple[str, str]]], champion: dict) -> Any:
    """``ct`` for the module's model; the champion is trained by the first test that asks."""
    ct.model_name = MODEL
    ct.monkeypatch.setenv(MAX_BYTES_ENV, str(CORPUS_MAX_BYTES))
    if not champion:
        run = ct.run(ct.dag(dataset={"registry": str(corpus[0])}), {"data_rev": "v1"})
        assert run.state == "success", run.task_states
        champion["state"] = ct.registry()
        assert champion["state"].champion is not None
    return ct


def run_case(pipeline: Any, corpus: tuple[Path, dict], name: str):
    registry, tags = corpus
    tag, suffix = tags[name]
    dag = pipeline.dag(
        dataset={"registry": str(registry), "path": dataset_path(suffix)},
        validation_reference_rev=reference_tag(suffix),
    )
    return pipeline.run(dag, {"data_rev": tag})


def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    """A task's XCom value from the metadata DB."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key)
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


def failure_message(result: dict[str, Any]) -> str:
    """The message the validation task failed with, rebuilt from its XCom result."""
    from airflow_mlops.validation.validate import ValidationReport

    return ValidationReport(
        dataset=result["dataset"],
        suite_name=result["suite"],
        outcome=result["outcome"],
        retrain=result["retrain"],
        failed=result["failed"],
        statistics=result["statistics"],
    ).summary()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_broken_data_stops_at_validation_and_the_champion_stays(
    case: CorpusCase, pipeline: Any, corpus: tuple[Path, dict]
) -> None:
    before = pipeline.registry()
    run = run_case(pipeline, corpus, case.name)

    assert run.state == "failed"
    states = run.task_states
    for task_id in (PREPARE, PULL, FINGERPRINT, PULL_REFERENCE):
        assert states[task_id] == "success", states
    assert states[VALIDATE] == "failed", states
    assert all(states[task_id] == "upstream_failed" for task_id in DOWNSTREAM), states
    result = xcom(run, VALIDATE, "validation_result")
    assert result["outcome"] == "stop" and not result["success"]
    message = failure_message(result)
    for word in case.expect:
        assert word in message, f"{word!r} not in:\n{message}"
    after = pipeline.registry()
    assert after == before, "the registry changed although validation stopped the run"


def test_value_skew_warns_trains_and_leaves_promotion_to_the_gate(
    pipeline: Any, corpus: tuple[Path, dict]
) -> None:
    before = pipeline.registry()
    run = run_case(pipeline, corpus, "value_skew")

    assert run.state == "success", run.task_states
    result = xcom(run, VALIDATE)
    assert result["outcome"] == "warn" and result["retrain"], result["failed"]
    assert {f["severity"] for f in result["failed"]} == {"retrain"}
    assert [f["column"] for f in result["failed"]] == ["mean_area"]
    registered = xcom(run, REGISTER)
    after = pipeline.registry()
    assert set(after.versions) - set(before.versions) == {registered["version"]}
    assert after.versions[registered["version"]][lineage_tag("validation_outcome")] == "warn"
    decision = xcom(run, PROMOTE)
    assert decision["champion_before"] == before.champion
    expected = registered["version"] if decision["promoted"] else before.champion
    assert after.champion == expected, decision["reasons"]
