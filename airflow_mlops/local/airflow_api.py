"""A small client of the Airflow 3 REST API (``/api/v2``) for the demo and end-to-end tests."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from airflow_mlops.errors import ServiceError

FINISHED = ("success", "failed")


def _unreachable(base_url: str, error: urllib.error.URLError) -> ServiceError:
    return ServiceError(
        f"Airflow API at {base_url} is unreachable: {error.reason}",
        hint="Start it with `airflow-mlops up`.",
    )


class AirflowApi:
    """Calls the REST API of an Airflow api-server.

    :param base_url: e.g. ``http://127.0.0.1:8080``.
    :param token: a JWT for ``Authorization: Bearer``; None when the auth manager lets all in.
    """

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    @classmethod
    def login(cls, base_url: str, username: str, password: str) -> AirflowApi:
        """A client with the JWT that ``POST /auth/token`` gives ``username``.

        :raises ServiceError: the api-server is unreachable or refused the credentials.
        """
        base = base_url.rstrip("/")
        request = urllib.request.Request(
            f"{base}/auth/token",
            data=json.dumps({"username": username, "password": password}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return cls(base, json.loads(response.read())["access_token"])
        except urllib.error.HTTPError as error:
            raise ServiceError(
                f"Airflow at {base} refused the login of {username!r} ({error.code}).",
                hint="Check the password (the local stack keeps it in airflow-passwords.json "
                "in its home).",
            ) from error
        except urllib.error.URLError as error:
            raise _unreachable(base, error) from error

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send one request; return the decoded JSON answer."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            f"{self.base_url}/api/v2{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise ServiceError(
                f"Airflow API {method} {path} answered {error.code}: {detail}",
                hint="Check that the DAG exists, parses without errors, and the call is allowed.",
            ) from error
        except urllib.error.URLError as error:
            raise _unreachable(self.base_url, error) from error
        return json.loads(payload) if payload else None

    def dag_ids(self) -> set[str]:
        return {dag["dag_id"] for dag in self.request("GET", "/dags?limit=1000")["dags"]}

    def import_errors(self) -> list[dict[str, Any]]:
        return self.request("GET", "/importErrors")["import_errors"]

    def wait_for_dags(self, dag_ids: set[str], timeout_s: float = 180) -> None:
        """Wait until every DAG in ``dag_ids`` is parsed; fail early on import errors."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            errors = self.import_errors()
            if errors:
                raise ServiceError(
                    "DAG import errors: "
                    + "; ".join(f"{e['filename']}: {e['stack_trace'][-300:]}" for e in errors),
                    hint="Fix the DAG files; `airflow dags list-import-errors` shows them too.",
                )
            if dag_ids <= self.dag_ids():
                return
            time.sleep(2)
        raise ServiceError(
            f"DAGs {sorted(dag_ids - self.dag_ids())} were not parsed within {timeout_s:.0f} s.",
            hint="Check the dag-processor log under the Airflow home.",
        )

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG (a paused DAG's runs are not scheduled)."""
        self.request("PATCH", f"/dags/{dag_id}", {"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a manual run; returns its run id."""
        run = self.request(
            "POST", f"/dags/{dag_id}/dagRuns", {"conf": conf or {}, "logical_date": None}
        )
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs, oldest first."""
        path = f"/dags/{dag_id}/dagRuns?order_by=run_after&limit=100"
        return self.request("GET", path)["dag_runs"]

    def new_runs(self, dag_id: str, known: set[str]) -> list[dict[str, Any]]:
        """The DAG's runs whose ids are not in ``known``, oldest first."""
        return [run for run in self.runs(dag_id) if run["dag_run_id"] not in known]

    def delete_run(self, dag_id: str, run_id: str) -> None:
        """Delete a run and its task instances (a deferred task's trigger is then dropped)."""
        self.request("DELETE", f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float = 600) -> dict[str, Any]:
        """Poll until the run finishes; returns the run."""
        quoted = urllib.parse.quote(run_id, safe="")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.request("GET", f"/dags/{dag_id}/dagRuns/{quoted}")
            if run["state"] in FINISHED:
                return run
            time.sleep(2)
        raise ServiceError(
            f"Run {run_id} of {dag_id} did not finish within {timeout_s:.0f} s.",
            hint="Look at the run in the Airflow UI.",
        )

    def wait_for_new_run(
        self, dag_id: str, known: set[str], timeout_s: float = 300
    ) -> dict[str, Any]:
        """Wait for a run of ``dag_id`` whose id is not in ``known`` (e.g. asset-triggered)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            fresh = self.new_runs(dag_id, known)
            if fresh:
                return fresh[0]
            time.sleep(2)
        raise ServiceError(
            f"No new run of {dag_id} started within {timeout_s:.0f} s.",
            hint="Check that the DAG is unpaused and the asset event was emitted.",
        )

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """The return value a task pushed (deserialised)."""
        quoted = urllib.parse.quote(run_id, safe="")
        path = (
            f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/xcomEntries/return_value"
            "?deserialize=true"
        )
        return self.request("GET", path)["value"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances (state, try_number, hostname, start and end dates, ...)."""
        quoted = urllib.parse.quote(run_id, safe="")
        answer = self.request("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances")
        return answer["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def task_tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """Every try of one task instance (try_number, state, hostname), the current one too."""
        quoted = urllib.parse.quote(run_id, safe="")
        path = f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/tries"
        return self.request("GET", path)["task_instances"]
