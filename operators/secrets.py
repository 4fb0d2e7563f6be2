"""Register the secrets found in rendered arguments with Airflow's masker, so that the task
log and the rendered-template view show ``***`` in their place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context


def mask_url_credentials(url: str) -> None:
    """Mask the password (or http token) that ``url`` carries, if any."""
    from airflow.sdk.log import mask_secret

    from airflow_mlops.data.git_source import url_secrets  # not needed at DAG parse

    for secret in url_secrets(str(url)):
        mask_secret(secret)


class MaskRegistryCredentials:
    """Operator mixin: once ``registry`` is rendered, the credentials of its URL are masked,
    before Airflow records the rendered values or anything is logged."""

    registry: str

    def render_template_fields(
        self, context: Context, jinja_env: jinja2.Environment | None = None
    ) -> None:
        super().render_template_fields(context, jinja_env)  # type: ignore[misc]
        mask_url_credentials(self.registry)
