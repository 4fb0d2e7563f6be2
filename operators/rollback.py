"""RollbackChampionOperator: point ``champion`` back at an earlier champion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_mlops.errors import MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import check_name, check_version, rule
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.mlflow_base import MlflowOperator, PromotionError

if TYPE_CHECKING:
    from airflow.sdk import Context


class RollbackChampionOperator(MlflowOperator):
    """Point ``champion`` back at an earlier champion of the champion history: the one before
    the current, or ``to_version``; each run goes one further back.

    XCom: ``{"name", "champion", "previous", "moved_from", "already"}``; a retry of this task
    instance after its rollback happened returns it with ``already=True``.

    :param model_name: the registered model. (templated)
    :param to_version: roll back to this earlier champion (None: the one before). (templated)
    :param expected_champion: fail unless the champion is this version (None: any). (templated)
    :param mlflow_conn_id: the Airflow connection of the MLflow server.
    """

    template_fields: Sequence[str] = ("model_name", "to_version", "expected_champion")
    ui_color = "#ffd6d6"
    error_class = PromotionError
    argument_rules = {
        "model_name": check_name,
        "to_version": rule(check_version, allow_blank=True),
        "expected_champion": rule(check_version, allow_blank=True),
        "mlflow_conn_id": check_name,
    }

    def __init__(
        self,
        *,
        model_name: str,
        to_version: str | None = None,
        expected_champion: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.to_version = to_version
        self.expected_champion = expected_champion
        check_arguments(self, self.argument_rules, rendered=False)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.model_registry.promote import rollback

        check_arguments(self, self.argument_rules, rendered=True)
        try:
            move = rollback(
                MlflowHook(self.mlflow_conn_id).get_tracking_uri(),
                self.model_name,
                to_version=str(self.to_version) if self.to_version else None,
                expected_champion=str(self.expected_champion) if self.expected_champion else None,
                request_id=_request_id(context),
            )
        except MlopsError as error:
            raise self.fail(error) from error
        self.log.info("Champion of %s: v%s (was v%s)", move.name, move.champion, move.moved_from)
        return move.to_dict()


def _request_id(context: Context) -> str:
    """This task instance across its tries: a retry finds its own rollback done."""
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{getattr(ti, 'map_index', -1)}"
