"""The "compare models" pipeline of the SDK v1 getting-started notebooks, ported.

Only the imports changed: ``azureml.`` became ``airflow_aml.``. Four steps:

    test_data (DataReference) -> extract -> train_nb       -> compare
                                         -> train_centroid ->

``extract`` tokenises the posts and splits them into train/test, the two
train steps fit a multinomial naive Bayes and a tf-idf nearest-centroid
classifier with the same ``train.py``, and ``compare`` names the better model.
The pipeline parameter ``pipeline_arg`` is the number of top-weighted words
per category that ``compare`` reports.

The data is a small synthetic stand-in for 20newsgroups (no internet needed):
``upload_data(ws)`` generates it deterministically and uploads it to
``20newsgroups/`` on the default datastore.
"""

from __future__ import annotations

import json
import os
import random
import tempfile

from airflow_aml.data.data_reference import DataReference
from airflow_aml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from airflow_aml.pipeline.steps import PythonScriptStep

# Each step has its own source folder, so editing one script reruns only the
# steps that use it (both train steps share train.py on purpose).
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")

DATA_FILE = "20news.jsonl"
CATEGORIES = ["alt.atheism", "comp.graphics", "sci.space", "talk.religion.misc"]
POSTS_PER_CATEGORY = 100


def build_pipeline(ws):
    """Build the compare-models pipeline against workspace ``ws``."""
    def_blob_store = ws.get_default_datastore()
    print(f"Default datastore's name: {def_blob_store.name}")

    # DataReference(datastore, data_reference_name=None, path_on_datastore=None,
    #               mode='mount', path_on_compute=None, overwrite=False)
    blob_input_data = DataReference(
        datastore=def_blob_store, data_reference_name="test_data", path_on_datastore="20newsgroups"
    )

    # PipelineData(name, datastore=None, output_name=None, output_mode='mount', ...)
    extracted_data = PipelineData("extracted_data", datastore=def_blob_store)
    nb_model = PipelineData("nb_model", datastore=def_blob_store)
    centroid_model = PipelineData("centroid_model", datastore=def_blob_store)
    compare_output = PipelineData("compare_output", datastore=def_blob_store)

    pipeline_param = PipelineParameter(name="pipeline_arg", default_value=10)

    extract_step = PythonScriptStep(
        script_name="extract.py",
        name="extract",
        arguments=["--input", blob_input_data, "--output", extracted_data],
        inputs=[blob_input_data],
        outputs=[extracted_data],
        source_directory=os.path.join(SCRIPTS, "extract"),
        allow_reuse=True,
    )
    print(f"{extract_step.name} step created")

    train_nb_step = PythonScriptStep(
        script_name="train.py",
        name="train_nb",
        arguments=["--input", extracted_data, "--model", "nb", "--output", nb_model],
        inputs=[extracted_data],
        outputs=[nb_model],
        source_directory=os.path.join(SCRIPTS, "train"),
    )
    print(f"{train_nb_step.name} step created")

    train_centroid_step = PythonScriptStep(
        script_name="train.py",
        name="train_centroid",
        arguments=["--input", extracted_data, "--model", "centroid", "--output", centroid_model],
        inputs=[extracted_data],
        outputs=[centroid_model],
        source_directory=os.path.join(SCRIPTS, "train"),
    )
    print(f"{train_centroid_step.name} step created")

    compare_step = PythonScriptStep(
        script_name="compare.py",
        name="compare",
        arguments=[
            "--compare_data1",
            nb_model,
            "--compare_data2",
            centroid_model,
            "--output_data",
            compare_output,
            "--pipeline_param",
            pipeline_param,
        ],
        inputs=[nb_model, centroid_model],
        outputs=[compare_output],
        source_directory=os.path.join(SCRIPTS, "compare"),
    )
    print(f"{compare_step.name} step created")

    # Only the last step is listed: the train steps and extract are pulled in
    # through their data dependencies (resolve_closure=True).
    pipeline1 = Pipeline(
        workspace=ws,
        steps=[compare_step],
        description="Compare a naive Bayes and a nearest-centroid text "
        "classifier on a 20newsgroups-like data set",
    )
    print("Pipeline is built")
    return pipeline1


# --------------------------------------------------------------------- data
_TOPICAL = {
    "alt.atheism": (
        "atheist atheism atheists god gods belief believe evidence existence argument "
        "logic reason rational morality moral objective theist theists claim proof "
        "burden skeptic skeptical freethought secular naturalism science dogma "
        "agnostic deity"
    ),
    "comp.graphics": (
        "graphics image images pixel pixels polygon polygons render rendering shading "
        "texture textures gif jpeg tiff bitmap raytracing raytracer vga resolution "
        "palette colormap opengl vertex vertices mesh animation software format viewer"
    ),
    "sci.space": (
        "space orbit orbital nasa shuttle launch launches rocket rockets satellite "
        "satellites moon lunar mars planet planetary spacecraft probe mission missions "
        "astronaut astronauts payload booster station telescope solar jpl apollo"
    ),
    "talk.religion.misc": (
        "jesus christ christian christians bible biblical scripture church faith "
        "prayer spirit holy gospel sin salvation koresh waco cult prophet heaven hell "
        "lord worship sermon verse testament soul"
    ),
}
# Words the two religion groups share: what makes them hard to tell apart.
_RELIGION_SHARED = (
    "god religion religious belief believe faith bible christian church moral truth "
    "islam jews creation afterlife doctrine"
)
_GENERAL = (
    "the a an and or but if then so because that this these those it its is are was "
    "were be been have has had do does did not no yes can could would should will "
    "about think know people time year way thing things question questions point "
    "post posted article read reading writes wrote said say says anyone someone "
    "something everything good bad new old many much more most some any every other "
    "same different really actually probably maybe just still also very well"
)


def make_posts(posts_per_category=POSTS_PER_CATEGORY, seed=20):
    """Deterministic synthetic newsgroup posts: ``[{"id", "category", "text"}]``."""
    rng = random.Random(seed)
    topical = {c: words.split() for c, words in _TOPICAL.items()}
    religion_shared, general = _RELIGION_SHARED.split(), _GENERAL.split()
    posts = []
    for i in range(posts_per_category):
        for category in CATEGORIES:
            others = [c for c in CATEGORIES if c != category]
            words = []
            for _ in range(rng.randint(12, 40)):
                r = rng.random()
                if r < 0.22:
                    words.append(rng.choice(topical[category]))
                elif r < 0.34 and category in ("alt.atheism", "talk.religion.misc"):
                    words.append(rng.choice(religion_shared))
                elif r < 0.42:
                    words.append(rng.choice(topical[rng.choice(others)]))
                else:
                    words.append(rng.choice(general))
            subject = " ".join(rng.choice(topical[category] + general) for _ in range(3))
            posts.append(
                {
                    "id": f"{category}/{i:04d}",
                    "category": category,
                    "text": f"Subject: Re: {subject}\n\n{' '.join(words)}",
                }
            )
    return posts


def upload_data(ws):
    """Generate the data set and upload it to ``20newsgroups/`` on the default datastore."""
    def_blob_store = ws.get_default_datastore()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, DATA_FILE)
        with open(path, "w", encoding="utf-8") as fh:
            for post in make_posts():
                fh.write(json.dumps(post) + "\n")
        def_blob_store.upload_files(
            [path], target_path="20newsgroups", overwrite=True, show_progress=True
        )
    print("Upload call completed")
