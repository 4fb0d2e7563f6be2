"""The API's settings from Airflow config: the hosts that links from MLflow tags may reach."""

from __future__ import annotations

import pytest


def test_link_hosts_come_from_airflow_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_mlops.plugins.api import _link_hosts

    monkeypatch.delenv("AIRFLOW__MLOPS__UI_LINK_HOSTS", raising=False)
    assert _link_hosts() == ()
    monkeypatch.setenv(
        "AIRFLOW__MLOPS__UI_LINK_HOSTS", " https://console.example , https://minio.local:9001,"
    )
    assert _link_hosts() == ("https://console.example", "https://minio.local:9001")
