"""airflow-aml backends."""
