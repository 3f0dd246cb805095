"""SqlDataReference (SDK v1 ``azureml.data.sql_data_reference``).

Placeholder: every use raises NotSupportedError naming the alternative.
"""

from airflow_aml._unsupported import Unsupported

__all__ = ["SqlDataReference"]


class SqlDataReference(Unsupported):
    """A table, query or stored procedure of a SQL datastore (SDK v1)."""

    _planned = True
    _alternative = (
        "SQL references are planned with DataTransferStep; meanwhile query the database "
        "in a PythonScriptStep through an Airflow connection"
    )
