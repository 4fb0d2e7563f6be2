"""The artifact folder of the running task instance, named by the core's
:func:`~airflow_mlops.artifacts.task_artifact_dir`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_mlops.settings import MlopsHome

if TYPE_CHECKING:
    from airflow.sdk import Context


def context_artifact_dir(
    context: Context, family: str, root: str | os.PathLike[str] | None = None
) -> Path:
    """``<root>/<family>/<dag_id>/<run_id>/<task_id>[/<map_index>]`` of ``context["ti"]``.

    :param context: the task's context.
    :param family: the first folder under ``root`` (``training``, ``onnx``, ...).
    :param root: default ``MlopsHome.from_env().artifacts``.
    """
    from airflow_mlops.artifacts import task_artifact_dir  # not needed at DAG parse

    ti = context["ti"]
    return task_artifact_dir(
        MlopsHome.from_env().artifacts if root is None else root,
        family,
        ti.dag_id,
        ti.run_id,
        ti.task_id,
        ti.map_index,
    )
