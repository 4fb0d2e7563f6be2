"""The local stack (Airflow standalone + MLflow), the ``airflow-mlops`` CLI and the demo."""
