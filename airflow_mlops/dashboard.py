"""The data behind the MLOps page: models, versions, lineage, gate decisions and drift history.

A model view holds the model's newest versions (a page of ``VERSIONS_PAGE``) plus its champion
and challenger; older versions come in further pages (:func:`versions_page`), cut by version
number. Reading every version at once is what does not scale: MLflow's server spends about
1 ms per version with its tags. Each answer costs a fixed number of calls whatever the
registry's size, the independent ones in flight together: registered-models/search (aliases),
model-versions/search for the page (plus at most two for a champion or challenger older than
it), experiments/search for ``ct/<model>`` and one runs/search in it per 100 versions
(metrics; versions whose run is elsewhere cost one search of every experiment), and for the
view experiments/search and runs/search on ``monitoring/<model>`` (``drift_share``). The calls go
through :class:`~airflow_mlops.mlflow_rest.MlflowRest`, so the api-server never imports mlflow.

The result is plain JSON for the plugin's API. Links are built only from ``http(s)`` URLs or
from path segments this module quotes itself, so the page never receives a ``javascript:`` href.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from airflow_mlops.errors import ConfigError, ModelNotFoundError
from airflow_mlops.lineage import (
    CHALLENGER,
    CHAMPION,
    DATA_DOCS_TAG,
    GATE_DECISION_TAG,
    GATE_REASONS_TAG,
    LINEAGE_KEYS,
    MODEL_TAG,
    PARAMS_TAG,
    REPORT_TAG,
    lineage_tag,
)
from airflow_mlops.mlflow_rest import MlflowRest
from airflow_mlops.model_registry.client import monitoring_experiment, registration_experiment

#: monitoring runs log this metric in the experiment ``monitoring/<model>``, tagged mlops.model
DRIFT_METRIC = "drift_share"
#: metrics preferred for the history chart, in order
CHART_METRICS = ("val_accuracy", "val_rmse", "val_loss")
_RUN_BATCH = 100
#: MLflow calls in flight at once for one answer (the independent reads run concurrently)
_CALLS = 4
_RUN_ID = re.compile(r"[0-9A-Za-z_-]+")
_PAGE = 1000
#: versions per answer: the newest page comes with the model view, older ones on request
VERSIONS_PAGE = 100


def safe_href(uri: str | None) -> str | None:
    """``uri`` if it is an absolute http(s) URL, else None (shown as text, never as a link)."""
    if not uri:
        return None
    parsed = urllib.parse.urlsplit(uri.strip())
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return uri.strip()
    return None


def _quote(segment: str) -> str:
    return urllib.parse.quote(str(segment), safe="")


@dataclass(frozen=True)
class LinkBuilder:
    """Builds links to the MLflow UI and to DAG runs in the Airflow UI.

    :param mlflow_ui_url: base URL of the MLflow UI (http/https), or None for no MLflow links.
    :param airflow_url: base URL (or path prefix, ``""`` for the same origin) of the Airflow UI.
    """

    mlflow_ui_url: str | None
    airflow_url: str = ""

    def _mlflow(self, fragment: str) -> str | None:
        base = safe_href(self.mlflow_ui_url)
        return f"{base.rstrip('/')}/#/{fragment}" if base else None

    def run(self, experiment_id: str | None, run_id: str | None) -> str | None:
        if not run_id:
            return None
        if experiment_id:
            return self._mlflow(f"experiments/{_quote(experiment_id)}/runs/{_quote(run_id)}")
        return self._mlflow(f"runs/{_quote(run_id)}")

    def model(self, name: str) -> str | None:
        return self._mlflow(f"models/{_quote(name)}")

    def model_version(self, name: str, version: str) -> str | None:
        return self._mlflow(f"models/{_quote(name)}/versions/{_quote(version)}")

    def dag_run(self, dag_id: str | None, run_id: str | None) -> str | None:
        if not dag_id or not run_id:
            return None
        base = self.airflow_url.rstrip("/")
        if base and not safe_href(base) and not base.startswith("/"):
            return None
        return f"{base}/dags/{_quote(dag_id)}/runs/{_quote(run_id)}"


def _check_name(name: str) -> str:
    if not name or "'" in name or "\\" in name or len(name) > 256:
        raise ConfigError(
            f"Invalid model name {name!r}.",
            hint="Use a registered model name without quotes or backslashes (at most 256 chars).",
        )
    return name


def _json_or_raw(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def _pairs(entity: dict[str, Any], field: str) -> dict[str, Any]:
    """An MLflow JSON list of ``{"key", "value"}`` (tags, params, metrics) as a dict."""
    return {item["key"]: item.get("value") for item in entity.get(field, [])}


def _experiment_ids(rest: MlflowRest, name: str | None = None) -> list[str]:
    """The id of the experiment where CT registers model ``name``, or (``name`` None) every
    experiment id: ``runs/search`` needs them, and versions do not say theirs."""
    body: dict[str, Any] = {"max_results": _PAGE}
    if name is not None:
        body["filter"] = f"name = '{registration_experiment(name)}'"
    experiments = rest.pages("experiments/search", "experiments", body, post=True)
    return [e["experiment_id"] for e in experiments]


def _runs_by_id(
    rest: MlflowRest, experiment_ids: list[str], run_ids: Iterable[str | None]
) -> dict[str, dict[str, Any]]:
    """The runs with these ids, fetched in batches of ``_RUN_BATCH`` with ``IN`` filters."""
    ids = sorted({r for r in run_ids if r and _RUN_ID.fullmatch(r)})
    runs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _RUN_BATCH):
        chunk = ids[start : start + _RUN_BATCH]
        listed = ", ".join(f"'{r}'" for r in chunk)
        found = rest.post(
            "runs/search",
            {
                "experiment_ids": experiment_ids,
                "filter": f"attributes.run_id IN ({listed})",
                "max_results": len(chunk),
            },
        )
        runs.update({run["info"]["run_id"]: run for run in found.get("runs", [])})
    return runs


def _version_view(
    version: dict[str, Any], aliases: list[str], run: dict[str, Any] | None, links: LinkBuilder
) -> dict[str, Any]:
    tags = _pairs(version, "tags")
    lineage = {key: tags.get(lineage_tag(key)) for key in LINEAGE_KEYS if key != "params"}
    lineage["gate_decision"] = tags.get(GATE_DECISION_TAG)
    lineage["params"] = _json_or_raw(tags.get(PARAMS_TAG))
    data = run.get("data", {}) if run is not None else {}
    experiment_id = run["info"].get("experiment_id") if run is not None else None
    run_tags, run_params = _pairs(data, "tags"), _pairs(data, "params")
    data_docs = tags.get(DATA_DOCS_TAG) or run_tags.get(DATA_DOCS_TAG)
    report = tags.get(REPORT_TAG) or run_tags.get(REPORT_TAG) or run_params.get(REPORT_TAG)
    reasons = _json_or_raw(tags.get(GATE_REASONS_TAG))
    number, run_id = str(version["version"]), version.get("run_id")
    return {
        "version": number,
        "aliases": sorted(aliases),
        "status": version.get("status"),
        "created_at": _iso(version.get("creation_timestamp")),
        "created_ms": version.get("creation_timestamp"),
        "run_id": run_id,
        "metrics": _pairs(data, "metrics"),
        "lineage": lineage,
        "gate": {
            "decision": lineage["gate_decision"],
            "reasons": reasons if isinstance(reasons, list) else ([reasons] if reasons else []),
        },
        "validation_outcome": lineage["validation_outcome"],
        "parity_max_abs": _float_or_none(lineage["parity_max_abs"]),
        "latency_p50_ms_b1": _float_or_none(lineage["latency_p50_ms_b1"]),
        "data_docs_uri": data_docs,
        "report_uri": report,
        "links": {
            "run": links.run(experiment_id, run_id),
            "version": links.model_version(version["name"], number),
            "dag_run": links.dag_run(lineage["dag_id"], lineage["run_id"]),
            "data_docs": safe_href(data_docs),
            "report": safe_href(report),
        },
    }


def _drift_history(rest: MlflowRest, name: str, links: LinkBuilder) -> list[dict[str, Any]]:
    experiment_filter = {"filter": f"name = '{monitoring_experiment(name)}'", "max_results": 1}
    found = rest.post("experiments/search", experiment_filter).get("experiments", [])
    if not found:
        return []
    body = {
        "experiment_ids": [found[0]["experiment_id"]],
        "filter": f"tags.`{MODEL_TAG}` = '{name}'",
        "order_by": ["attributes.start_time ASC"],
        "max_results": _PAGE,
    }
    history = []
    for run in rest.pages("runs/search", "runs", body, post=True):
        data, info = run.get("data", {}), run["info"]
        share = _pairs(data, "metrics").get(DRIFT_METRIC)
        if share is None:
            continue
        report = _pairs(data, "tags").get(REPORT_TAG) or _pairs(data, "params").get(REPORT_TAG)
        history.append(
            {
                "time": _iso(info.get("start_time")),
                "time_ms": info.get("start_time"),
                "drift_share": share,
                "run_id": info["run_id"],
                "report_uri": report,
                "links": {
                    "run": links.run(info.get("experiment_id"), info["run_id"]),
                    "report": safe_href(report),
                },
            }
        )
    return history


def _chart_metric(versions: list[dict[str, Any]]) -> str | None:
    keys = {key for v in versions for key in v["metrics"]}
    preferred = [key for key in CHART_METRICS if key in keys]
    if preferred:
        return preferred[0]
    return min(keys) if keys else None


def list_models(tracking_uri: str, links: LinkBuilder) -> dict[str, Any]:
    """Every registered model with its aliases (``champion``, ``challenger``, ...).

    :raises ConfigError: the tracking URL is not http(s).
    :raises RegistryError: MLflow refused or is unreachable.
    """
    rest = MlflowRest(tracking_uri)
    models = rest.pages("registered-models/search", "registered_models", {"max_results": _PAGE})
    return {
        "models": [
            {
                "name": model["name"],
                "description": model.get("description") or "",
                "aliases": _alias_map(model),
                "latest_version": max(
                    (str(v["version"]) for v in model.get("latest_versions", [])),
                    key=int,
                    default=None,
                ),
                "updated_at": _iso(model.get("last_updated_timestamp")),
                "link": links.model(model["name"]),
            }
            for model in sorted(models, key=lambda m: m["name"])
        ]
    }


def _alias_map(model: dict[str, Any]) -> dict[str, str]:
    return {a["alias"]: str(a["version"]) for a in model.get("aliases", [])}


def _aliases(rest: MlflowRest, name: str) -> dict[str, str]:
    """The model's aliases (alias -> version).

    :raises ModelNotFoundError: the registry has no model ``name``.
    """
    query = {"filter": f"name = '{name}'", "max_results": 1}
    found = rest.get("registered-models/search", **query).get("registered_models", [])
    if not found:
        raise ModelNotFoundError(
            f"No registered model named {name!r} in MLflow at {rest.base}.",
            hint="Pick a model from /mlops/api/models; it appears once a CT run registers it.",
        )
    return _alias_map(found[0])


def _search_versions(rest: MlflowRest, name: str, clause: str | None, limit: int) -> Any:
    """A page of versions of ``name`` matching ``clause`` (on ``version_number``), newest first."""
    condition = f"name = '{name}'" + (f" AND {clause}" if clause else "")
    return rest.get(
        "model-versions/search",
        filter=condition,
        max_results=limit,
        order_by="version_number DESC",
    )


def _views(
    rest: MlflowRest,
    versions: list[dict[str, Any]],
    aliases: dict[str, str],
    experiment_ids: Future[list[str]],
    links: LinkBuilder,
) -> list[dict[str, Any]]:
    """Views of ``versions`` (in their order), with their runs' metrics from batched searches."""
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    run_ids = {v.get("run_id") for v in versions}
    runs = _runs_by_id(rest, experiment_ids.result(), run_ids) if experiment_ids.result() else {}
    if elsewhere := run_ids - runs.keys() - {None, ""}:  # registered outside CT's experiment
        runs.update(_runs_by_id(rest, _experiment_ids(rest), elsewhere))
    return [
        _version_view(v, by_version.get(str(v["version"]), []), runs.get(v.get("run_id")), links)
        for v in versions
    ]


