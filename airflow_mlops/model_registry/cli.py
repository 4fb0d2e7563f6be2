"""``airflow-mlops rollback --model NAME [--to-version N]``: point ``champion`` back at an
earlier champion (the one before the current by default; a second call goes further back).

Wired into the main parser with :func:`add_rollback_parser`; the main CLI prints any
:class:`~airflow_mlops.errors.MlopsError` and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from airflow_mlops.errors import ConfigError


def add_rollback_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``rollback`` sub-command to ``sub`` (an argparse sub-parsers object)."""
    parser = sub.add_parser(
        "rollback",
        help="point a model's champion alias back at an earlier champion (each call goes one "
        "further back)",
    )
    parser.add_argument("--model", required=True, help="registered model name")
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URL (default: $MLFLOW_TRACKING_URI, else the local demo's "
        "http://127.0.0.1:<--mlflow-port>)",
    )
    parser.add_argument(
        "--to-version",
        default=None,
        help="roll back to this earlier champion (default: the one before the current)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="print the champion history (oldest first) and change nothing",
    )
    parser.add_argument(
        "--expected-champion",
        default=None,
        help="only roll back if the champion is still this version",
    )
    parser.set_defaults(func=rollback_command)
    return parser


def _tracking_uri(args: argparse.Namespace) -> str:
    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    port = getattr(args, "mlflow_port", None)
    if port:
        return f"http://127.0.0.1:{port}"
    raise ConfigError(
        "No MLflow tracking URL.", hint="Pass --tracking-uri or set MLFLOW_TRACKING_URI."
    )


def rollback_command(args: argparse.Namespace) -> int:
    """Run the rollback and print where the aliases point now (JSON); returns 0."""
    from airflow_mlops.model_registry.promote import champion_history, rollback

    if args.list:
        print(
            json.dumps(
                {"name": args.model, "history": champion_history(_tracking_uri(args), args.model)}
            )
        )
        return 0
    move = rollback(
        _tracking_uri(args),
        args.model,
        to_version=args.to_version,
        expected_champion=args.expected_champion,
    )
    if move.already:
        print(f"{move.name}: already rolled back; champion is version {move.champion}.")
    else:
        print(f"{move.name}: champion moved from version {move.moved_from} to {move.champion}.")
    print(json.dumps(move.to_dict(), sort_keys=True))
    return 0
