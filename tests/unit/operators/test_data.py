"""DvcPullOperator and DvcDataVersionSensor mask a registry URL's credentials once rendered; a
missing revision fails the pull without retry."""

from __future__ import annotations

import uuid

import pytest
from airflow.sdk.log import redact

from airflow_mlops.operators.data import DvcPullOperator
from airflow_mlops.sensors.data import DvcDataVersionSensor


@pytest.mark.parametrize("kind", ["operator", "sensor"])
def test_rendering_masks_the_token_of_a_templated_registry_url(kind: str) -> None:
    token = f"ghp_{uuid.uuid4().hex}"
    template = "https://{{ params.token }}@github.com/acme/data-registry.git"
    if kind == "operator":
        task = DvcPullOperator(task_id="pull", registry=template, targets=["data/cancer.csv"])
    else:
        task = DvcDataVersionSensor(task_id="sense", registry=template, target="data/cancer.csv")
    assert redact(f"cloning {token}") == f"cloning {token}"  # control: unknown before rendering

    task.render_template_fields({"params": {"token": token}})

    assert task.registry == f"https://{token}@github.com/acme/data-registry.git"
    assert (
        redact(f"cloning {task.registry}")
        == "cloning https://***@github.com/acme/data-registry.git"
    )


def test_a_missing_revision_fails_without_retry(demo_registry, tmp_path, task_context) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_mlops.operators.data import DvcPullError, DvcPullRefused

    task = DvcPullOperator(
        task_id="pull",
        registry=str(demo_registry.repo),
        targets=["data/cancer.csv"],
        rev="v9",
        workspace=str(tmp_path / "ws"),
        remote_url=str(demo_registry.remote),
        cache_dir=str(tmp_path / "cache"),
    )
    with pytest.raises(DvcPullError, match="'v9' does not exist") as caught:
        task.execute(task_context("pull"))
    assert isinstance(caught.value, DvcPullRefused)
    assert isinstance(caught.value, AirflowFailException)
