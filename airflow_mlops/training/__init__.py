"""Training core: torch MLP for tabular data, preprocessing, loop, checkpoint, container entrypoint.

Importable without Airflow or torch; torch is imported inside the functions that need it.
``python -m airflow_mlops.training`` is the entrypoint of the training image.
"""
