"""airflow-mlops: continuous training of ML models on Apache Airflow 3.

The core (this package, minus ``operators``, ``sensors`` and ``plugins``) imports no Airflow
and no heavy library at module level; the Airflow adapters live in the three sub-packages.
"""

__version__ = "0.1.0"
