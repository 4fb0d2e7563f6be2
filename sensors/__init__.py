"""Airflow sensors and triggers that start pipelines when data arrives.

The public classes import from here (``from airflow_mlops.sensors import DvcDataVersionSensor``);
each loads its module on first use, so importing this package stays cheap at DAG parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_mlops.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_mlops.sensors.data import (
        DvcDataVersionSensor,
        DvcNewVersionEventTrigger,
        DvcNewVersionTrigger,
        DvcSensorError,
    )

#: public name -> the submodule that defines it
_HOMES = {
    "DvcDataVersionSensor": "data",
    "DvcNewVersionEventTrigger": "data",
    "DvcNewVersionTrigger": "data",
    "DvcSensorError": "data",
}

__all__ = [
    "DvcDataVersionSensor",
    "DvcNewVersionEventTrigger",
    "DvcNewVersionTrigger",
    "DvcSensorError",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
