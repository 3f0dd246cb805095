"""DatasetConsumptionConfig (SDK v1 ``azureml.data.dataset_consumption_config``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["DatasetConsumptionConfig"]


class DatasetConsumptionConfig(Unsupported):
    """How a step consumes a dataset input (SDK v1, ``dataset.as_named_input(name)``)."""

    _planned = True
    _alternative = "datasets are planned; meanwhile pass a DataReference as the step input"
