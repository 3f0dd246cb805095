"""KubernetesCompute (SDK v1 ``azureml.core.compute.KubernetesCompute``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["KubernetesCompute"]


class KubernetesCompute(Unsupported):
    """An attached Kubernetes cluster as compute target (SDK v1)."""

    _planned = True
    _alternative = (
        "Kubernetes pod targets (cncf-kubernetes provider) are planned; meanwhile use an "
        "AmlCompute cluster (an Airflow pool) or the local Airflow worker"
    )
