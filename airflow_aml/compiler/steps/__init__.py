"""Spec builders, one module per step kind (see :mod:`airflow_aml.compiler.step_kinds`)."""
