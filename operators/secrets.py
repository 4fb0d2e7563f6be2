"""Register the secrets found in rendered arguments with Airflow's masker, so that the task
log and the rendered-template view show ``***`` in their place."""

from __future__ import annotations

from airflow_mlops.data.git_source import url_secrets


def mask_url_credentials(url: str) -> None:
    """Mask the password (or http token) that ``url`` carries, if any."""
    from airflow.sdk.log import mask_secret

    for secret in url_secrets(str(url)):
        mask_secret(secret)
