"""The page's rows, built from MLflow's JSON: a model, a version (lineage, gate, links), a drift
point. Plain functions over dicts, no calls to MLflow."""

from __future__ import annotations

import json
import time
from typing import Any

from airflow_mlops.dashboard.links import LinkBuilder
from airflow_mlops.lineage import (
    DATA_DOCS_TAG,
    GATE_DECISION_TAG,
    GATE_REASONS_TAG,
    HOLDOUT_MD5_TAG,
    HOLDOUT_ROWS_TAG,
    LINEAGE_KEYS,
    PARAMS_TAG,
    REPORT_TAG,
    SPLIT_RULE_TAG,
    lineage_tag,
)
from airflow_mlops.monitoring.history import (
    COLUMN_DRIFTED_PREFIX,
    COLUMN_SCORE_PREFIX,
    DRIFT_SHARE_METRIC,
)

#: metrics preferred for the history chart, in order
CHART_METRICS = ("val_accuracy", "val_rmse", "val_loss")
#: what training logs about itself rather than the model's quality: the page folds these away
INTERNAL_METRICS = frozenset(
    {
        "seed",
        "n_parameters",
        "n_inputs",
        "n_train",
        "n_val",
        "holdout_rows",
        "epochs_run",
        "best_epoch",
        "train_seconds",
        "mixed_precision",
    }
)


def pairs(entity: dict[str, Any], field: str) -> dict[str, Any]:
    """An MLflow JSON list of ``{"key", "value"}`` (tags, params, metrics) as a dict."""
    return {item["key"]: item.get("value") for item in entity.get(field, [])}


def alias_map(model: dict[str, Any]) -> dict[str, str]:
    """The aliases of a registered model (alias -> version)."""
    return {a["alias"]: str(a["version"]) for a in model.get("aliases", [])}


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


def model_row(model: dict[str, Any], links: LinkBuilder) -> dict[str, Any]:
    """A registered model: name, description, aliases, latest version, last update, link."""
    return {
        "name": model["name"],
        "description": model.get("description") or "",
        "aliases": alias_map(model),
        "latest_version": max(
            (str(v["version"]) for v in model.get("latest_versions", [])),
            key=int,
            default=None,
        ),
        "updated_at": _iso(model.get("last_updated_timestamp")),
        "link": links.model(model["name"]),
    }


def version_row(
    version: dict[str, Any], aliases: list[str], run: dict[str, Any] | None, links: LinkBuilder
) -> dict[str, Any]:
    """A model version: its lineage tags (one per :class:`~airflow_mlops.lineage.Lineage` field,
    plus the gate decision), its run's metrics, the gate, and links."""
    tags = pairs(version, "tags")
    lineage = {key: tags.get(lineage_tag(key)) for key in LINEAGE_KEYS if key != "params"}
    lineage["gate_decision"] = tags.get(GATE_DECISION_TAG)
    lineage["params"] = _json_or_raw(tags.get(PARAMS_TAG))
    data = run.get("data", {}) if run is not None else {}
    experiment_id = run["info"].get("experiment_id") if run is not None else None
    run_tags, run_params = pairs(data, "tags"), pairs(data, "params")
    data_docs = tags.get(DATA_DOCS_TAG) or run_tags.get(DATA_DOCS_TAG)
    report = tags.get(REPORT_TAG) or run_tags.get(REPORT_TAG) or run_params.get(REPORT_TAG)
    reasons = _json_or_raw(tags.get(GATE_REASONS_TAG))
    number, run_id = str(version["version"]), version.get("run_id")
    logged = pairs(data, "metrics")
    return {
        "version": number,
        "aliases": sorted(aliases),
        "status": version.get("status"),
        "created_at": _iso(version.get("creation_timestamp")),
        "created_ms": version.get("creation_timestamp"),
        "run_id": run_id,
        "metrics": {k: v for k, v in logged.items() if k not in INTERNAL_METRICS},
        "internals": {k: v for k, v in logged.items() if k in INTERNAL_METRICS},
        "lineage": lineage,
        "data_commit": lineage.get("data_commit"),
        "gate": {
            "decision": lineage["gate_decision"],
            "reasons": reasons if isinstance(reasons, list) else ([reasons] if reasons else []),
            "holdout": {
                "split_rule": _json_or_raw(tags.get(SPLIT_RULE_TAG)),
                "md5": tags.get(HOLDOUT_MD5_TAG),
                "rows": _float_or_none(tags.get(HOLDOUT_ROWS_TAG)),
            },
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
            "data_docs": links.report(data_docs),
            "report": links.report(report),
        },
    }


