"""The pipeline's own tests, run inside the training image before it is deployed (level 2).

``python -m airflow_mlops.training.selftest --data TABLE --label COLUMN --output DIR``

Checks, on a small sample of real data: a smoke training whose training loss falls and stays
finite; a few-record overfit (the model must be able to learn at all); that every artifact a
later step needs is written and loads safely; that the same seed gives the same model. Writes
``selftest.json`` (each check, passed or not, with numbers) to DIR and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_mlops.artifacts import atomic_write_json

REPORT = "selftest.json"
ARTIFACTS = ("model.pt", "metrics.json", "config.json")


@dataclass(frozen=True)
class Check:
    """One self-test: its name, whether it passed, and what was measured."""

    name: str
    passed: bool
    detail: dict[str, Any]


def _quiet(_: str) -> None:
    """Progress lines of the inner trainings are not needed in the self-test's log."""


def run_selftest(data: str | Path, label: str, output: str | Path, rows: int = 256) -> list[Check]:
    """Run every check on up to ``rows`` rows of ``data``; artifacts go under ``output``."""
    from airflow_mlops.data.io import read_table
    from airflow_mlops.training.checkpoint import load_checkpoint
    from airflow_mlops.training.config import TrainingConfig
    from airflow_mlops.training.loop import train

    frame = read_table(data)
    sample = frame.sample(n=min(rows, len(frame)), random_state=0).reset_index(drop=True)
    out = Path(output)
    smoke_config = TrainingConfig(label=label, max_epochs=8, patience=100, seed=7)

    def smoke() -> Check:
        history = train(sample, smoke_config, out / "smoke", log=_quiet)["history"]
        losses = [epoch["train_loss"] for epoch in history]
        finite = all(math.isfinite(loss) for loss in losses)
        return Check(
            "smoke_training_loss_falls",
            finite and losses[-1] < losses[0],
            {"first_loss": losses[0], "last_loss": losses[-1], "finite": finite},
        )

    def overfit() -> Check:
        few = sample.groupby(label, group_keys=False).head(8).reset_index(drop=True)
        config = TrainingConfig(
            label=label,
            max_epochs=300,
            patience=300,
            dropout=0.0,
            weight_decay=0.0,
            learning_rate=0.01,
            batch_size=len(few),
            val_fraction=0.25,
            seed=7,
        )
        history = train(few, config, out / "overfit", log=_quiet)["history"]
        final = history[-1]["train_loss"]
        return Check(
            "overfits_a_few_records", final < 0.05, {"final_train_loss": final, "rows": len(few)}
        )

    def artifacts() -> Check:
        missing = [name for name in ARTIFACTS if not (out / "smoke" / name).is_file()]
        loaded = not missing and load_checkpoint(out / "smoke").build_model() is not None
        return Check("writes_loadable_artifacts", bool(loaded), {"missing": missing})

    def deterministic() -> Check:
        first = train(sample, smoke_config, out / "repeat", log=_quiet)
        second = json.loads((out / "smoke" / "metrics.json").read_text())
        same = second["val_loss"] == first["val_loss"]
        return Check("same_seed_same_model", same, {"val_loss": first["val_loss"]})

    checks: list[Callable[[], Check]] = [smoke, overfit, artifacts, deterministic]
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as error:  # a crashing check is a failed check, with its reason
            results.append(Check(check.__name__, False, {"error": repr(error)}))
    atomic_write_json(out / REPORT, [r.__dict__ for r in results])
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_mlops.training.selftest")
    parser.add_argument("--data", required=True, help="CSV or Parquet table with the label")
    parser.add_argument("--label", required=True, help="the label column")
    parser.add_argument("--output", required=True, help="directory for artifacts and report")
    parser.add_argument("--rows", type=int, default=256, help="rows sampled for the checks")
    args = parser.parse_args(argv)
    results = run_selftest(args.data, args.label, args.output, args.rows)
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'} {result.name} {result.detail}", flush=True)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