def check_page_size(limit: int) -> int:
    """``limit`` if it is a valid number of versions per page, else :class:`ConfigError`."""
    if not 1 <= limit <= _PAGE:
        raise ConfigError(
            f"Invalid number of versions per page: {limit!r}.",
            hint=f"Use 1 to {_PAGE} (Airflow config [mlops] ui_versions_per_page for the page).",
        )
    return limit


def model_view(
    tracking_uri: str, name: str, links: LinkBuilder, limit: int = VERSIONS_PAGE
) -> dict[str, Any]:
    """Everything the page shows first for one model: its newest ``limit`` versions.

    Keys: ``name``, ``aliases``, ``champion`` and ``challenger`` (version views or None, read
    even when older than the page), ``versions`` (newest first; each with ``metrics``,
    ``lineage``, ``gate``, ``validation_outcome``, ``links``), ``older`` (pass it as
    ``before`` to :func:`versions_page` for the next page; None when none is left),
    ``chart_metric``, ``drift`` (oldest first) and ``link``.

    :raises ConfigError: a name that cannot be a registered model name, a bad ``limit``, or a
        tracking URL that is not http(s).
    :raises RegistryError: the model does not exist, or MLflow refused or is unreachable.
    """
    _check_name(name)
    check_page_size(limit)
    rest = MlflowRest(tracking_uri)
    with ThreadPoolExecutor(_CALLS) as pool:
        drift = pool.submit(_drift_history, rest, name, links)
        experiment_ids = pool.submit(_experiment_ids, rest, name)
        newest = pool.submit(_search_versions, rest, name, None, limit)
        aliases = _aliases(rest, name)
        page = newest.result().get("model_versions", [])
        listed = {str(v["version"]) for v in page}
        outside = {aliases[a] for a in (CHAMPION, CHALLENGER) if a in aliases} - listed

        def alias_view(number: str) -> list[dict[str, Any]]:
            found = _search_versions(rest, name, f"version_number = {number}", 1)
            return _views(rest, found.get("model_versions", []), aliases, experiment_ids, links)

        apart = [pool.submit(alias_view, n) for n in sorted(outside) if n.isdigit()]
        views = _views(rest, page, aliases, experiment_ids, links)
        index = {view["version"]: view for view in views}
        index.update({view["version"]: view for f in apart for view in f.result()})
        return {
            "name": name,
            "aliases": aliases,
            "champion": index.get(aliases.get(CHAMPION, "")),
            "challenger": index.get(aliases.get(CHALLENGER, "")),
            "versions": views,
            "older": _older(newest.result()),
            "chart_metric": _chart_metric(views),
            "drift": drift.result(),
            "link": links.model(name),
        }


