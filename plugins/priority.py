"""The priority weight strategy of training tasks: automatic runs before manual ones
(:func:`airflow_mlops.ct.priority.trigger_weight`). The plugin registers it, as Airflow requires
for a custom ``weight_rule``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.task.priority_strategy import PriorityWeightStrategy

from airflow_mlops.ct.priority import trigger_weight

if TYPE_CHECKING:
    from airflow.models.taskinstance import TaskInstance


class TriggerPriority(PriorityWeightStrategy):
    """Weight a task by the trigger of its run: the schedule's and asset events' runs first."""

    def get_weight(self, ti: TaskInstance) -> int:
        return trigger_weight(ti.run_id)
