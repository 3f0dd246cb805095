"""Load every pipeline submitted through airflow-aml as an Airflow DAG.

``Experiment(ws, name).submit(pipeline)`` freezes the pipeline into the
workspace registry as a JSON spec (``<registry>/specs/<name>.json``). This
one line turns each spec into a DAG with ``dag_id`` = the experiment name,
so submitted pipelines show up, and can be triggered, in the Airflow UI.
Parsing reads JSON only: no user code is imported, and one unreadable spec
does not hide the others.

The registry is ``[aml] registry`` (``$AIRFLOW__AML__REGISTRY``), else ``$AIRFLOW_HOME/../registry``
(which is the workspace registry for the embedded workspace's Airflow home).
"""

from airflow_aml.compiler.loader import dags_from_registry

globals().update(dags_from_registry())
