"""Reads a run's tensorboard/ folder with TensorBoard's own EventAccumulator and compares it with the run's files.

Every scalar of metrics.csv (loss, cls_loss, ... at TensorBoard step = iteration + 1) and of knn.jsonl must be in
the event files once, equal to float32 precision; each kept probes/step-*/ figure must be an image of its step
with the PNG's size. Usage: check_events.py RUN_DIR [EXPECTED_STEPS]. Exits 1 with the first difference.
"""
import csv
import json
import math
import pathlib
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator, IMAGES, SCALARS

run = pathlib.Path(sys.argv[1])
acc = EventAccumulator(str(run / "tensorboard"), size_guidance={SCALARS: 0, IMAGES: 0})
acc.Reload()
tags = acc.Tags()

COLUMNS = {"loss/total": "loss", "loss/cls": "cls_loss", "loss/patch": "patch_loss", "loss/koleo": "koleo_loss",
           "schedule/lr": "lr", "schedule/weight_decay": "weight_decay", "schedule/teacher_momentum": "teacher_momentum",
           "schedule/teacher_temp": "teacher_temp", "schedule/teacher_patch_temp": "teacher_patch_temp",
           "collapse/teacher_cls_entropy": "teacher_cls_entropy", "collapse/teacher_patch_entropy": "teacher_patch_entropy",
           "collapse/prototypes_used": "prototypes_used", "collapse/effective_rank": "effective_rank",
           "train/grad_norm": "grad_norm", "train/images_per_s": "images_per_s", "train/data_wait_s": "data_wait_s"}


def fail(msg):
    print("check_events: " + msg, file=sys.stderr)
    sys.exit(1)


def close(tb, logged):
    # metrics.csv rounds to 6 significant digits (half a unit of the 6th: at most 5e-6 relative), the event file
    # holds float32 (6e-8 relative).
    return math.isclose(tb, logged, rel_tol=5.1e-6, abs_tol=1e-12)


rows = list(csv.DictReader(open(run / "metrics.csv")))
expected = int(sys.argv[2]) if len(sys.argv) > 2 else len(rows)
if len(rows) != expected:
    fail(f"metrics.csv has {len(rows)} rows, expected {expected}")
checked = 0
for tag, column in COLUMNS.items():
    if tag not in tags[SCALARS]:
        fail(f"no scalar {tag} in the event files (tags: {sorted(tags[SCALARS])})")
    events = acc.Scalars(tag)
    by_step = {}
    for e in events:
        if e.step in by_step:
            fail(f"{tag}: step {e.step} appears twice (a resumed run's orphaned events were not dropped)")
        by_step[e.step] = e.value
    for row in rows:
        step = int(row["iteration"]) + 1
        if row[column] in ("", "null"):
            continue
        if step not in by_step:
            fail(f"{tag}: no event at step {step}")
        if not close(by_step[step], float(row[column])):
            fail(f"{tag} at step {step}: {by_step[step]} in TensorBoard, {row[column]} in metrics.csv")
        checked += 1
    if set(by_step) - {int(r["iteration"]) + 1 for r in rows}:
        fail(f"{tag}: steps not in metrics.csv: {sorted(set(by_step) - {int(r['iteration']) + 1 for r in rows})}")

knn = [json.loads(l) for l in open(run / "knn.jsonl")] if (run / "knn.jsonl").exists() else []
for key in ("top1", "top5"):
    events = {e.step: e.value for e in acc.Scalars(f"knn/{key}")} if knn else {}
    for row in knn:
        if row["iteration"] not in events or not close(events[row["iteration"]], row[key]):
            fail(f"knn/{key} at step {row['iteration']}: {events.get(row['iteration'])} in TensorBoard, {row[key]} in knn.jsonl")
        checked += 1

images = 0
for folder in sorted((run / "probes").glob("step-*")):
    step = int(folder.name[5:])
    for figure in json.load(open(folder / "figures.json")):
        png = (folder / figure["file"]).read_bytes()
        width, height = struct.unpack(">II", png[16:24])
        tag = "probes/" + figure["file"][3:-4]
        found = [i for i in acc.Images(tag) if i.step == step] if tag in tags[IMAGES] else []
        if len(found) != 1:
            fail(f"image {tag} at step {step}: {len(found)} in TensorBoard (image tags: {tags[IMAGES]})")
        if (found[0].width, found[0].height) != (width, height) or found[0].encoded_image_string != png:
            fail(f"image {tag} at step {step}: {found[0].width}x{found[0].height}, the PNG is {width}x{height} (or other bytes)")
        images += 1
if images == 0:
    fail("no probe figures to compare (the run drew none)")
print(f"check_events: TensorBoard's EventAccumulator read {checked} scalar values equal to metrics.csv/knn.jsonl "
      f"({len(rows)} steps, {len(knn)} k-NN rows) and {images} probe images equal to probes/ in {run / 'tensorboard'}")
