"""Read-only calls to an MLflow tracking server's REST API, without importing ``mlflow``.

``import mlflow`` takes 3 to 5 s (MLflow 3 pulls pandas and its GenAI modules): the MLOps page's
API would pay it on its first request after every api-server start. The page only reads, through
a few documented endpoints (``/api/2.0/mlflow/...``), so it speaks JSON over HTTP itself, with
the credentials MLflow's client reads from the environment: ``MLFLOW_TRACKING_USERNAME`` and
``MLFLOW_TRACKING_PASSWORD`` (what the ``mlflow`` connection sets), else
``MLFLOW_TRACKING_TOKEN``; for https, ``MLFLOW_TRACKING_INSECURE_TLS`` and
``MLFLOW_TRACKING_SERVER_CERT_PATH``. No retries: a page reports a failure at once.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from airflow_mlops.errors import ConfigError, RegistryError

API_PATH = "/api/2.0/mlflow/"
TIMEOUT_S = 30.0


def is_http_uri(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` is the http(s) URL of a tracking server."""
    parsed = urllib.parse.urlsplit(tracking_uri.strip())
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def check_http_uri(tracking_uri: str) -> str:
    """``tracking_uri`` without its trailing slash, if it is an http(s) URL, else ConfigError."""
    if not is_http_uri(tracking_uri):
        raise ConfigError(
            f"MLflow tracking URL {tracking_uri!r} is not the http(s) URL of a tracking server.",
            hint="The MLOps page reads MLflow's REST API: point the mlflow_default connection "
            "(or MLFLOW_TRACKING_URI) at the tracking server, e.g. http://mlflow:5000.",
        )
    return tracking_uri.strip().rstrip("/")


def _headers(json_body: bool) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if json_body:
        headers["Content-Type"] = "application/json"
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if user and password is not None:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _tls() -> ssl.SSLContext | None:
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("1", "true"):
        return ssl._create_unverified_context()  # the user turned verification off
    cafile = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    return ssl.create_default_context(cafile=cafile) if cafile else None


class MlflowRest:
    """JSON calls to one tracking server; errors become :class:`RegistryError`.

    :param tracking_uri: http(s) URL of the tracking server.
    :param timeout_s: seconds to wait for each answer.
    :raises ConfigError: the URL is not http(s).
    """

    def __init__(self, tracking_uri: str, timeout_s: float = TIMEOUT_S) -> None:
        self.base = check_http_uri(tracking_uri)
        self.timeout_s = timeout_s

    def get(self, endpoint: str, **query: Any) -> dict[str, Any]:
        """``GET`` ``endpoint`` (e.g. ``model-versions/search``); lists repeat their key."""
        url = f"{self.base}{API_PATH}{endpoint}?{urllib.parse.urlencode(query, doseq=True)}"
        return self._call(urllib.request.Request(url, headers=_headers(False)), endpoint)

    def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST`` ``body`` as JSON to ``endpoint`` (e.g. ``runs/search``)."""
        request = urllib.request.Request(
            f"{self.base}{API_PATH}{endpoint}",
            data=json.dumps(body).encode(),
            headers=_headers(True),
            method="POST",
        )
        return self._call(request, endpoint)

    def artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of artifact ``path`` of run ``run_id`` (the server's ``/get-artifact``).

        :raises FileNotFoundError: the run or the artifact does not exist.
        """
        query = urllib.parse.urlencode({"run_uuid": run_id, "path": path})
        request = urllib.request.Request(
            f"{self.base}/get-artifact?{query}", headers=_headers(False)
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=_tls()) as answer:
                return answer.read()
        except urllib.error.HTTPError as error:
            if error.code in (400, 404):
                raise FileNotFoundError(f"{run_id}/{path}") from error
            raise self._refused(error, "get-artifact") from error
        except OSError as error:
            raise self._unreachable(error, "get-artifact") from error

    def pages(
        self, endpoint: str, key: str, params: dict[str, Any], *, post: bool = False
    ) -> list[dict[str, Any]]:
        """Every item under ``key`` of a paged search, following ``next_page_token``."""
        items: list[dict[str, Any]] = []
        token = None
        while True:
            args = {**params, **({"page_token": token} if token else {})}
            page = self.post(endpoint, args) if post else self.get(endpoint, **args)
            items.extend(page.get(key, []))
            token = page.get("next_page_token")
            if not token:
                return items

    def _call(self, request: urllib.request.Request, endpoint: str) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=_tls()) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise self._refused(error, endpoint) from error
        except (OSError, ValueError) as error:
            raise self._unreachable(error, endpoint) from error

    def _refused(self, error: urllib.error.HTTPError, endpoint: str) -> RegistryError:
        body = error.read().decode("utf-8", "replace")
        try:
            detail = json.loads(body)
        except ValueError:
            detail = {"message": body[:500]}
        return RegistryError(
            f"MLflow at {self.base} refused {endpoint} (HTTP {error.code}): "
            f"{detail.get('message', '')}",
            hint="Check the mlflow_default connection (URL, login) and the server log.",
            details={"error_code": detail.get("error_code"), "status": error.code},
        )

    def _unreachable(self, error: Exception, endpoint: str) -> RegistryError:
        return RegistryError(
            f"MLflow at {self.base} is unreachable or answered garbage on {endpoint}: {error}",
            hint="Start the tracking server or fix the mlflow_default connection.",
        )
