"""PrepareCTRunOperator: the first task of every CT run (run params checked, trigger recorded)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Variable
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.ct.config import CTPipelineConfig
from airflow_mlops.ct.params import FIELDS, parse_run_params
from airflow_mlops.ct.triggers import classify_trigger
from airflow_mlops.errors import ConfigError
from airflow_mlops.inputs import check_image, check_rev

if TYPE_CHECKING:
    from airflow.sdk import Context


class PrepareCTRunOperator(BaseOperator):
    """First task of a CT run: validate the run params and record which trigger started it.

    Returns ``{"trigger", "data_rev", "training", "promote", "image", "events"}``: ``training``
    holds the training config fields and ``image`` the training image reference (the Variable
    set by the level-2 DAG, or ``local:<version>`` for the local backend); both enter the CT
    fingerprint.

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
            # the conf's own keys too: a misspelt parameter is refused, not silently ignored
            params = parse_run_params({**(run.conf or {}), **supplied})
            trigger = classify_trigger(run.run_type, run.conf, extras, self.config.triggers)
            # an asset event's revision comes from outside the form: same rule as data_rev
            data_rev = check_rev("data_rev", trigger.data_rev or params.data_rev)
            image = self.training_image()
        except ConfigError as error:
            raise AirflowFailException(f"Run refused before any work: {error}") from error
        self.log.info(
            "Run started by %s; training on data revision %s with image %s",
            trigger.reason,
            data_rev,
            image,
        )
        dataset = self.config.dataset
        return {
            "trigger": trigger.reason,
            "events": trigger.events,
            "data_rev": data_rev,
            "promote": params.promote,
            "image": image,
            "training": {
                "label": dataset.label,
                "task": dataset.task,
                **params.training_params(),
            },
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
