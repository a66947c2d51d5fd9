"""Throughput of the official iBOT data pipeline on one core, for ci/bench-data's comparison.

The official pipeline is DataAugmentationiBOT (bytedance/ibot, main_ibot.py) on images read by
torchvision's ImageFolder loader (PIL open + convert("RGB")), in a torch DataLoader with one worker
process: 2 global crops of 224 px and 10 local crops of 96 px per image, with the published ViT-S/16
scales (global 0.25..1, local 0.05..0.25), flip p 0.5, ColorJitter(0.4, 0.4, 0.2, 0.1) p 0.8,
RandomGrayscale p 0.2, PIL GaussianBlur p 1.0 / 0.1 / 0.5 with radius U(0.1, 2), PIL solarize p 0.2
on the second global crop, ToTensor and Normalize. The block masks of ImageFolderMask are not
generated here (ibot4j's loader does generate them), so this measures the official side favourably.

torchvision is not imported: the only local torchvision wheel is built for another torch and fails
to import (see README.md, check_export.py). The transforms are written here the way torchvision 0.2x
implements them for PIL images: RandomResizedCrop.get_params (torch RNG, 10 attempts, centre-crop
fallback), resized_crop = PIL crop + resize(BICUBIC), hflip = PIL transpose, ColorJitter.get_params
(torch.randperm order, uniform factors) with ImageEnhance Brightness / Contrast / Color and the
HSV-byte hue shift of functional_pil.adjust_hue, rgb_to_grayscale = convert("L") replicated to three
channels, ToTensor = uint8 HWC -> float CHW / 255, Normalize = (x - mean) / std. iBOT's own
GaussianBlur and Solarization use Python's random module, as in its utils.py. Same PIL calls, same
per-pixel work: the throughput is the official pipeline's.

The JPEG folder is the one ci/bench-data's Java side uses (build/bench-jpegs/all/*.jpg: Fashion-MNIST
train images 0..511, bicubic to 256 x 256, RGB JPEG); if it is missing, this script writes it the
same way with PIL.

Usage: python tools/reference/bench_data_reference.py [--jpeg-dir build/bench-jpegs] [--batches 12]
Prints the images per second of the one worker and, last, "official images/s per core: N".
"""

import argparse
import gzip
import math
import os
import random
import sys
import time

try:
    import numpy as np
    import torch
    from PIL import Image, ImageEnhance, ImageFilter, ImageOps
    import PIL
except ImportError as e:  # the message ci/bench-data shows
    print(f"official pipeline not measured: {e} (needs torch, numpy and pillow: pip install pillow)", file=sys.stderr)
    sys.exit(3)

FASHION = "/usr/share/datasets/fashion-mnist"
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


# --- torchvision's transforms for PIL images, as torchvision implements them -----------------------

def rrc_params(img, scale, ratio=(3.0 / 4.0, 4.0 / 3.0)):
    width, height = img.size
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
        aspect_ratio = math.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1]).item())
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            i = torch.randint(0, height - h + 1, size=(1,)).item()
            j = torch.randint(0, width - w + 1, size=(1,)).item()
            return i, j, h, w
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def random_resized_crop(img, size, scale):
    i, j, h, w = rrc_params(img, scale)
    return img.crop((j, i, j + w, i + h)).resize((size, size), Image.BICUBIC)


def adjust_hue(img, hue_factor):
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    # torchvision adds np.uint8(hue_factor * 255) with uint8 wrap-around; int16 and % 256 is that wrap
    np_h = ((np_h.astype(np.int16) + int(hue_factor * 255)) % 256).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert("RGB")


def colour_jitter(img, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1):
    fn_idx = torch.randperm(4)
    b = float(torch.empty(1).uniform_(1 - brightness, 1 + brightness))
    c = float(torch.empty(1).uniform_(1 - contrast, 1 + contrast))
    s = float(torch.empty(1).uniform_(1 - saturation, 1 + saturation))
    h = float(torch.empty(1).uniform_(-hue, hue))
    for fn_id in fn_idx:
        if fn_id == 0:
            img = ImageEnhance.Brightness(img).enhance(b)
        elif fn_id == 1:
            img = ImageEnhance.Contrast(img).enhance(c)
        elif fn_id == 2:
            img = ImageEnhance.Color(img).enhance(s)
        else:
            img = adjust_hue(img, h)
    return img


