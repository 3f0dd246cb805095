# SDK v1 step script, imports unchanged: in a step, `azureml.X` loads `airflow_aml.X`.
"""Train step: fit one text classifier on extract's output and score it on the test split.

``--model nb``: multinomial naive Bayes with Laplace smoothing.
``--model centroid``: tf-idf vectors, one L2-normalised centroid per category,
prediction by cosine similarity.

Output (``--output``): ``model.json`` (parameters and the top-weighted words
per category), ``predictions.jsonl`` and ``metrics.json``.
"""

import argparse
import json
import math
import os
from collections import Counter

from azureml.core import Run

TOP_WORDS_KEPT = 50

print("In train.py")
parser = argparse.ArgumentParser("train")
parser.add_argument("--input", type=str, required=True, help="extract output directory")
parser.add_argument("--model", type=str, required=True, choices=["nb", "centroid"])
parser.add_argument("--output", type=str, required=True, help="output directory")
args = parser.parse_args()
print(f"Argument 1 (input): {args.input}")
print(f"Argument 2 (model): {args.model}")
print(f"Argument 3 (output): {args.output}")

run = Run.get_context()


def load(name):
    with open(os.path.join(args.input, name), encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


train, test = load("train.jsonl"), load("test.jsonl")
classes = sorted({d["label"] for d in train})
vocab = sorted({t for d in train for t in d["tokens"]})


# ------------------------------------------------------------ naive Bayes
def fit_nb(docs, alpha=1.0):
    doc_counts = Counter(d["label"] for d in docs)
    word_counts = {c: Counter() for c in classes}
    for d in docs:
        word_counts[d["label"]].update(d["tokens"])
    log_prior = {c: math.log(doc_counts[c] / len(docs)) for c in classes}
    log_lik = {}
    for c in classes:
        total = sum(word_counts[c].values()) + alpha * len(vocab)
        log_lik[c] = {w: math.log((word_counts[c][w] + alpha) / total) for w in vocab}
    # A word's weight for a category: how much likelier it is there than elsewhere.
    weights = {}
    for c in classes:
        others = [o for o in classes if o != c]
        weights[c] = {
            w: log_lik[c][w] - sum(log_lik[o][w] for o in others) / len(others) for w in vocab
        }
    return {"log_prior": log_prior, "log_likelihood": log_lik}, weights


def predict_nb(params, tokens):
    scores = {
        c: params["log_prior"][c]
        + sum(params["log_likelihood"][c][t] for t in tokens if t in params["log_likelihood"][c])
        for c in classes
    }
    return max(classes, key=lambda c: scores[c])


# ------------------------------------------------------ nearest centroid
def tfidf(tokens, idf):
    tf = Counter(t for t in tokens if t in idf)
    vec = {t: (1 + math.log(n)) * idf[t] for t, n in tf.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def fit_centroid(docs):
    df = Counter(t for d in docs for t in set(d["tokens"]))
    idf = {t: math.log((1 + len(docs)) / (1 + df[t])) + 1 for t in vocab}
    centroids = {}
    for c in classes:
        members = [tfidf(d["tokens"], idf) for d in docs if d["label"] == c]
        total = Counter()
        for vec in members:
            total.update(vec)
        norm = math.sqrt(sum(v * v for v in total.values())) or 1.0
        centroids[c] = {t: v / norm for t, v in total.items()}
    return {"idf": idf, "centroids": centroids}, centroids


def predict_centroid(params, tokens):
    vec = tfidf(tokens, params["idf"])
    return max(
        classes, key=lambda c: sum(v * params["centroids"][c].get(t, 0.0) for t, v in vec.items())
    )


fit, predict = {"nb": (fit_nb, predict_nb), "centroid": (fit_centroid, predict_centroid)}[
    args.model
]
params, weights = fit(train)
predictions = [
    {"id": d["id"], "label": d["label"], "predicted": predict(params, d["tokens"])} for d in test
]

correct = sum(p["label"] == p["predicted"] for p in predictions)
acc = correct / len(predictions)
per_class = {}
for c in classes:
    tp = sum(p["label"] == c and p["predicted"] == c for p in predictions)
    support = sum(p["label"] == c for p in predictions)
    predicted = sum(p["predicted"] == c for p in predictions)
    per_class[c] = {
        "precision": tp / predicted if predicted else 0.0,
        "recall": tp / support if support else 0.0,
        "support": support,
    }
top_words = {
    c: [
        [w, round(weights[c][w], 4)]
        for w in sorted(weights[c], key=lambda w: (-weights[c][w], w))[:TOP_WORDS_KEPT]
    ]
    for c in classes
}

os.makedirs(args.output, exist_ok=True)
with open(os.path.join(args.output, "model.json"), "w", encoding="utf-8") as fh:
    json.dump(
        {
            "model": args.model,
            "classes": classes,
            "vocabulary_size": len(vocab),
            "top_words": top_words,
            "parameters": params,
        },
        fh,
    )
with open(os.path.join(args.output, "predictions.jsonl"), "w", encoding="utf-8") as fh:
    for p in predictions:
        fh.write(json.dumps(p) + "\n")
with open(os.path.join(args.output, "metrics.json"), "w", encoding="utf-8") as fh:
    json.dump(
        {
            "model": args.model,
            "accuracy": acc,
            "correct": correct,
            "test_size": len(predictions),
            "train_size": len(train),
            "per_class": per_class,
        },
        fh,
        indent=2,
    )

print(
    f"Model {args.model}: accuracy {acc:.3f} ({correct}/{len(predictions)}) on the test "
    f"split, vocabulary {len(vocab)} words"
)
run.log("accuracy", acc)
run.log("vocabulary_size", len(vocab))
for c in classes:
    run.log_row(
        "per_class",
        category=c,
        precision=round(per_class[c]["precision"], 4),
        recall=round(per_class[c]["recall"], 4),
    )
run.parent.log(f"accuracy_{args.model}", acc)