def _older(page: dict[str, Any]) -> int | None:
    """The ``before`` of the page after ``page``, or None when ``page`` is the last."""
    versions = page.get("model_versions", [])
    return int(versions[-1]["version"]) if page.get("next_page_token") and versions else None


def versions_page(
    tracking_uri: str, name: str, links: LinkBuilder, before: int, limit: int = VERSIONS_PAGE
) -> dict[str, Any]:
    """Up to ``limit`` versions older than version ``before``, newest first.

    Keys: ``name``, ``versions`` (as in :func:`model_view`) and ``older`` (the next page's
    ``before``, or None). Pages are cut by version number, so registrations made while the
    page reads older versions neither repeat nor skip a version.

    :raises ConfigError: as :func:`model_view`.
    :raises RegistryError: the model does not exist, or MLflow refused or is unreachable.
    """
    _check_name(name)
    check_page_size(limit)
    rest = MlflowRest(tracking_uri)
    clause = f"version_number < {int(before)}"
    with ThreadPoolExecutor(_CALLS) as pool:
        experiment_ids = pool.submit(_experiment_ids, rest, name)
        older = pool.submit(_search_versions, rest, name, clause, limit)
        aliases = _aliases(rest, name)
        page = older.result()
        versions = page.get("model_versions", [])
        return {
            "name": name,
            "versions": _views(rest, versions, aliases, experiment_ids, links),
            "older": _older(page),
        }


class TtlCache:
    """A small thread-safe cache of computed values that expire after ``ttl_s`` seconds.

    :param ttl_s: how long a value is served before it is computed again (0 disables caching).
    :param max_entries: the oldest entry is dropped beyond this many.
    """

    def __init__(self, ttl_s: float, max_entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._values: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing and storing it when missing or expired."""
        now = time.monotonic()
        with self._lock:
            hit = self._values.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        value = compute()
        with self._lock:
            self._values[key] = (time.monotonic(), value)
            while len(self._values) > self.max_entries:
                self._values.pop(next(iter(self._values)))
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
