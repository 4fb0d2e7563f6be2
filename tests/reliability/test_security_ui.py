"""Security of the UI plugin: every route of its app refuses anonymous callers and users who may
not read DAGs (enumerated from the app, so a new route without the guard fails here), and the
page never turns registry data into HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from airflow_mlops.plugins.api import create_app
from airflow_mlops.plugins.plugin import URL_PREFIX, MlopsPlugin
from tests.integration.ui.conftest import airflow_app, seeded_registry, token_for  # noqa: F401
from tests.integration.ui.registry_seed import HOSTILE, MODEL

pytestmark = pytest.mark.integration

STATIC = Path(__file__).resolve().parents[2] / "plugins" / "static"
#: a value for each path parameter of the plugin's routes (a new name fails loudly); the report
#: routes read the files that the ``reports`` fixture writes (``RUN`` becomes a real run id)
REPORT = "run/task/report.json"
PATH_VALUES = {
    "name": MODEL,
    "asset": "app.js",
    "family": "validation",
    "dag_id": "dag",
    "model": MODEL,
    "run_id": "RUN",
    "path": REPORT,
}


def plugin_requests() -> list[tuple[str, str]]:
    """(method, URL under the plugin's prefix) of every route of its app, parameters filled."""
    requests = []
    for route in create_app(resolve_tracking_uri=lambda: "http://unused").routes:
        if isinstance(route, Mount):
            requests.append(("GET", f"{URL_PREFIX}{route.path}/x"))
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PATH_VALUES[m.group(1)], route.path)
        query = [f"{f.name}=2" for f in route.dependant.query_params if f.field_info.is_required()]
        url = f"{URL_PREFIX}{path}" + ("?" + "&".join(query) if query else "")
        requests += [(method, url) for method in sorted(route.methods)]
    return requests


REQUESTS = plugin_requests()


@pytest.fixture(scope="module")
def client(airflow_app) -> TestClient:  # noqa: F811
    return TestClient(airflow_app)


@pytest.fixture(scope="module")
def reports(
    seeded_registry,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The report each report route serves: files under an artifact root, an MLflow run's
    artifact; returns that run's id."""
    from mlflow import MlflowClient

    from airflow_mlops.settings import ARTIFACT_ROOT_ENV

    root = tmp_path_factory.mktemp("artifacts")
    for folder in ("validation/dag", f"inference_log/{MODEL}"):
        (root / folder / REPORT).parent.mkdir(parents=True)
        (root / folder / REPORT).write_text("{}")
    run_id = seeded_registry.run_ids["2"]
    MlflowClient(seeded_registry.tracking_uri).log_text(run_id, "{}", REPORT)
    patch = pytest.MonkeyPatch()
    patch.setenv(ARTIFACT_ROOT_ENV, str(root))
    yield run_id
    patch.undo()


def test_the_plugin_serves_one_app_and_every_route_is_enumerated() -> None:
    assert [app["url_prefix"] for app in MlopsPlugin.fastapi_apps] == [URL_PREFIX]
    assert len(REQUESTS) >= 5
    assert (
        "GET",
        f"{URL_PREFIX}/api/versions/{MODEL}?before=2",
    ) in REQUESTS


@pytest.mark.parametrize(("method", "url"), REQUESTS)
def test_every_route_denies_anonymous_and_users_without_dag_read(
    client: TestClient, reports: str, method: str, url: str
) -> None:
    url = url.replace("/RUN/", f"/{reports}/")
    anonymous = client.request(method, url)
    no_role = client.request(method, url, headers={"Authorization": f"Bearer {token_for(None)}"})
    forged = client.request(method, url, headers={"Authorization": "Bearer forged.jwt.value"})
    viewer = client.request(method, url, headers={"Authorization": f"Bearer {token_for('viewer')}"})

    assert anonymous.status_code == 401, anonymous.text
    assert no_role.status_code == 403, no_role.text
    assert forged.status_code == 403, forged.text
    for refused in (anonymous, no_role, forged):
        assert MODEL not in refused.text
        assert "Content-Security-Policy" in refused.headers
    assert viewer.status_code == 200, viewer.text  # control: the guard lets a reader through
    if not url.endswith(f"{URL_PREFIX}/"):
        assert not viewer.headers["content-type"].startswith("text/html")


def test_disabled_framework_routes_are_absent(client: TestClient) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(f"{URL_PREFIX}{path}").status_code in (401, 404)


def test_the_page_carries_no_data_and_no_inline_script(client: TestClient) -> None:
    page = client.get(f"{URL_PREFIX}/", headers={"Authorization": f"Bearer {token_for('viewer')}"})
    assert page.status_code == 200
    assert "__ROOT__" not in page.text
    assert HOSTILE not in page.text and MODEL not in page.text
    assert re.findall(r"<script[^>]*>", page.text) == [
        f'<script src="{URL_PREFIX}/static/app.js" defer>'
    ]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


#: DOM sinks that parse a string as HTML or code
HTML_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc"
    r"|setTimeout\(\s*[\"'`]|setInterval\(\s*[\"'`]|javascript:"
)


#: the one sanitiser of link targets: absolute http(s) URLs or same-origin paths only
SAFE_HREF = (
    "function safeHref(url) {\n"
    '  return typeof url === "string" && (/^https?:\\/\\//i.test(url) || '
    "/^\\/(?!\\/)/.test(url)) ? url : null;\n}"
)


def test_the_script_writes_data_as_text_only() -> None:
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    assert HTML_SINKS.findall(script) == []
    # no event-handler attributes set from code (el() sets attributes by name)
    assert re.findall(r"[\"']?\bon[a-z]+[\"']?\s*:", script) == []
    # every URL attribute goes through safeHref (http(s) or same-origin path) or is the page root
    assert SAFE_HREF in script
    url_lines = [
        line.strip() for line in script.splitlines() if re.search(r"href|src\b", line, re.I)
    ]
    assert url_lines == [
        "function safeHref(url) {",
        "const href = safeHref(url);",
        "if (!href) return null;",
        'return el("a", { href, rel: "noopener noreferrer", "data-testid": testId }, label);',
        'document.getElementById("airflow-link").href = ROOT.replace(/\\/mlops$/, "") + "/";',
    ]
