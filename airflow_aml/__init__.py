"""airflow-aml: run Azure ML SDK v1 pipelines on Apache Airflow 3.

Port code by renaming ``azureml.`` to ``airflow_aml.``. Importing this
package (or the object model) does not import Airflow.
"""

from airflow_aml._version import __version__

__all__ = ["__version__"]
