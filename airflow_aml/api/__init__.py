"""airflow-aml api."""
