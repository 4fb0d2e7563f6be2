"""The ``airflow-mlops`` command: run the demo, start and stop the local stack, make demo data,
build a training image with a pipeline's model code."""

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
    print(f"Login:       {stack.ADMIN_USER} / {stack.admin_password(config)}  "
          f"(kept in {config.home.airflow_passwords})")  # fmt: skip
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


def load_pipeline_config(path: str):
    """The :class:`~airflow_mlops.ct.config.CTPipelineConfig` at ``"package.module:NAME"``
    (the current directory is importable, as for ``python -m``).

    :raises ConfigError: the path does not import or names no pipeline config.
    """
    import importlib

    from airflow_mlops.ct.config import CTPipelineConfig
    from airflow_mlops.errors import ConfigError

    module_name, _, name = path.partition(":")
    hint = "Give --config as 'package.module:NAME', NAME a CTPipelineConfig in that module."
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(f"--config {path!r}: cannot import it ({error}).", hint=hint) from error
    if not isinstance(found, CTPipelineConfig):
        raise ConfigError(f"--config {path!r} is a {type(found).__name__}.", hint=hint)
    return found


def cmd_build_image(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from airflow_mlops.ct.identity import pipeline_root
    from airflow_mlops.training.image import build_user_image
    from airflow_mlops.variables import DEFAULT_TRAINING_IMAGE

    config = load_pipeline_config(args.config)
    library_image = args.library_image or DEFAULT_TRAINING_IMAGE
    root = Path(args.root) if args.root else pipeline_root(config.pipeline_repo or Path.cwd())
    built = build_user_image(
        config.model, library_image, root=root, tag=args.tag, force=args.force, log=print
    )
    print(json.dumps(asdict(built)))
    print(
        f"Train with it: training_image={built.tag!r} in the config, or the Airflow Variable "
        "mlops_training_image."
    )
    return 0


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
    image = sub.add_parser(
        "build-image",
        help="build a training image FROM the library's with a pipeline's model code installed",
    )
    image.add_argument("--config", required=True, help="the pipeline config, 'package.module:NAME'")
    image.add_argument(
        "--library-image",
        help="the library's training image (default: airflow-mlops-train:latest)",
    )
    image.add_argument(
        "--root", help="the pipeline repository (default: the config's pipeline_repo, else the "
        "git work tree of the current directory)",
    )  # fmt: skip
    image.add_argument("--tag", help="also tag the image with this reference")
    image.add_argument("--force", action="store_true", help="rebuild even if up to date")
    image.set_defaults(func=cmd_build_image)
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
