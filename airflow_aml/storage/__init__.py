"""Object storage under datastores and the registry: a local folder or an Azure Blob
container, behind one small interface (:class:`ObjectStore`)."""

from airflow_aml.storage.base import ObjectInfo, ObjectStore
from airflow_aml.storage.location import open_location, store_for_datastore

__all__ = ["ObjectInfo", "ObjectStore", "open_location", "store_for_datastore"]
