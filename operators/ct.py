"""The CT run's own operators: the first task (run params checked, trigger recorded) and the pull
of the validation reference resolved at run time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Variable
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.ct.config import CTPipelineConfig
from airflow_mlops.ct.identity import code_identity, user_code_path
from airflow_mlops.ct.params import FIELDS, parse_run_params
from airflow_mlops.ct.priority import check_run_id
from airflow_mlops.ct.triggers import classify_trigger
from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.hooks.mlflow import MlflowHook
from airflow_mlops.inputs import check_image, check_name, check_rev, rule
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.data import DvcPullError, DvcPullOperator
from airflow_mlops.operators.exceptions import MlopsTaskError

if TYPE_CHECKING:
    from airflow.sdk import Context


class PrepareCTRunOperator(BaseOperator):
    """First task of a CT run: validate the run params and record which trigger started it.

    A run whose estimate exceeds the config's compute budget is refused here, before any work
    (:class:`~airflow_mlops.ct.budget.ComputeBudget`).

    Returns ``{"trigger", "data_rev", "training", "promote", "image", "code", "python_path",
    "events"}``:
    ``training`` holds the training config fields (the config's
    :meth:`~airflow_mlops.ct.config.CTPipelineConfig.training_params`: label, task, id,
    feature, excluded and categorical columns, model factory and kwargs; plus the run's
    hyper-parameters), ``image`` the training image reference (the Variable set by the level-2
    DAG, or ``local:<version>`` for the local backend) and ``code`` what the CT fingerprint
    and the lineage record of the code (:func:`airflow_mlops.ct.identity.code_identity`: the
    image's content digest, the model code's fingerprint, the pipeline repository's commit);
    ``python_path`` makes the config's ``package_path`` importable for the local backend.

    :param config: the pipeline's config.
    """

    ui_color = "#e8f0fe"

    def __init__(self, *, config: CTPipelineConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def execute(self, context: Context) -> dict[str, Any]:
        run = context["dag_run"]
        extras = [
            event.extra
            for events in context.get("triggering_asset_events", {}).values()
            for event in events
        ]
        supplied = {
            f.name: context["params"][f.name] for f in FIELDS if f.name in context["params"]
        }
        try:
            check_run_id(run.run_id, run.run_type)
            # the conf's own keys too: a misspelt parameter is refused, not silently ignored
            params = parse_run_params({**(run.conf or {}), **supplied})
            trigger = classify_trigger(run.run_type, run.conf, extras, self.config.triggers)
            # an asset event's revision comes from outside the form: same rule as data_rev
            data_rev = check_rev("data_rev", trigger.data_rev or params.data_rev)
            training = {**self.config.training_params(), **params.training_params()}
            estimate = self.config.compute_budget.check(training)
            image = self.training_image()
            dag_file = getattr(context["dag"], "fileloc", None)
            code = code_identity(self.config, image, dag_file=dag_file)
            python_path = user_code_path(self.config, dag_file=dag_file)
        except ConfigError as error:
            raise AirflowFailException(f"Run refused before any work: {error}") from error
        except MlopsError as error:  # a service that is down (the Docker engine): retried
            raise MlopsTaskError.from_core(error) from error
        self.log.info(
            "Run started by %s; training on data revision %s with image %s; estimate %s "
            "within the compute budget",
            trigger.reason,
            data_rev,
            image,
            estimate.as_dict(),
        )
        return {
            "trigger": trigger.reason,
            "events": trigger.events,
            "data_rev": data_rev,
            "promote": params.promote,
            "image": image,
            "code": code,
            # the local backend's training process imports the user's package from here
            "python_path": os.pathsep.join([*python_path, os.environ.get("PYTHONPATH", "")]),
            # the pipeline's columns, task and model, then this run's hyper-parameters
            "training": training,
        }

    def training_image(self) -> str:
        """The image training will use: config, else the level-2 Variable, else the default."""
        if self.config.backend == "local":
            from airflow_mlops import __version__

            return f"local:airflow-mlops-{__version__}"
        if self.config.training_image:
            return self.config.training_image
        from airflow_mlops.variables import DEFAULT_TRAINING_IMAGE, TRAINING_IMAGE_VARIABLE

        # anyone who may edit Variables sets this one: check it like a configured image
        return check_image(
            f"Variable {TRAINING_IMAGE_VARIABLE}",
            Variable.get(TRAINING_IMAGE_VARIABLE, default=DEFAULT_TRAINING_IMAGE),
        )


class PullReferenceOperator(DvcPullOperator):
    """Pull the data version the validation suite is learned from, chosen when the run starts.

    ``reference_rev`` if given; else the version the current champion was trained on (its
    ``mlops.data_commit`` / ``mlops.data_rev`` lineage); else the registry's first version
    (:func:`airflow_mlops.ct.reference.resolve_reference`). Returns the pull's XCom plus
    ``reference_source`` (``named``, ``champion`` or ``first_version``). The other arguments are
    :class:`~airflow_mlops.operators.data.DvcPullOperator`'s (``rev`` is chosen here).

    :param model_name: the registered model whose champion's lineage names the version.
        (templated)
    :param reference_rev: a named revision that wins over the lineage, or None. (templated)
    :param mlflow_conn_id: the Airflow connection of the MLflow server.
    :param mirrors_dir: where bare git mirrors of registries are kept; default
        ``$AIRFLOW_MLOPS_HOME/git-mirrors``.
    """

    template_fields: Sequence[str] = (
        *DvcPullOperator.template_fields,
        "model_name",
        "reference_rev",
    )
    #: checked besides the pull's ``argument_rules``
    reference_rules = {
        "model_name": check_name,
        "reference_rev": rule(check_rev, allow_none=True),
        "mlflow_conn_id": check_name,
    }

    def __init__(
        self,
        *,
        model_name: str,
        reference_rev: str | None = None,
        mlflow_conn_id: str = "mlflow_default",
        mirrors_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.reference_rev = reference_rev
        self.mlflow_conn_id = mlflow_conn_id
        self.mirrors_dir = mirrors_dir
        check_arguments(self, self.reference_rules, rendered=False)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.ct.reference import resolve_reference
        from airflow_mlops.sensors.data import default_mirrors_dir

        check_arguments(self, self.reference_rules, rendered=True)
        targets = [self.targets] if isinstance(self.targets, str) else list(self.targets)
        try:
            reference = resolve_reference(
                self.reference_rev or None,
                tracking_uri=MlflowHook(self.mlflow_conn_id).get_tracking_uri(),
                model_name=str(self.model_name),
                registry=str(self.registry),
                target=targets[0],
                mirrors_dir=self.mirrors_dir or default_mirrors_dir(),
            )
        except MlopsError as error:
            raise DvcPullError.from_core(error) from error
        self.log.info("Validation reference: %s (%s)", reference.rev, reference.source)
        self.rev = reference.rev
        return {**super().execute(context), "reference_source": reference.source}
