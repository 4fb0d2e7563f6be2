"""airflow-mlops: continuous training of ML models on Apache Airflow 3.

The core (this package, minus ``operators``, ``sensors``, ``hooks`` and ``plugins``) imports no
Airflow and no heavy library at module level; the Airflow adapters live in those sub-packages.
See docs/architecture.md for the layers and the contracts between them.
"""

from airflow_mlops import moved as _moved

__version__ = "0.1.0"

_moved.install()
