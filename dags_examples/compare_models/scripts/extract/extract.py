# SDK v1 step script, imports unchanged: in a step, `azureml.X` loads `airflow_aml.X`.
"""Extract step: read the raw posts, tokenise them, split into train and test.

Input (``--input``): a folder of ``*.jsonl`` files (or one such file) with
``{"id", "category", "text"}`` lines. Output (``--output``): ``train.jsonl``,
``test.jsonl`` (``{"id", "label", "tokens"}``) and ``categories.json``.
"""

import argparse
import glob
import json
import os
import re
import zlib

from azureml.core import Run

_STOPWORDS = """
a about actually also an and any anyone are article be because been but can could did do
does every everything for from good had has have if in is it its just many maybe more most
much new no not of old on or other people point post posted probably re read reading really
said same say says should so some someone something still subject that the then these thing
things think this those time to very was way well were will with would writes wrote year yes
"""
STOPWORDS = frozenset(_STOPWORDS.split())
TOKEN = re.compile(r"[a-z][a-z']+")
TEST_FRACTION = 0.25

print("In extract.py")
parser = argparse.ArgumentParser("extract")
parser.add_argument("--input", type=str, required=True, help="raw posts (folder or file)")
parser.add_argument("--output", type=str, required=True, help="output directory")
args = parser.parse_args()
print(f"Argument 1 (input): {args.input}")
print(f"Argument 2 (output): {args.output}")

run = Run.get_context()

if os.path.isdir(args.input):
    files = sorted(glob.glob(os.path.join(args.input, "**", "*.jsonl"), recursive=True))
else:
    files = [args.input]
if not files:
    raise SystemExit(f"no *.jsonl files under {args.input}")

posts = []
for path in files:
    with open(path, encoding="utf-8") as fh:
        posts.extend(json.loads(line) for line in fh if line.strip())


def tokenize(text):
    return [t for t in TOKEN.findall(text.lower()) if t not in STOPWORDS]


def is_test(post_id):
    # A stable hash of the id: the same post always lands in the same split.
    return zlib.crc32(post_id.encode("utf-8")) % 1000 < TEST_FRACTION * 1000


os.makedirs(args.output, exist_ok=True)
counts = {}
sizes = {"train": 0, "test": 0}
with (
    open(os.path.join(args.output, "train.jsonl"), "w", encoding="utf-8") as train_f,
    open(os.path.join(args.output, "test.jsonl"), "w", encoding="utf-8") as test_f,
):
    for post in posts:
        split = "test" if is_test(post["id"]) else "train"
        record = {"id": post["id"], "label": post["category"], "tokens": tokenize(post["text"])}
        (test_f if split == "test" else train_f).write(json.dumps(record) + "\n")
        sizes[split] += 1
        per_label = counts.setdefault(post["category"], {"train": 0, "test": 0})
        per_label[split] += 1

with open(os.path.join(args.output, "categories.json"), "w", encoding="utf-8") as fh:
    json.dump(
        {"categories": sorted(counts), "counts": counts, "source_files": len(files)}, fh, indent=2
    )

print(f"Read {len(posts)} posts in {len(counts)} categories from {len(files)} file(s)")
print(f"Split: {sizes['train']} train / {sizes['test']} test")
run.log("posts", len(posts))
run.log("train_size", sizes["train"])
run.log("test_size", sizes["test"])
for label in sorted(counts):
    run.log_row(
        "category_counts", category=label, train=counts[label]["train"], test=counts[label]["test"]
    )
