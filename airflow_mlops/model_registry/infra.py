"""The infra blessing: the challenger loads and scores in the clean serving runtime like at
export, within the gate's latency and throughput budget (TFX's InfraValidator); promotion needs
it beside the evaluation blessing, as TFX's Pusher does.

The result is tagged on the version (``mlops.infra_blessing``, JSON) and its checks join the
gate decision, so the report and the reasons show it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import ServingError
from airflow_mlops.lineage import INFRA_BLESSING_TAG
from airflow_mlops.model_registry.client import ModelVersionRef, mlflow_client, registry_call
from airflow_mlops.model_registry.gate import GateConfig, GateDecision, _check, _reason

if TYPE_CHECKING:
    import pandas as pd


def infra_checks(
    python: str | Path, onnx_path: str | Path, holdout: pd.DataFrame, config: GateConfig
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The gate checks of the serving runtime and what it measured.

    A model the runtime cannot load or score fails the first check; a missing runtime is an
    error (nothing is judged without it).

    :raises ServingError: ``python`` does not exist.
    """
    from airflow_mlops.serving.check import check_serving

    if not Path(python).exists():
        check_serving(python, onnx_path, holdout)  # raises the missing-runtime error
    name = "serving runtime scores the holdout like the export"
    try:
        result = check_serving(python, onnx_path, holdout, batch=config.serving_batch)
    except ServingError as error:
        return [_check(name, "failed", "loads and scores", False) | {"reason": error.message}], {
            "error": error.message
        }
    measured = result.to_dict()
    clean = "" if result.clean else " (torch or Airflow importable: not a clean runtime)"
    checks = [
        _check(name + clean, result.max_abs, "parity tolerance", result.parity_ok and result.clean)
    ]
    if config.max_serving_p99_ms is not None:
        checks.append(
            _check(
                "serving p99 latency at batch 1 (ms)",
                result.p99_ms,
                config.max_serving_p99_ms,
                result.p99_ms <= config.max_serving_p99_ms,
            )
        )
    if config.min_serving_rows_per_s is not None:
        checks.append(
            _check(
                f"serving rows/s at batch {result.batch}",
                result.rows_per_s,
                config.min_serving_rows_per_s,
                result.rows_per_s >= config.min_serving_rows_per_s,
            )
        )
    return checks, measured


def with_infra(decision: GateDecision, checks: list[dict[str, Any]]) -> GateDecision:
    """The gate decision with the infra checks: accepted only when both bless the model."""
    failed = [c for c in checks if not c["passed"]]
    accepted = decision.accepted and not failed
    reasons = [_reason(c) for c in failed] if decision.accepted and failed else decision.reasons
    return GateDecision(accepted=accepted, reasons=reasons, checks=decision.checks + checks)


def tag_infra(
    tracking_uri: str, ref: ModelVersionRef, checks: list[dict[str, Any]], measured: dict
) -> dict[str, Any]:
    """Tag ``ref`` with the infra blessing; returns what was tagged."""
    blessing = {"blessed": all(c["passed"] for c in checks), **measured}
    client = mlflow_client(tracking_uri)
    registry_call(
        f"tag {ref.name} v{ref.version} with the infra blessing",
        tracking_uri,
        lambda: client.set_model_version_tag(
            ref.name, ref.version, INFRA_BLESSING_TAG, json.dumps(blessing)
        ),
    )
    return blessing
