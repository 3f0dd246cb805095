"""Airflow triggers of airflow-aml (run by the triggerer while a step is deferred)."""
