"""The data behind the MLOps page: models, versions, lineage, gate decisions and drift history.

One job per module: ``reads`` reads MLflow's REST API, ``rows`` builds the page's rows from
its JSON, ``views`` answers the plugin's API (checks, concurrent reads, paging), ``timeline``
says what came of each CT run (from what the plugin reads in Airflow's database), ``links``
keeps links safe and ``cache`` reuses answers for a few seconds.

A model view holds the model's newest versions (a page of ``VERSIONS_PAGE``) plus its champion
and challenger; older versions come in further pages (:func:`versions_page`), cut by version
number. Reading every version at once is what does not scale: MLflow's server spends about
1 ms per version with its tags. Each answer costs a fixed number of calls whatever the
registry's size, the independent ones in flight together: registered-models/search (aliases),
model-versions/search for the page (plus at most two for a champion or challenger older than
it), experiments/search for ``ct/<model>`` and one runs/search in it per 100 versions
(metrics; versions whose run is elsewhere cost one search of every experiment), and for the
view experiments/search and runs/search on ``monitoring/<model>`` (``drift_share``). The calls go
through :class:`~airflow_mlops.mlflow_rest.MlflowRest`, so the api-server never imports mlflow.

The result is plain JSON for the plugin's API. Links are built only from ``http(s)`` URLs or
from path segments quoted here, so the page never receives a ``javascript:`` href.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_mlops.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_mlops.dashboard.cache import TtlCache
    from airflow_mlops.dashboard.links import LinkBuilder, safe_href
    from airflow_mlops.dashboard.views import (
        VERSIONS_PAGE,
        check_name,
        check_page_size,
        list_models,
        model_view,
        versions_page,
    )
    from airflow_mlops.errors import ModelNotFoundError

#: public name -> the module that defines it (loaded on first use: the operators' extra links
#: import ``dashboard.links`` at DAG parse time, which must not load the API's views)
_HOMES = {
    "VERSIONS_PAGE": "views",
    "LinkBuilder": "links",
    "ModelNotFoundError": "airflow_mlops.errors",
    "TtlCache": "cache",
    "check_name": "views",
    "check_page_size": "views",
    "list_models": "views",
    "model_view": "views",
    "safe_href": "links",
    "versions_page": "views",
}

__all__ = [
    "VERSIONS_PAGE",
    "LinkBuilder",
    "ModelNotFoundError",
    "TtlCache",
    "check_name",
    "check_page_size",
    "list_models",
    "model_view",
    "safe_href",
    "versions_page",
]

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
