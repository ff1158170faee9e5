"""The mpsl model family in PyTorch: the reference the C engine is checked against.

Module names (and so state_dict keys) follow torchvision. Every channel count and hidden
width is scaled by the width multiplier w: s(c) = max(1, int(c * w + 0.5)).

Each model runs as a flat layer table (1-based, the same table the C side prints and
cuts): forward() applies the entries in order, so the table cannot drift from what runs.
  VGG torchvision: features.0 .. features.K, avgpool, flatten, classifier.0 .. classifier.6
  VGG cifar:       features.0 .. features.K, flatten, classifier
  ResNet:          conv1, bn1, relu, [maxpool], layer1.0, layer1.1, ..., avgpool, flatten, fc

ReLU is out of place by default, as the golden files were written; inplace=True builds
ReLU(inplace=True) and the residual `out += identity` as torchvision does (same values,
less memory traffic), which is what a timing baseline should use (bench/torch_step.py).

Dropout is replaced by MaskDropout, whose mask is a pure function of
(seed, layer index, training step, element index) through mpsl_rng_u64 (src/util/rng.c),
so the C engine draws the same mask.
"""

import numpy as np
import torch
import torch.nn as nn

VGG_CFGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}

RESNET_CFGS = {  # (block, blocks per stage)
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}


def model_names():
    names = []
    for v in VGG_CFGS:
        names += [v, v + "_bn"]
    names += list(RESNET_CFGS)
    return names + [n + "-cifar" for n in names]


def scale(c, w):
    """Width after the multiplier; int(x + 0.5) rounds halves up, as the C side does."""
    return max(1, int(c * w + 0.5))


# ---- counter-based RNG, bit-exact with src/util/rng.c ------------------------------------

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix64(x):
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def rng_u64(seed, stream, index):
    """mpsl_rng_u64(seed, stream, index) = mix64(mix64(mix64(seed) ^ stream) ^ index)."""
    s = mix64(np.uint64(seed) & _M64) ^ np.uint64(stream)
    return mix64(mix64(s) ^ np.asarray(index, dtype=np.uint64))


def rng_uniform(seed, stream, index):
    """mpsl_rng_uniform: the top 24 bits over 2**24, exact in float32."""
    return (rng_u64(seed, stream, index) >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)


# Printed by tests/golden/rng_ref.c from the C function: (seed, stream, index, value).
RNG_REFERENCE = [
    (0, 0x0, 0, 0x238275BC38FCBE91),
    (1234, 0x300000001, 17, 0xF8C42AB963C2D4C8),
    (3735928559, 0x2600000002, 100000, 0x54DD86EFFD14C330),
]


def rng_self_test():
    for seed, stream, index, want in RNG_REFERENCE:
        got = int(rng_u64(seed, stream, np.array([index]))[0])
        if got != want:
            raise AssertionError(
                "rng_u64(%d, %#x, %d) = %#018x, the C function gives %#018x" % (seed, stream, index, got, want))


def dropout_keep(seed, layer_index, step, numel, p):
    """Element i of the flattened (N, F) input is kept iff uniform(seed, stream, i) >= p,
    stream = (layer_index << 32) | step; compared in float32 as the C layer does."""
    stream = (int(layer_index) << 32) | int(step)
    u = rng_uniform(seed, stream, np.arange(numel, dtype=np.uint64))
    return u >= np.float32(p)


class MaskDropout(nn.Module):
    """Dropout with a mask the C engine can reproduce. layer_index is the 1-based
    position in the model's layer table; the step counter advances on every training
    forward pass, so it equals the training step when the model runs once per step."""

    def __init__(self, p=0.5, seed=0):
        super().__init__()
        self.p = float(p)
        self.seed = int(seed)
        self.layer_index = 0
        self.step = 0

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = dropout_keep(self.seed, self.layer_index, self.step, x.numel(), self.p)
        self.step += 1
        scale = np.float32(1.0) / (np.float32(1.0) - np.float32(self.p))
        mask = torch.from_numpy(keep.astype(np.float32) * scale).view_as(x)
        return x * mask

    def extra_repr(self):
        return "p=%g, seed=%d, layer_index=%d" % (self.p, self.seed, self.layer_index)


class TableModel(nn.Module):
    """A model whose forward pass is its layer table. Subclasses define table()."""

    def table(self):
        raise NotImplementedError

    def forward(self, x):
        for _, m in self.table():
            x = m(x)
        return x

    def _number_dropouts(self):
        for i, (_, m) in enumerate(self.table(), 1):
            if isinstance(m, MaskDropout):
                m.layer_index = i


# ---- VGG ---------------------------------------------------------------------------------

class VGG(TableModel):
    def __init__(self, cfg, bn, cifar, classes, channels, size, w, dropout_p, dropout_seed, inplace=False):
        super().__init__()
        layers, c, h = [], channels, size
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                h //= 2
            else:
                out = scale(v, w)
                layers.append(nn.Conv2d(c, out, kernel_size=3, padding=1))
                if bn:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=inplace))
                c = out
        if h < 1:
            raise ValueError("input size %d is too small for VGG (needs at least 32)" % size)
        self.features = nn.Sequential(*layers)
        self.flatten = nn.Flatten(1)
        self.cifar = cifar
        if cifar:
            self.classifier = nn.Linear(c * h * h, classes)
        else:
            hidden = scale(4096, w)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(c * 7 * 7, hidden), nn.ReLU(inplace=inplace), MaskDropout(dropout_p, dropout_seed),
                nn.Linear(hidden, hidden), nn.ReLU(inplace=inplace), MaskDropout(dropout_p, dropout_seed),
                nn.Linear(hidden, classes))
        self._number_dropouts()

    def table(self):
        t = [("features.%d" % i, m) for i, m in enumerate(self.features)]
        if self.cifar:
            return t + [("flatten", self.flatten), ("classifier", self.classifier)]
        t += [("avgpool", self.avgpool), ("flatten", self.flatten)]
        return t + [("classifier.%d" % i, m) for i, m in enumerate(self.classifier)]


