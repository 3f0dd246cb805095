"""airflow-aml sensors."""
