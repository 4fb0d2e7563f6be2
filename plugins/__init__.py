"""The Airflow plugin: UI page, extra links and macros."""
