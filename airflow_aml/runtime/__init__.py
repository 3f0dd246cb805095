"""airflow-aml runtime."""
