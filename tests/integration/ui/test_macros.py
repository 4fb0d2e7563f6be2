"""The template macros read aliases from a real MLflow server."""

from __future__ import annotations

import pytest

from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.plugins.macros import challenger_version, champion_version
from tests.integration.ui.registry_seed import MODEL

pytestmark = pytest.mark.integration


@pytest.fixture
def tracking(seeded_registry, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("AIRFLOW_CONN_MLFLOW_DEFAULT", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", seeded_registry.tracking_uri)
    return seeded_registry.tracking_uri


def test_macros_return_the_aliased_versions(tracking: str) -> None:
    assert champion_version(MODEL) == "2"
    assert challenger_version(MODEL) == "3"


def test_a_missing_alias_fails_the_task_with_a_hint(tracking: str) -> None:
    with pytest.raises(MlopsTaskError, match="no-such-model") as error:
        champion_version("no-such-model")
    assert "Promote a version first" in str(error.value)
