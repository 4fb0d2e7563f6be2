"""The data behind the MLOps page: models, versions, lineage, gate decisions and drift history.

A model view holds the model's newest versions (a page of ``VERSIONS_PAGE``) plus its champion
and challenger; older versions come in further pages (:func:`versions_page`), cut by version
number. Each answer costs a fixed number of MLflow calls whatever the registry's size: one
``search_registered_models`` (aliases), one ``search_model_versions`` for the page (plus at most
two for a champion or challenger older than it), ``search_experiments`` and one ``search_runs``
per 100 versions (the runs' metrics), and for the view one ``search_runs`` on the
``monitoring/<model>`` experiment (``drift_share`` per monitoring run). Reading every version
at once is what does not scale: MLflow's server spends about 1 ms per version with its tags.
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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ConfigError, RegistryError

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: lineage tags on model versions (contract 5), without their ``mlops.`` prefix
LINEAGE_KEYS = (
    "dataset",
    "data_rev",
    "data_commit",
    "data_md5",
    "git_sha",
    "image_digest",
    "validation_outcome",
    "dag_id",
    "run_id",
    "trigger",
    "fingerprint",
    "parity_max_abs",
    "latency_p50_ms_b1",
    "gate_decision",
)
TAG_PREFIX = "mlops."
DATA_DOCS_TAG = "mlops.data_docs_uri"
REPORT_TAG = "mlops.report_uri"
#: monitoring runs log this metric in the experiment ``monitoring/<model>``, tagged mlops.model
DRIFT_METRIC = "drift_share"
MODEL_TAG = "mlops.model"
CHAMPION, CHALLENGER = "champion", "challenger"
#: metrics preferred for the history chart, in order
CHART_METRICS = ("val_accuracy", "val_rmse", "val_loss")
_RUN_BATCH = 100
_RUN_ID = re.compile(r"[0-9A-Za-z_-]+")
_PAGE = 1000
#: versions per answer: the newest page comes with the model view, older ones on request
VERSIONS_PAGE = 100


class ModelNotFoundError(RegistryError):
    """The registry has no model of that name."""


def monitoring_experiment(model: str) -> str:
    """The MLflow experiment where monitoring logs ``drift_share`` for ``model``."""
    return f"monitoring/{model}"


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


def _client(tracking_uri: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _registry_call(what: str, tracking_uri: str, call: Callable[[], Any]) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return call()
    except MlflowException as error:
        raise RegistryError(
            f"MLflow at {tracking_uri} refused to {what}: {error.message}",
            hint="Check the mlflow_default connection (or MLFLOW_TRACKING_URI) and the server log.",
        ) from error
    except OSError as error:
        raise RegistryError(
            f"MLflow at {tracking_uri} is unreachable while trying to {what}: {error}",
            hint="Start the tracking server or fix the mlflow_default connection.",
        ) from error


def _paged(fetch: Callable[[str | None], Any]) -> list[Any]:
    items: list[Any] = []
    token: str | None = None
    while True:
        page = fetch(token)
        items.extend(page)
        token = page.token
        if not token:
            return items


def _runs_by_id(client: MlflowClient, tracking_uri: str, run_ids: Iterable[str]) -> dict[str, Any]:
    """The runs with these ids, fetched in batches of ``_RUN_BATCH`` with ``IN`` filters."""
    ids = sorted({r for r in run_ids if r and _RUN_ID.fullmatch(r)})

    def fetch() -> dict[str, Any]:
        experiments = _paged(lambda t: client.search_experiments(max_results=_PAGE, page_token=t))
        experiment_ids = [e.experiment_id for e in experiments]
        runs: dict[str, Any] = {}
        for start in range(0, len(ids), _RUN_BATCH):
            chunk = ids[start : start + _RUN_BATCH]
            listed = ", ".join(f"'{r}'" for r in chunk)
            found = client.search_runs(
                experiment_ids,
                filter_string=f"attributes.run_id IN ({listed})",
                max_results=len(chunk),
            )
            runs.update({run.info.run_id: run for run in found})
        return runs

    return _registry_call("search the versions' runs", tracking_uri, fetch) if ids else {}


def _version_view(version: Any, aliases: list[str], run: Any, links: LinkBuilder) -> dict[str, Any]:
    tags: dict[str, str] = dict(version.tags or {})
    lineage = {key: tags.get(TAG_PREFIX + key) for key in LINEAGE_KEYS}
    lineage["params"] = _json_or_raw(tags.get("mlops.params"))
    experiment_id = run.info.experiment_id if run is not None else None
    run_tags = dict(run.data.tags) if run is not None else {}
    run_params = dict(run.data.params) if run is not None else {}
    data_docs = tags.get(DATA_DOCS_TAG) or run_tags.get(DATA_DOCS_TAG)
    report = tags.get(REPORT_TAG) or run_tags.get(REPORT_TAG) or run_params.get(REPORT_TAG)
    reasons = _json_or_raw(tags.get("mlops.gate_reasons"))
    return {
        "version": str(version.version),
        "aliases": sorted(aliases),
        "status": version.status,
        "created_at": _iso(version.creation_timestamp),
        "created_ms": version.creation_timestamp,
        "run_id": version.run_id,
        "metrics": dict(run.data.metrics) if run is not None else {},
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
            "run": links.run(experiment_id, version.run_id),
            "version": links.model_version(version.name, str(version.version)),
            "dag_run": links.dag_run(lineage["dag_id"], lineage["run_id"]),
            "data_docs": safe_href(data_docs),
            "report": safe_href(report),
        },
    }


def _drift_history(
    client: MlflowClient, tracking_uri: str, name: str, links: LinkBuilder
) -> list[dict[str, Any]]:
    experiment = _registry_call(
        "read the monitoring experiment",
        tracking_uri,
        lambda: client.get_experiment_by_name(monitoring_experiment(name)),
    )
    if experiment is None:
        return []
    runs = _registry_call(
        "search monitoring runs",
        tracking_uri,
        lambda: _paged(
            lambda t: client.search_runs(
                [experiment.experiment_id],
                filter_string=f"tags.`{MODEL_TAG}` = '{name}'",
                order_by=["attributes.start_time ASC"],
                max_results=_PAGE,
                page_token=t,
            )
        ),
    )
    history = []
    for run in runs:
        share = run.data.metrics.get(DRIFT_METRIC)
        if share is None:
            continue
        report = run.data.tags.get(REPORT_TAG) or run.data.params.get(REPORT_TAG)
        history.append(
            {
                "time": _iso(run.info.start_time),
                "time_ms": run.info.start_time,
                "drift_share": share,
                "run_id": run.info.run_id,
                "report_uri": report,
                "links": {
                    "run": links.run(run.info.experiment_id, run.info.run_id),
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

    :raises RegistryError: MLflow refused or is unreachable.
    """
    client = _client(tracking_uri)
    models = _registry_call(
        "list registered models",
        tracking_uri,
        lambda: _paged(lambda t: client.search_registered_models(max_results=_PAGE, page_token=t)),
    )
    return {
        "models": [
            {
                "name": model.name,
                "description": model.description or "",
                "aliases": {alias: str(v) for alias, v in (model.aliases or {}).items()},
                "latest_version": max(
                    (str(v.version) for v in model.latest_versions or []), key=int, default=None
                ),
                "updated_at": _iso(model.last_updated_timestamp),
                "link": links.model(model.name),
            }
            for model in sorted(models, key=lambda m: m.name)
        ]
    }


