# SDK v1 step script, imports unchanged: in a step, `azureml.X` loads `airflow_aml.X`.
"""Compare step: read both trained models, name the better one, write a JSON report.

``--pipeline_param`` (the pipeline parameter ``pipeline_arg``) is the number
of top-weighted words per category the report lists for each model.
"""

import argparse
import json
import os

from azureml.core import Run

print("In compare.py")
print("As a data scientist, this is where I use my compare code.")
parser = argparse.ArgumentParser("compare")
parser.add_argument("--compare_data1", type=str, help="compare_data1 data")
parser.add_argument("--compare_data2", type=str, help="compare_data2 data")
parser.add_argument("--output_data", type=str, help="output_data directory")
parser.add_argument(
    "--pipeline_param", type=int, default=10, help="top-weighted words per category to report"
)
args = parser.parse_args()

print(f"Argument 1: {args.compare_data1}")
print(f"Argument 2: {args.compare_data2}")
print(f"Argument 3: {args.output_data}")
print(f"Argument 4: {args.pipeline_param}")
if args.pipeline_param < 1:
    raise SystemExit(f"--pipeline_param must be at least 1, got {args.pipeline_param}")

run = Run.get_context()


def load_model(folder):
    with open(os.path.join(folder, "metrics.json"), encoding="utf-8") as fh:
        metrics = json.load(fh)
    with open(os.path.join(folder, "model.json"), encoding="utf-8") as fh:
        model = json.load(fh)
    with open(os.path.join(folder, "predictions.jsonl"), encoding="utf-8") as fh:
        predictions = {p["id"]: p for p in (json.loads(line) for line in fh if line.strip())}
    return metrics, model, predictions


models = {}
for folder in (args.compare_data1, args.compare_data2):
    metrics, model, predictions = load_model(folder)
    models[metrics["model"]] = (metrics, model, predictions)

if len(models) != 2:
    raise SystemExit(f"expected two different models, got {sorted(models)}")

# The better model: higher accuracy; ties go to the first one given.
best = max(models, key=lambda m: models[m][0]["accuracy"])
(name1, (_, _, pred1)), (name2, (_, _, pred2)) = models.items()
shared_ids = sorted(set(pred1) & set(pred2))
agreement = sum(pred1[i]["predicted"] == pred2[i]["predicted"] for i in shared_ids) / max(
    len(shared_ids), 1
)
both_wrong = sum(
    pred1[i]["predicted"] != pred1[i]["label"] and pred2[i]["predicted"] != pred2[i]["label"]
    for i in shared_ids
)

top_n = args.pipeline_param
report = {
    "best_model": best,
    "top_words_per_category": top_n,
    "agreement": round(agreement, 4),
    "both_wrong": both_wrong,
    "test_size": len(shared_ids),
    "models": {},
}
for name, (metrics, model, _) in models.items():
    report["models"][name] = {
        "accuracy": round(metrics["accuracy"], 4),
        "per_class": {
            c: {k: round(v, 4) for k, v in scores.items()}
            for c, scores in metrics["per_class"].items()
        },
        "vocabulary_size": model["vocabulary_size"],
        "top_words": {c: [w for w, _ in words[:top_n]] for c, words in model["top_words"].items()},
    }
categories = sorted(report["models"][best]["top_words"])
report["top_words_in_both"] = {
    c: sorted(
        set(report["models"][name1]["top_words"][c]) & set(report["models"][name2]["top_words"][c])
    )
    for c in categories
}

os.makedirs(args.output_data, exist_ok=True)
with open(os.path.join(args.output_data, "report.json"), "w", encoding="utf-8") as fh:
    json.dump(report, fh, indent=2)
print(
    f"Best model: {best} (accuracy {models[best][0]['accuracy']:.3f}); the models agree on "
    f"{agreement:.1%} of {len(shared_ids)} test posts"
)
for c in categories:
    print(f"  {c:<20} {', '.join(report['models'][best]['top_words'][c])}")

for name, (metrics, _, _) in models.items():
    run.log_row("accuracy", model=name, accuracy=round(metrics["accuracy"], 4))
run.log("best_accuracy", models[best][0]["accuracy"])
run.log("agreement", agreement)
run.log("top_words_per_category", top_n)
run.log_table(
    "per_class_recall",
    {
        "category": categories,
        **{
            name: [round(models[name][0]["per_class"][c]["recall"], 4) for c in categories]
            for name in models
        },
    },
)
run.tag("best_model", best)
run.parent.tag("best_model", best)
run.parent.log("best_accuracy", models[best][0]["accuracy"])
