"""The compare-models pipeline as an Airflow DAG (``dag_id="compare_models"``).

Put this folder (``dags_examples/``) in Airflow's DAGs folder, or point
``[core] dags_folder`` at it. Parsing only builds and compiles the pipeline
(the workspace home is created if missing): no data is uploaded and nothing
runs. Upload the data once with ``compare_models.pipeline.upload_data(ws)``
(``compare_models/run.py`` does it) before triggering the DAG.
"""

import os
import sys

from airflow_aml.core import Workspace

# Airflow puts only its configured DAGs folder on sys.path: add this file's
# folder so that the compare_models package is importable wherever it lives.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from compare_models.pipeline import build_pipeline  # noqa: E402

ws = Workspace.from_config()
dag = build_pipeline(ws).as_dag("compare_models")
