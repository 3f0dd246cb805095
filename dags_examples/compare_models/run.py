"""Run the compare-models pipeline once and show what it produced.

    python dags_examples/compare_models/run.py

With no ``config.json`` around, ``Workspace.from_config()`` gives the
embedded workspace (``$AIRFLOW_AML_HOME`` or ``~/.airflow_aml``): the run
executes on a local Airflow home, no server needed. Exits non-zero unless
the run finishes.
"""

import json
import os
import re
import sys
import tempfile

from airflow_aml.core import Experiment, Workspace
from airflow_aml.exceptions import ActivityFailedException

# The folder of this file is on sys.path when it runs as a script; make the
# import work when it is run any other way too (runpy, an IDE, ...).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline import build_pipeline, upload_data  # noqa: E402


def compact_json(data):
    """Indented JSON, but lists and dicts of plain values on one line each."""
    text = json.dumps(data, indent=2)
    return re.sub(
        r"([\[{])\s+([^\[\]{}]*?)\s+([\]}])",
        lambda m: m.group(1) + re.sub(r",\s+", ", ", m.group(2)) + m.group(3),
        text,
    )


def main():
    ws = Workspace.from_config()
    print(f"Workspace name: {ws.name}")
    print(f"Resource group: {ws.resource_group}")
    print(f"Location: {ws.location}")
    print(f"Subscription id: {ws.subscription_id}")

    upload_data(ws)
    pipeline1 = build_pipeline(ws)

    pipeline_run1 = Experiment(ws, "Compare_Models_Exp").submit(
        pipeline1, pipeline_parameters={"pipeline_arg": 20}
    )
    print("Pipeline is submitted for execution")
    try:
        pipeline_run1.wait_for_completion(show_output=True)
    except ActivityFailedException as exc:  # a step failed: still show what ran
        print(f"\n{exc}", file=sys.stderr)

    status = pipeline_run1.get_status()
    print(f"\n=== Pipeline run {pipeline_run1.id}: {status} ===")
    for step_run in pipeline_run1.get_steps():
        print(f"\nStep {step_run.name}: {step_run.get_status()}")
        for name, value in step_run.get_metrics().items():
            print(f"  {name}: {value}")
        if step_run.get_tags():
            print(f"  tags: {step_run.get_tags()}")

    print("\nPipeline metrics:")
    for name, value in pipeline_run1.get_metrics().items():
        print(f"  {name}: {value}")
    print(f"Pipeline tags: {pipeline_run1.get_tags()}")

    if status != "Finished":
        print(f"The pipeline run did not finish (status {status})", file=sys.stderr)
        return 1

    compare_run = pipeline_run1.find_step_run("compare")[0]
    with tempfile.TemporaryDirectory() as tmpdir:
        port_data = compare_run.get_output_data("compare_output")
        print(f"\ncompare output: {port_data.datastore_name}:{port_data.path_on_datastore}")
        folder = port_data.download(tmpdir)
        with open(os.path.join(folder, "report.json"), encoding="utf-8") as fh:
            report = json.load(fh)
    print(compact_json(report))
    print(f"\nBest model: {report['best_model']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
