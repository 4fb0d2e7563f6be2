"""The ``airflow-mlops`` command: run the demo, start and stop the local stack, make demo data."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow_mlops.errors import MlopsError
from airflow_mlops.model_registry.cli import add_rollback_parser
from airflow_mlops.settings import MlopsHome


def _stack_config(args: argparse.Namespace):
    from airflow_mlops.local.stack import StackConfig

    return StackConfig(
        home=MlopsHome(Path(args.home).resolve()) if args.home else MlopsHome.from_env(),
        dags_folder=Path(args.dags_folder).resolve(),
        airflow_port=args.airflow_port,
        mlflow_port=args.mlflow_port,
    )


def cmd_bootstrap_data(args: argparse.Namespace) -> int:
    from airflow_mlops.local.demo.registry import bootstrap_registry

    home = _stack_config(args).home
    registry = bootstrap_registry(home.registry_repo, home.dvc_remote, force=args.force)
    print(f"DVC data registry: {registry.repo} (git tags {', '.join(registry.versions)})")
    print(f"DVC remote:        {registry.remote}")
    print(f"Dataset file:      {registry.dataset_path}")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from airflow_mlops.local import stack

    config = _stack_config(args)
    stack.up(config)
    print(f"Airflow UI:  {config.airflow_url}  (DAGs from {config.dags_folder})")
    print(f"MLflow UI:   {config.mlflow_url}")
    print(f"Data and logs under {config.home.root}; stop with `airflow-mlops down`.")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from airflow_mlops.local import stack

    for name, was_running in stack.down(_stack_config(args)).items():
        print(f"{name}: {'stopped' if was_running else 'was not running'}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from airflow_mlops.local import stack

    for name, state in stack.status(_stack_config(args)).items():
        print(f"{name}: {state}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from airflow_mlops.local.demo.story import run_demo

    return run_demo(_stack_config(args), keep_running=not args.stop)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``airflow-mlops``."""
    parser = argparse.ArgumentParser(
        prog="airflow-mlops",
        description="Continuous training of ML models on Apache Airflow 3.",
    )
    parser.add_argument(
        "--home", help="local home for all data (default: $AIRFLOW_MLOPS_HOME or ./.airflow-mlops)"
    )
    parser.add_argument("--dags-folder", default="dags", help="DAGs folder (default: ./dags)")
    parser.add_argument("--airflow-port", type=int, default=8080)
    parser.add_argument("--mlflow-port", type=int, default=5000)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the level-1 CT story end to end on the demo data")
    demo.add_argument(
        "--stop",
        action="store_true",
        help="stop Airflow and MLflow at the end (default: leave them up to browse the result)",
    )
    demo.set_defaults(func=cmd_demo)
    sub.add_parser("up", help="start Airflow standalone and MLflow").set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop the local services").set_defaults(func=cmd_down)
    sub.add_parser("status", help="show which services run").set_defaults(func=cmd_status)
    add_rollback_parser(sub)
    boot = sub.add_parser("bootstrap-data", help="create the demo DVC data registry")
    boot.add_argument("--force", action="store_true", help="recreate it from scratch")
    boot.set_defaults(func=cmd_bootstrap_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MlopsError as error:
        print(f"airflow-mlops {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
