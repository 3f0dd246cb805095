"""Mirror of ``azureml.train`` (package azureml-train-core): only ``estimator``.

``Estimator`` was deprecated in SDK v1; it imports here and every use raises
:class:`~airflow_aml.exceptions.NotSupportedError` naming the alternative.
"""

__all__: list[str] = []