# ---- ResNet (torchvision v1.5: the stride is on the 3x3 convolution) -----------------------

def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, inplace=False):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=inplace)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.relu.inplace:
            out += identity
            return self.relu(out)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, inplace=False):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=inplace)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.relu.inplace:
            out += identity
            return self.relu(out)
        return self.relu(out + identity)


class ResNet(TableModel):
    def __init__(self, block, layers, cifar, classes, channels, w, inplace=False):
        super().__init__()
        self.inplace = inplace
        block = BasicBlock if block == "basic" else Bottleneck
        self.inplanes = scale(64, w)
        self.cifar = cifar
        if cifar:
            self.conv1 = nn.Conv2d(channels, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=inplace)
        if not cifar:
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, scale(64, w), layers[0], 1)
        self.layer2 = self._make_layer(block, scale(128, w), layers[1], 2)
        self.layer3 = self._make_layer(block, scale(256, w), layers[2], 2)
        self.layer4 = self._make_layer(block, scale(512, w), layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(scale(512, w) * block.expansion, classes)
        del self.inplanes, self.inplace

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.inplace)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, inplace=self.inplace) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def table(self):
        t = [("conv1", self.conv1), ("bn1", self.bn1), ("relu", self.relu)]
        if not self.cifar:
            t.append(("maxpool", self.maxpool))
        for s in range(1, 5):
            t += [("layer%d.%d" % (s, i), b) for i, b in enumerate(getattr(self, "layer%d" % s))]
        return t + [("avgpool", self.avgpool), ("flatten", self.flatten), ("fc", self.fc)]


def build_model(name, classes=10, channels=3, size=32, width=1.0, dropout_p=0.5, dropout_seed=0, inplace=False):
    """name as the C side takes it: vgg11, vgg11_bn, ..., resnet152, each also with -cifar.
    inplace=True: ReLU(inplace=True) and in-place residual additions, as torchvision."""
    if name not in model_names():
        raise ValueError("unknown model '%s' (known: %s)" % (name, ", ".join(model_names())))
    if channels not in (1, 3):
        raise ValueError("channels must be 1 or 3")
    cifar = name.endswith("-cifar")
    base = name[:-len("-cifar")] if cifar else name
    if base.startswith("vgg"):
        bn = base.endswith("_bn")
        cfg = VGG_CFGS[base[:-3] if bn else base]
        return VGG(cfg, bn, cifar, classes, channels, size, width, dropout_p, dropout_seed, inplace)
    block, layers = RESNET_CFGS[base]
    return ResNet(block, layers, cifar, classes, channels, width, inplace)


def layer_kind(m):
    kinds = [(nn.Conv2d, "conv"), (nn.BatchNorm2d, "bn"), (nn.ReLU, "relu"), (nn.MaxPool2d, "maxpool"),
             (nn.AdaptiveAvgPool2d, "avgpool"), (nn.Flatten, "flatten"), (nn.Linear, "linear"),
             (MaskDropout, "dropout"), (BasicBlock, "block"), (Bottleneck, "block")]
    for cls, k in kinds:
        if isinstance(m, cls):
            return k
    return type(m).__name__


def matmul_flops(model, x):
    """Per-module forward FLOPs of convolutions and linear layers for input x, counting a
    multiply-add as 2 and leaving out bias additions; returns {module: flops for the batch}."""
    flops, hooks = {}, []

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
            flops[m] = flops.get(m, 0) + 2 * out.numel() * k
        else:
            flops[m] = flops.get(m, 0) + 2 * out.numel() * m.in_features

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return flops


def layer_table(model, channels, size):
    """[(index, name, kind, per-sample output shape, trainable parameters)] from a
    batch-1 evaluation pass through the table."""
    was_training = model.training
    model.eval()
    x = torch.zeros(1, channels, size, size)
    rows = []
    with torch.no_grad():
        for i, (name, m) in enumerate(model.table(), 1):
            x = m(x)
            params = sum(p.numel() for p in m.parameters())
            rows.append((i, name, layer_kind(m), tuple(x.shape[1:]), params))
    model.train(was_training)
    return rows


def format_table(model, name, classes, channels, size, width):
    rows = layer_table(model, channels, size)
    out = ["model %s  width %g  channels %d  classes %d  size %d" % (name, width, channels, classes, size),
           "%5s  %-14s %-8s %-16s %12s" % ("index", "name", "kind", "output", "params")]
    for i, n, k, shape, p in rows:
        out.append("%5d  %-14s %-8s %-16s %12d" % (i, n, k, "(" + ",".join(map(str, shape)) + ")", p))
    out.append("%5s  %-14s %-8s %-16s %12d" % ("", "total", "", "", sum(r[4] for r in rows)))
    return "\n".join(out)
