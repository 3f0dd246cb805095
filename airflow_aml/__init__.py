"""airflow-aml: run Azure ML SDK v1 pipelines on Apache Airflow 3.

Port code by renaming ``azureml.`` to ``airflow_aml.``. Importing this
package (or the object model) does not import Airflow.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