def _aliases(client: MlflowClient, tracking_uri: str, name: str) -> dict[str, str]:
    """The model's aliases (alias -> version).

    :raises ModelNotFoundError: the registry has no model ``name``.
    """
    found = _registry_call(
        "read the registered model",
        tracking_uri,
        lambda: client.search_registered_models(filter_string=f"name = '{name}'", max_results=1),
    )
    if not found:
        raise ModelNotFoundError(
            f"No registered model named {name!r} in MLflow at {tracking_uri}.",
            hint="Pick a model from /mlops/api/models; it appears once a CT run registers it.",
        )
    return {alias: str(v) for alias, v in (found[0].aliases or {}).items()}


def _search_versions(
    client: MlflowClient, tracking_uri: str, name: str, clause: str | None, limit: int
) -> Any:
    """Versions of ``name`` matching ``clause`` (on ``version_number``), newest first."""
    condition = f"name = '{name}'" + (f" AND {clause}" if clause else "")
    return _registry_call(
        "search model versions",
        tracking_uri,
        lambda: client.search_model_versions(
            filter_string=condition,
            max_results=limit,
            order_by=["version_number DESC"],
        ),
    )


def _views(
    client: MlflowClient,
    tracking_uri: str,
    versions: list[Any],
    aliases: dict[str, str],
    links: LinkBuilder,
) -> list[dict[str, Any]]:
    """Views of ``versions`` (in their order), with their runs' metrics from batched searches."""
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    runs = _runs_by_id(client, tracking_uri, (v.run_id for v in versions))
    return [
        _version_view(v, by_version.get(str(v.version), []), runs.get(v.run_id), links)
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

    :raises ConfigError: the name cannot be a registered model name, or a bad ``limit``.
    :raises RegistryError: the model does not exist, or MLflow refused or is unreachable.
    """
    _check_name(name)
    check_page_size(limit)
    client = _client(tracking_uri)
    aliases = _aliases(client, tracking_uri, name)
    page = _search_versions(client, tracking_uri, name, None, limit)
    listed = {str(v.version) for v in page}
    outside = sorted({aliases[a] for a in (CHAMPION, CHALLENGER) if a in aliases} - listed)
    extra = [
        v
        for number in outside
        if number.isdigit()
        for v in _search_versions(client, tracking_uri, name, f"version_number = {number}", 1)
    ]
    views = _views(client, tracking_uri, [*page, *extra], aliases, links)
    index = {view["version"]: view for view in views}
    newest = views[: len(page)]
    return {
        "name": name,
        "aliases": aliases,
        "champion": index.get(aliases.get(CHAMPION, "")),
        "challenger": index.get(aliases.get(CHALLENGER, "")),
        "versions": newest,
        "older": _older(page),
        "chart_metric": _chart_metric(newest),
        "drift": _drift_history(client, tracking_uri, name, links),
        "link": links.model(name),
    }


def _older(page: Any) -> int | None:
    """The ``before`` of the page after ``page``, or None when ``page`` is the last."""
    return int(page[-1].version) if page.token and len(page) else None


def versions_page(
    tracking_uri: str, name: str, links: LinkBuilder, before: int, limit: int = VERSIONS_PAGE
) -> dict[str, Any]:
    """Up to ``limit`` versions older than version ``before``, newest first.

    Keys: ``name``, ``versions`` (as in :func:`model_view`) and ``older`` (the next page's
    ``before``, or None). Pages are cut by version number, so registrations made while the
    page reads older versions neither repeat nor skip a version.

    :raises ConfigError: the name cannot be a registered model name, or a bad ``limit``.
    :raises RegistryError: the model does not exist, or MLflow refused or is unreachable.
    """
    _check_name(name)
    check_page_size(limit)
    client = _client(tracking_uri)
    aliases = _aliases(client, tracking_uri, name)
    page = _search_versions(client, tracking_uri, name, f"version_number < {int(before)}", limit)
    return {
        "name": name,
        "versions": _views(client, tracking_uri, list(page), aliases, links),
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
