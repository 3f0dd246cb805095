from airflow_aml.compiler.loader import dags_from_registry
globals().update(dags_from_registry())
