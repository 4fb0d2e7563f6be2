"""The /mlops API mounted in Airflow's own app, against a real MLflow server with auth on."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.integration.ui.conftest import token_for
from tests.integration.ui.registry_seed import HOSTILE, MODEL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(airflow_app) -> TestClient:
    return TestClient(airflow_app)


@pytest.fixture(scope="module")
def viewer(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('viewer')}"}


@pytest.mark.parametrize(
    "path",
    ["/mlops/", "/mlops/api/models", f"/mlops/api/models/{MODEL}", f"/mlops/api/versions/{MODEL}"],
)
def test_anonymous_requests_are_refused(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert MODEL not in response.text


def test_invalid_token_and_user_without_role_are_refused(client: TestClient) -> None:
    assert (
        client.get("/mlops/api/models", headers={"Authorization": "Bearer nope"}).status_code == 403
    )
    no_role = {"Authorization": f"Bearer {token_for(None)}"}
    assert client.get("/mlops/api/models", headers=no_role).status_code == 403


def test_ui_cookie_is_accepted_like_a_bearer_token(client: TestClient) -> None:
    response = client.get("/mlops/api/models", cookies={"_token": token_for("viewer")})
    assert response.status_code == 200


def test_models_lists_aliases(client: TestClient, viewer: dict[str, str]) -> None:
    response = client.get("/mlops/api/models", headers=viewer)
    assert response.status_code == 200
    (model,) = [m for m in response.json()["models"] if m["name"] == MODEL]
    assert model["aliases"] == {"champion": "2", "challenger": "3"}
    assert model["latest_version"] == "3"
    assert model["link"].endswith(f"/#/models/{MODEL}")


def test_model_view_has_champion_challenger_lineage_gate_and_drift(
    client: TestClient, viewer: dict[str, str], seeded_registry
) -> None:
    response = client.get(f"/mlops/api/models/{MODEL}", headers=viewer)
    assert response.status_code == 200
    view = response.json()
    champion, challenger = view["champion"], view["challenger"]
    assert (champion["version"], challenger["version"]) == ("2", "3")
    # one version per page: the champion is read although it is older than the page
    assert [v["version"] for v in view["versions"]] == ["3"]
    assert view["older"] == 3
    assert champion["metrics"]["val_accuracy"] == pytest.approx(0.95)
    assert champion["lineage"]["data_rev"] == "v2"
    assert champion["lineage"]["image_digest"].startswith("sha256:")
    assert champion["lineage"]["params"] == {"epochs": 7, "lr": 0.001}
    assert champion["lineage"]["trigger"] == "schedule"
    assert challenger["gate"] == {
        "decision": "reject",
        "reasons": ["val_accuracy 0.930 < champion 0.950", HOSTILE],
        # the seed records no holdout tags
        "holdout": {"md5": None, "rows": None, "split_rule": None},
    }
    assert challenger["validation_outcome"] == "success"
    assert challenger["parity_max_abs"] == pytest.approx(1e-6)
    links = champion["links"]
    run_id = seeded_registry.run_ids["2"]
    assert links["run"].startswith(seeded_registry.tracking_uri)
    assert links["run"].endswith(f"/runs/{run_id}")
    assert links["version"].endswith(f"/#/models/{MODEL}/versions/2")
    assert (
        links["dag_run"] == "/dags/mlops_level1_ct/runs/manual__2026-01-02T00%3A00%3A00%2B00%3A00"
    )
    # a tag's link to a host that is neither MLflow nor a configured one is dropped
    assert links.get("data_docs") is None
    assert view["chart_metric"] == "val_accuracy"
    assert [d["drift_share"] for d in view["drift"]] == pytest.approx([0.05, 0.1, 0.6])
    assert [d["run_id"] for d in view["drift"]] == seeded_registry.monitoring_run_ids
    assert view["drift"][0]["links"].get("report") is None


def test_older_versions_come_in_pages_until_none_is_left(
    client: TestClient, viewer: dict[str, str], seeded_registry
) -> None:
    pages, before = [], client.get(f"/mlops/api/models/{MODEL}", headers=viewer).json()["older"]
    while before is not None:
        response = client.get(f"/mlops/api/versions/{MODEL}?before={before}", headers=viewer)
        assert response.status_code == 200
        pages.append(response.json()["versions"])
        before = response.json()["older"]
    assert [[v["version"] for v in page] for page in pages] == [["2"], ["1"]]
    (champion,), (first,) = pages
    assert champion["aliases"] == ["champion"]
    assert champion["metrics"]["val_accuracy"] == pytest.approx(0.95)
    assert first["lineage"]["trigger"] == "manual"
    assert first["links"]["run"].endswith(f"/runs/{seeded_registry.run_ids['1']}")


@pytest.mark.parametrize(("query", "status"), [("", 422), ("?before=0", 422), ("?before=x", 422)])
def test_older_versions_need_a_positive_before(
    client: TestClient, viewer: dict[str, str], query: str, status: int
) -> None:
    response = client.get(f"/mlops/api/versions/{MODEL}{query}", headers=viewer)
    assert response.status_code == status


def test_unknown_model_is_404_with_a_hint(client: TestClient, viewer: dict[str, str]) -> None:
    for path in ("/mlops/api/models/no-such-model", "/mlops/api/versions/no-such-model?before=9"):
        response = client.get(path, headers=viewer)
        assert response.status_code == 404
        assert "no-such-model" in response.json()["detail"]
        assert "/mlops/api/models" in response.json()["detail"]


def test_page_is_served_with_a_strict_content_security_policy(
    client: TestClient, viewer: dict[str, str]
) -> None:
    page = client.get("/mlops/", headers=viewer)
    assert page.status_code == 200
    assert '<meta name="mlops-root" content="/mlops">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/mlops/static/app.js", headers=viewer)
    assert script.status_code == 200
    assert "innerHTML" not in script.text
    assert client.get("/mlops/static/..%2Fapi.py", headers=viewer).status_code == 404


def test_plugin_page_is_in_the_navigation(client: TestClient, viewer: dict[str, str]) -> None:
    plugins = client.get("/api/v2/plugins", headers=viewer).json()["plugins"]
    (ours,) = [p for p in plugins if p["name"] == "airflow_mlops"]
    assert ours["external_views"][0]["href"] == "/mlops/"
    assert ours["fastapi_apps"][0]["url_prefix"] == "/mlops"
    assert "airflow_mlops.plugins.macros.champion_version" in ours["macros"]


def test_a_tracking_url_that_is_not_http_is_503_with_a_hint(
    client: TestClient, viewer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {"conn_type": "mlflow", "host": "sqlite:///mlflow.db"}
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps(connection))
    response = client.get(f"/mlops/api/models/{MODEL}", headers=viewer)
    assert response.status_code == 503
    assert "sqlite:///mlflow.db" in response.json()["detail"]
    assert "http://mlflow:5000" in response.json()["detail"]


def test_runs_are_found_in_the_ct_experiment_and_elsewhere(
    client: TestClient, viewer: dict[str, str], seeded_registry, mlflow_server: str
) -> None:
    """Metrics come from the model's CT experiment ``ct/<model>`` (one search there) and, for a
    version whose run lives in another experiment, from a search of every experiment."""
    import uuid

    from mlflow import MlflowClient

    mlflow = MlflowClient(mlflow_server, mlflow_server)
    name = f"ui-ct-{uuid.uuid4().hex[:8]}"
    mlflow.create_registered_model(name)
    for number, experiment in enumerate((f"ct/{name}", f"elsewhere/{name}"), start=1):
        run = mlflow.create_run(mlflow.create_experiment(experiment))
        mlflow.log_metric(run.info.run_id, "val_accuracy", 0.5 + number / 10)
        mlflow.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    mlflow.set_registered_model_alias(name, "champion", "1")
    mlflow.set_registered_model_alias(name, "challenger", "2")

    response = client.get(f"/mlops/api/models/{name}", headers=viewer)

    assert response.status_code == 200
    view = response.json()
    assert view["champion"]["metrics"]["val_accuracy"] == pytest.approx(0.6)
    assert view["challenger"]["metrics"]["val_accuracy"] == pytest.approx(0.7)
