"""The answers of the plugin's API: the model list, a model's view and further pages of versions.

Each answer checks its inputs, reads MLflow (:mod:`~airflow_mlops.dashboard.reads`; the
independent reads in flight together) and builds the rows (:mod:`~airflow_mlops.dashboard.rows`).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from airflow_mlops.dashboard import reads
from airflow_mlops.dashboard.links import LinkBuilder
from airflow_mlops.dashboard.rows import (
    alias_map,
    chart_metric,
    drift_point,
    holdout_comparison,
    model_row,
    version_row,
)
from airflow_mlops.errors import ConfigError
from airflow_mlops.lineage import CHALLENGER, CHAMPION
from airflow_mlops.mlflow_rest import MlflowRest

#: versions per answer: the newest page comes with the model view, older ones on request
VERSIONS_PAGE = 100
#: MLflow's largest version number (an int32 column): a larger ``before`` is refused, not sent
MAX_VERSION = 2**31 - 1
#: MLflow calls in flight at once for one answer (the independent reads run concurrently)
_CALLS = 4


def check_name(name: str) -> str:
    """``name`` if it can be a registered model name inside a search filter, else
    :class:`ConfigError`."""
    if not name or "'" in name or "\\" in name or len(name) > 256:
        raise ConfigError(
            f"Invalid model name {name!r}.",
            hint="Use a registered model name without quotes or backslashes (at most 256 chars).",
        )
    return name


def check_page_size(limit: int) -> int:
    """``limit`` if it is a valid number of versions per page, else :class:`ConfigError`."""
    if not 1 <= limit <= reads.PAGE:
        raise ConfigError(
            f"Invalid number of versions per page: {limit!r}.",
            hint=f"Use 1 to {reads.PAGE} (Airflow config [mlops] ui_versions_per_page for the "
            "page).",
        )
    return limit


def check_before(before: int) -> int:
    """``before`` if it can be a version number (1 to :data:`MAX_VERSION`), else
    :class:`ConfigError` (the API's 400): MLflow answers a larger one with an internal error."""
    if isinstance(before, bool) or not isinstance(before, int) or not 1 <= before <= MAX_VERSION:
        raise ConfigError(
            f"Invalid 'before' version number: {before!r}.",
            hint=f"Use a version number from 1 to {MAX_VERSION} (a page's 'older' value).",
        )
    return before


def list_models(tracking_uri: str, links: LinkBuilder) -> dict[str, Any]:
    """Every registered model with its aliases (``champion``, ``challenger``, ...).

    :raises ConfigError: the tracking URL is not http(s).
    :raises RegistryError: MLflow refused or is unreachable.
    """
    models = reads.registered_models(MlflowRest(tracking_uri))
    return {"models": [model_row(m, links) for m in sorted(models, key=lambda m: m["name"])]}


def _rows(
    rest: MlflowRest,
    versions: list[dict[str, Any]],
    aliases: dict[str, str],
    experiment_ids: Future[list[str]],
    links: LinkBuilder,
) -> list[dict[str, Any]]:
    """Rows of ``versions`` (in their order), with their runs' metrics from batched searches."""
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    run_ids = {v.get("run_id") for v in versions}
    ids = experiment_ids.result()
    runs = reads.runs_by_id(rest, ids, run_ids) if ids else {}
    if elsewhere := run_ids - runs.keys() - {None, ""}:  # registered outside CT's experiment
        runs.update(reads.runs_by_id(rest, reads.experiment_ids(rest), elsewhere))
    return [
        version_row(v, by_version.get(str(v["version"]), []), runs.get(v.get("run_id")), links)
        for v in versions
    ]


def _drift_history(rest: MlflowRest, name: str, links: LinkBuilder) -> list[dict[str, Any]]:
    points = (drift_point(run, links) for run in reads.monitoring_runs(rest, name))
    return [point for point in points if point is not None]


def _older(page: dict[str, Any]) -> int | None:
    """The ``before`` of the page after ``page``, or None when ``page`` is the last."""
    versions = page.get("model_versions", [])
    return int(versions[-1]["version"]) if page.get("next_page_token") and versions else None


def model_view(
    tracking_uri: str, name: str, links: LinkBuilder, limit: int = VERSIONS_PAGE
) -> dict[str, Any]:
    """Everything the page shows first for one model: its newest ``limit`` versions.

    Keys: ``name``, ``aliases``, ``champion`` and ``challenger`` (version rows or None, read
    even when older than the page), ``holdout`` (the gate's comparison of both on their common
    holdout, from the challenger's evaluation, else the champion's; None without one:
    :func:`~airflow_mlops.dashboard.rows.holdout_comparison`), ``versions`` (newest first;
    each with ``metrics``, ``internals``, ``lineage``, ``data_commit``, ``gate``,
    ``validation_outcome``, ``links``), ``older`` (pass it as
    ``before`` to :func:`versions_page` for the next page; None when none is left),
    ``chart_metric``, ``drift`` (oldest first) and ``link``.

    :raises ConfigError: a name that cannot be a registered model name, a bad ``limit``, or a
        tracking URL that is not http(s).
    :raises RegistryError: the model does not exist, or MLflow refused or is unreachable.
    """
    check_name(name)
    check_page_size(limit)
    rest = MlflowRest(tracking_uri)
    with ThreadPoolExecutor(_CALLS) as pool:
        drift = pool.submit(_drift_history, rest, name, links)
        experiment_ids = pool.submit(reads.experiment_ids, rest, name)
        newest = pool.submit(reads.search_versions, rest, name, None, limit)
        aliases = alias_map(reads.registered_model(rest, name))
        page = newest.result().get("model_versions", [])
        listed = {str(v["version"]) for v in page}
        outside = {aliases[a] for a in (CHAMPION, CHALLENGER) if a in aliases} - listed

        def alias_rows(number: str) -> list[dict[str, Any]]:
            found = reads.search_versions(rest, name, f"version_number = {number}", 1)
            return _rows(rest, found.get("model_versions", []), aliases, experiment_ids, links)

        apart = [pool.submit(alias_rows, n) for n in sorted(outside) if n.isdigit()]
        rows = _rows(rest, page, aliases, experiment_ids, links)
        index = {row["version"]: row for row in rows}
        index.update({row["version"]: row for f in apart for row in f.result()})
        champion = index.get(aliases.get(CHAMPION, ""))
        challenger = index.get(aliases.get(CHALLENGER, ""))
        judged = challenger or champion
        return {
            "name": name,
            "aliases": aliases,
            "champion": champion,
            "challenger": challenger,
            "holdout": holdout_comparison(
                reads.evaluation(rest, judged["report_uri"]) if judged else None
            ),
            "versions": rows,
            "older": _older(newest.result()),
            "chart_metric": chart_metric(rows),
            "drift": drift.result(),
            "link": links.model(name),
        }


def versions_page(
    tracking_uri: str, name: str, links: LinkBuilder, before: int, limit: int = VERSIONS_PAGE
) -> dict[str, Any]:
    """Up to ``limit`` versions older than version ``before``, newest first.

    Keys: ``name``, ``versions`` (as in :func:`model_view`) and ``older`` (the next page's
    ``before``, or None). Pages are cut by version number, so registrations made while the
    page reads older versions neither repeat nor skip a version.

    :raises ConfigError: as :func:`model_view`, or ``before`` is not a version number.
    :raises RegistryError: the model does not exist, or MLflow refused or is unreachable.
    """
    check_name(name)
    check_page_size(limit)
    rest = MlflowRest(tracking_uri)
    clause = f"version_number < {check_before(before)}"
    with ThreadPoolExecutor(_CALLS) as pool:
        experiment_ids = pool.submit(reads.experiment_ids, rest, name)
        older = pool.submit(reads.search_versions, rest, name, clause, limit)
        aliases = alias_map(reads.registered_model(rest, name))
        page = older.result()
        return {
            "name": name,
            "versions": _rows(rest, page.get("model_versions", []), aliases, experiment_ids, links),
            "older": _older(page),
        }