def drift_point(run: dict[str, Any], links: LinkBuilder) -> dict[str, Any] | None:
    """A monitoring run as a point of the drift history, or None when it logged no
    :data:`~airflow_mlops.monitoring.history.DRIFT_SHARE_METRIC`.

    ``columns`` maps each tested column to its score and whether it drifted (None for runs
    logged before the decision was)."""
    data, info = run.get("data", {}), run["info"]
    metrics = pairs(data, "metrics")
    share = metrics.get(DRIFT_SHARE_METRIC)
    if share is None:
        return None
    columns = {
        key.removeprefix(COLUMN_SCORE_PREFIX): {"score": value, "drifted": None}
        for key, value in metrics.items()
        if key.startswith(COLUMN_SCORE_PREFIX)
    }
    for key, value in metrics.items():
        if key.startswith(COLUMN_DRIFTED_PREFIX):
            column = columns.setdefault(
                key.removeprefix(COLUMN_DRIFTED_PREFIX), {"score": None, "drifted": None}
            )
            column["drifted"] = bool(value)
    report = pairs(data, "tags").get(REPORT_TAG) or pairs(data, "params").get(REPORT_TAG)
    return {
        "time": _iso(info.get("start_time")),
        "time_ms": info.get("start_time"),
        "drift_share": share,
        "columns": dict(sorted(columns.items())),
        "run_id": info["run_id"],
        "report_uri": report,
        "links": {
            "run": links.run(info.get("experiment_id"), info["run_id"]),
            "report": links.report(report),
        },
    }


def holdout_comparison(evaluation: dict[str, Any] | None) -> dict[str, Any] | None:
    """The gate's comparison of champion and challenger on their common holdout, from its
    ``evaluation.json``: the primary metric of both with intervals, their difference, per
    slice; None without an evaluation or without a champion to compare with."""
    if not evaluation:
        return None
    challenger = evaluation.get("challenger") or {}
    champion = evaluation.get("champion") or {}
    paired = challenger.get("paired")
    if not paired:
        return None
    decision = evaluation.get("decision") or {}
    slices = paired.get("slices") or {}
    return {
        "metric": paired.get("metric"),
        "rows": paired.get("rows"),
        "confidence": paired.get("confidence"),
        "resamples": paired.get("resamples"),
        "champion_version": champion.get("version"),
        "challenger_version": challenger.get("version"),
        "champion": paired.get("champion"),
        "challenger": paired.get("challenger"),
        "difference": paired.get("difference"),
        "accepted": decision.get("accepted"),
        "slices": [
            {
                "slice": str(value),
                "rows": part.get("rows"),
                "champion": part.get("champion"),
                "challenger": part.get("challenger"),
                "difference": part.get("difference"),
            }
            for value, part in sorted(slices.items())
        ],
        "holdout": evaluation.get("holdout"),
    }


def chart_metric(versions: list[dict[str, Any]]) -> str | None:
    """The metric the history chart plots: the first of :data:`CHART_METRICS` that a version
    logged, else the alphabetically first metric."""
    keys = {key for v in versions for key in v["metrics"]}
    preferred = [key for key in CHART_METRICS if key in keys]
    if preferred:
        return preferred[0]
    return min(keys) if keys else None
