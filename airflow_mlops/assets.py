"""Names of the Airflow assets that connect the pipelines, and the extras their events carry.

Plain strings here (the core imports no Airflow); the DAGs and operators wrap them in
``airflow.sdk.Asset``. Event extras always carry ``reason``, one of :data:`TRIGGER_REASONS`,
so the CT run they start can record why it ran.
"""

from __future__ import annotations

#: Airflow's prefix for custom schemes: an ``x-`` URI is neither validated nor normalised, so
#: creating one does not load every provider's URI handlers (with the amazon provider, boto3:
#: ~180 ms in each DAG file's parse)
ASSET_SCHEME = "x-mlops"

#: why a CT run started: the five triggers of the level-1 trigger policy
TRIGGER_REASONS = ("manual", "schedule", "new_data", "drift", "performance")


def data_asset_uri(dataset: str) -> str:
    """The asset updated when a new version of ``dataset`` arrives.

    Event extra: ``{"reason": "new_data", "dataset", "rev", "commit", "md5"}``.
    """
    return f"{ASSET_SCHEME}://data/{dataset}"


def drift_asset_uri(model: str) -> str:
    """The asset updated when monitoring finds data or prediction drift for ``model``.

    Event extra: ``{"reason": "drift", "model", "window", "drift_share"}``.
    """
    return f"{ASSET_SCHEME}://drift/{model}"


def performance_asset_uri(model: str) -> str:
    """The asset updated when monitoring finds that ``model``'s live metric dropped below its
    holdout metric (a separate asset from drift, so each trigger can be switched on its own).

    Event extra: ``{"reason": "performance", "model", "window", "metric", "holdout", "live",
    "drop"}``.
    """
    return f"{ASSET_SCHEME}://performance/{model}"


def monitoring_asset_uri(reason: str, model: str) -> str:
    """The asset a monitoring verdict with ``reason`` ("drift" or "performance") updates."""
    return performance_asset_uri(model) if reason == "performance" else drift_asset_uri(model)


def model_asset_uri(model: str) -> str:
    """The asset updated when a CT run finishes for ``model`` (promoted or not).

    Event extra: ``{"model", "version", "promoted", "champion_version"}``.
    """
    return f"{ASSET_SCHEME}://model/{model}"
