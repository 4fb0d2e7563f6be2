"""The training entrypoint (also the training image's ENTRYPOINT).

``python -m airflow_mlops.training --data TABLE --output DIR (--params JSON | --config FILE)``

Writes model.pt, config.json and metrics.json into DIR. On failure it writes ``error.json``
(kind, message, hint, traceback) into DIR (or, if it cannot, prints it as the last line of
output after ``airflow-mlops-error: ``), prints the traceback and exits with
:data:`~airflow_mlops.training.container.EXIT_CODES` of the error's kind, so whoever started it
can explain the failure without parsing logs.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from airflow_mlops.artifacts import atomic_write_json
from airflow_mlops.errors import MlopsError
from airflow_mlops.training.container import ERROR_FILE, ERROR_LINE, EXIT_CODES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_mlops.training",
        description="Train a tabular torch model and write its checkpoint and metrics.",
    )
    parser.add_argument("--data", required=True, help="CSV or Parquet table to train on")
    parser.add_argument("--output", required=True, help="directory for model.pt, metrics.json")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--params", help='training params as JSON, e.g. \'{"label": "y"}\'')
    source.add_argument("--config", help="a JSON file with the training params")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one training; returns the process exit code."""
    from airflow_mlops.training.config import TrainingConfig
    from airflow_mlops.training.loop import train_file

    args = _parser().parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / ERROR_FILE).unlink(missing_ok=True)
    try:
        config = (
            TrainingConfig.from_json(args.params)
            if args.params is not None
            else TrainingConfig.from_file(args.config)
        )
        train_file(args.data, config, output)
    except Exception as error:
        kind = type(error).__name__ if isinstance(error, MlopsError) else "crash"
        text = traceback.format_exc()
        print(text, file=sys.stderr, flush=True)
        report = {
            "kind": kind,
            "message": getattr(error, "message", str(error)) or type(error).__name__,
            "hint": getattr(error, "hint", None),
            "details": getattr(error, "details", {}),
            "traceback": text,
        }
        try:
            atomic_write_json(output / ERROR_FILE, report)
        except OSError:  # e.g. the disk is full: the report goes to the output instead
            print(ERROR_LINE + json.dumps(report, default=str), file=sys.stderr, flush=True)
        return EXIT_CODES.get(kind, EXIT_CODES["crash"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