def flip_and_colour_jitter(img):
    if torch.rand(1) < 0.5:  # RandomHorizontalFlip(p=0.5)
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    if not 0.8 < torch.rand(1):  # RandomApply([ColorJitter(...)], p=0.8)
        img = colour_jitter(img)
    if torch.rand(1) < 0.2:  # RandomGrayscale(p=0.2), three channels out
        grey = np.array(img.convert("L"), dtype=np.uint8)
        img = Image.fromarray(np.dstack([grey, grey, grey]), "RGB")
    return img


def gaussian_blur(img, p, radius_min=0.1, radius_max=2.0):  # iBOT utils.GaussianBlur
    if not random.random() <= p:
        return img
    return img.filter(ImageFilter.GaussianBlur(radius=random.uniform(radius_min, radius_max)))


def solarization(img, p):  # iBOT utils.Solarization
    return ImageOps.solarize(img) if random.random() < p else img


def normalize(img):  # ToTensor + Normalize
    t = torch.from_numpy(np.array(img, np.uint8, copy=True)).view(img.size[1], img.size[0], 3)
    t = t.permute((2, 0, 1)).contiguous().to(dtype=torch.float32).div(255)
    return t.sub(MEAN).div(STD)


class DataAugmentationIBOT:
    def __init__(self, global_scale=(0.25, 1.0), local_scale=(0.05, 0.25), n_global=2, n_local=10):
        self.global_scale, self.local_scale, self.n_global, self.n_local = global_scale, local_scale, n_global, n_local

    def __call__(self, image):
        crops = [normalize(gaussian_blur(flip_and_colour_jitter(random_resized_crop(image, 224, self.global_scale)), 1.0))]
        for _ in range(self.n_global - 1):
            crop = flip_and_colour_jitter(random_resized_crop(image, 224, self.global_scale))
            crops.append(normalize(solarization(gaussian_blur(crop, 0.1), 0.2)))
        for _ in range(self.n_local):
            crops.append(normalize(gaussian_blur(flip_and_colour_jitter(random_resized_crop(image, 96, self.local_scale)), 0.5)))
        return crops


class JpegFolder(torch.utils.data.Dataset):
    def __init__(self, files, transform):
        self.files, self.transform = files, transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        with open(self.files[index], "rb") as f:  # torchvision's pil_loader
            img = Image.open(f).convert("RGB")
        return self.transform(img)


# --- the JPEG folder ----------------------------------------------------------------------------

def fashion_images(n):
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        path = os.path.join(FASHION, name)
        if os.path.exists(path):
            with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                data = f.read()
            count, rows, cols = (int.from_bytes(data[k:k + 4], "big") for k in (4, 8, 12))
            return np.frombuffer(data, np.uint8, min(n, count) * rows * cols, 16).reshape(-1, rows, cols)
    sys.exit(f"Fashion-MNIST is not in {FASHION} (apt-get install dataset-fashion-mnist)")


def jpeg_files(root, n=512, size=256):
    folder = os.path.join(root, "all")
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder)) if os.path.isdir(folder) else []
    if len(files) < n:
        os.makedirs(folder, exist_ok=True)
        for i, pixels in enumerate(fashion_images(n)):
            big = Image.fromarray(pixels, "L").resize((size, size), Image.BICUBIC).convert("RGB")
            big.save(os.path.join(folder, f"{i:04d}.jpg"), quality=75)
        files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jpeg-dir", default="build/bench-jpegs")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=12, help="timed batches after one warm-up batch")
    args = parser.parse_args()
    files = jpeg_files(args.jpeg_dir)
    loader = torch.utils.data.DataLoader(JpegFolder(files, DataAugmentationIBOT()), batch_size=args.batch_size, shuffle=True,
                                         num_workers=1, drop_last=True, prefetch_factor=4, persistent_workers=True)
    batches = iter(loader)
    next(batches)  # warm-up: worker start and the first batch
    start = time.perf_counter()
    for _ in range(args.batches):
        crops = next(batches)
    seconds = time.perf_counter() - start
    assert len(crops) == 12 and tuple(crops[0].shape) == (args.batch_size, 3, 224, 224) and tuple(crops[2].shape) == (args.batch_size, 3, 96, 96)
    rate = args.batches * args.batch_size / seconds
    print(f"official DataAugmentationiBOT (PIL {PIL.__version__}, torch {torch.__version__}, DataLoader 1 worker), "
          f"{len(files)} JPEGs of {args.jpeg_dir}: {args.batches} batches of {args.batch_size} in {seconds:.2f} s")
    print(f"official images/s per core: {rate:.1f}")


if __name__ == "__main__":
    main()
