"""The rollback sub-command's parser (the rollback itself is tested against MLflow)."""

from __future__ import annotations

import argparse

import pytest

from airflow_mlops.errors import ConfigError
from airflow_mlops.model_registry.cli import add_rollback_parser, rollback_command


def test_rollback_parser_and_missing_tracking_uri(monkeypatch):
    parser = argparse.ArgumentParser()
    add_rollback_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["rollback", "--model", "cancer", "--expected-champion", "3"])
    assert (args.model, args.expected_champion, args.func) == ("cancer", "3", rollback_command)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ConfigError, match="No MLflow tracking URL"):
        rollback_command(args)
