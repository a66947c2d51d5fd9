"""Checks an 'ibot4j export --format onnx' file in Python: onnx.checker (full check, with shape inference), then
onnxruntime (CPU) on images of the training size against the features 'ibot4j embed' wrote for the same files.

Usage: check_onnx.py ENCODER.onnx IMAGES_DIR EMBED.npy
IMAGES_DIR holds PNGs of exactly the training size (so embed's resize and centre crop leave them as they are);
EMBED.npy and EMBED.npy.files.txt are what 'ibot4j embed --images IMAGES_DIR --output EMBED.npy' wrote.
"""
import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

model_path, images_dir, embed_path = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
model = onnx.load(model_path)
onnx.checker.check_model(model, full_check=True)
meta = {p.key: p.value for p in model.metadata_props}
mean = np.array(json.loads(meta["ibot4j.mean"]), dtype=np.float32).reshape(1, 3, 1, 1)
std = np.array(json.loads(meta["ibot4j.std"]), dtype=np.float32).reshape(1, 3, 1, 1)
size = model.graph.input[0].type.tensor_type.shape.dim[2].dim_value
print(f"onnx.checker: ok (onnx {onnx.__version__}, IR {model.ir_version}, opset {model.opset_import[0].version}, "
      f"input {[d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]})")

files = pathlib.Path(embed_path + ".files.txt").read_text().split()
expected = np.load(embed_path)
pixels = np.stack([np.asarray(Image.open(images_dir / pathlib.Path(f).name).convert("RGB"), dtype=np.float32) for f in files])
if pixels.shape[1:3] != (size, size):
    sys.exit(f"images must be {size}x{size} (the model's size), got {pixels.shape[1:3]}")
x = ((pixels.transpose(0, 3, 1, 2) / 255.0 - mean) / std).astype(np.float32)
session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
got = session.run(["features"], {"images": x})[0]
diff = np.abs(got - expected).max()
print(f"onnxruntime {ort.__version__} (Python, CPU) vs ibot4j embed: {len(files)} images, features {got.shape}, max |diff| {diff:.3g}")
sys.exit(0 if diff <= 1e-5 else 1)
