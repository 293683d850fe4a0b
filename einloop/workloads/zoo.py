"""A zoo of DNN workloads: every layer one Einsum with its real shape.

``get(name, batch=1, seq_len=None, bits=8)`` returns a :class:`~einloop.spec.workload.Workload`;
``names()`` lists what is here and ``describe(name)`` says what an entry is.

Conventions (tensor and rank names are those of :mod:`einloop.workloads.layers`):

* Layers chain by tensor name: ``T_<layer>`` is written by Einsum ``<layer>`` and read by the next
  layer; the network input is ``T_input``; learned weights are ``W_<layer>``.
* Convolutions carry stride, padding (a negative offset in the input index, so the input's
  projection includes the padding the windows touch), dilation and groups:
  ``T_conv1[n,m,p,q] += T_input[n,c,p*2+r-3,q*2+s-3] * W_conv1[m,c,r,s]``.
* Operations without MACs (ReLU, batch/layer/RMS norm, LRN, pooling, softmax, residual add, GELU,
  SiLU, RoPE) are Einsums with ``op != "mac"``; their tensor sizes are real and their MACs are 0.
  Dropout is an identity at inference and is left out; biases are not modelled (the published
  weight counts exclude them); classifiers end at the logits (no final softmax).
* Linear layers use PyTorch's weight layout ``W[out, in]``. The first FC layer of AlexNet and
  VGG-16 absorbs the flatten: ``T_fc6[n,m] += T_pool5[n,c,p,q] * W_fc6[m,c*36+p*6+q]``.
* Transformer blocks: b batch, t token, c model features in, m features out; attention
  ``T_qk[b,h,m,n] += T_q[b,h,m,e] * T_k[b,h,n,e]`` with m query and n key positions, e the head
  dimension. Q/K/V projections write head-major tensors, e.g.
  ``T_q[b,h,t,e] += T_ln_1[b,t,c] * W_q[h*64+e,c]``, and the output projection reads them back,
  ``T_proj[b,t,m] += T_av[b,h,t,e] * W_proj[m,h*64+e]``. Grouped-query attention (Llama) has
  g key/value heads, each shared by h query heads: ``T_qk[b,g*4+h,m,n] += T_q_rope[b,g*4+h,m,e] *
  T_k_rope[b,g,n,e]``. Scores are dense: a causal mask does not remove MACs.
* ``*_prefill`` processes ``seq_len`` prompt tokens (t = m = n = seq_len). ``*_decode`` generates
  one token (t = m = 1) against a key/value cache of ``seq_len`` positions (n = seq_len, the new
  token included): the K/V projections write the new token's ``T_k``/``T_v`` (appended to the
  cache in memory) and attention reads the workload inputs ``K_cache``/``V_cache``.
* Transformer entries are one block by default; ``blocks=L`` chains L blocks whose Einsum and
  tensor names get the prefix ``h<i>_``. Embeddings and the LM head are not included.

Sources for the shapes: AlexNet (Krizhevsky et al. 2012, 227x227 input, two groups in conv2/4/5)
and the torchvision channel plan (64/192/384/256/256, 224x224); VGG-16 (configuration D);
ResNet-18/50 (He et al. 2016; v1 strides the first 1x1 of a bottleneck, v1.5 as in torchvision
strides the 3x3); MobileNet-v1 1.0-224 and MobileNet-v2 1.0-224 as in torchvision; BERT-base
(d=768, 12 heads, FFN 3072, post-LN); GPT-2 small (d=768, 12 heads, FFN 3072, pre-LN);
GPT-3 6.7B (d=4096, 32 heads of 128, FFN 16384); Llama-3-8B-style (d=4096, 32 query heads,
8 key/value heads of 128, SwiGLU FFN 14336, RMSNorm, RoPE).
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from einloop.errors import SpecError
from einloop.spec.workload import Workload
from einloop.workloads import layers as L
from einloop.workloads.layers import Act, Network


# ---- CNNs --------------------------------------------------------------------------------------
def _conv_relu(net: Network, name: str, x: Act, m: int, k: int, *, relu: str = "relu", **kw) -> Act:
    x = net.add(L.conv(name, x, m, k, **kw))
    return net.add(L.activation(f"{name}_{relu}", x, relu))


def _conv_bn(net: Network, name: str, bn: str, x: Act, m: int, k: int, **kw) -> Act:
    x = net.add(L.conv(name, x, m, k, **kw))
    return net.add(L.batchnorm(bn, x))


def _classifier(net: Network, x: Act, widths: tuple[int, ...], first: int = 6) -> Act:
    """FC layers fc<first>, fc<first+1>, ... with ReLU between; the first one absorbs the flatten."""
    for i, w in enumerate(widths):
        name = f"fc{first + i}"
        x = net.add(L.linear(name, x, w, flatten=(i == 0)))
        if i < len(widths) - 1:
            x = net.add(L.activation(f"{name}_relu", x))
    return x


def alexnet(batch: int, bits: int) -> Workload:
    """Original AlexNet: 227x227 input, conv2/4/5 split over two groups, LRN after conv1/2."""
    net = Network("alexnet", bits)
    x = net.input((batch, 3, 227, 227))
    x = _conv_relu(net, "conv1", x, 96, 11, stride=4)
    x = net.add(L.activation("norm1", x, "lrn"))
    x = net.add(L.pool("pool1", x, 3, stride=2))
    x = _conv_relu(net, "conv2", x, 256, 5, padding=2, groups=2)
    x = net.add(L.activation("norm2", x, "lrn"))
    x = net.add(L.pool("pool2", x, 3, stride=2))
    x = _conv_relu(net, "conv3", x, 384, 3, padding=1)
    x = _conv_relu(net, "conv4", x, 384, 3, padding=1, groups=2)
    x = _conv_relu(net, "conv5", x, 256, 3, padding=1, groups=2)
    x = net.add(L.pool("pool5", x, 3, stride=2))
    _classifier(net, x, (4096, 4096, 1000))
    return net.workload()


def alexnet_torchvision(batch: int, bits: int) -> Workload:
    """torchvision's AlexNet channel plan (64/192/384/256/256), 224x224 input, no groups, no LRN."""
    net = Network("alexnet_torchvision", bits)
    x = net.input((batch, 3, 224, 224))
    x = _conv_relu(net, "conv1", x, 64, 11, stride=4, padding=2)
    x = net.add(L.pool("pool1", x, 3, stride=2))
    x = _conv_relu(net, "conv2", x, 192, 5, padding=2)
    x = net.add(L.pool("pool2", x, 3, stride=2))
    x = _conv_relu(net, "conv3", x, 384, 3, padding=1)
    x = _conv_relu(net, "conv4", x, 256, 3, padding=1)
    x = _conv_relu(net, "conv5", x, 256, 3, padding=1)
    x = net.add(L.pool("pool5", x, 3, stride=2))
    _classifier(net, x, (4096, 4096, 1000))
    return net.workload()


def vgg16(batch: int, bits: int) -> Workload:
    """VGG-16 (configuration D): thirteen 3x3 convs in five stages, three FC layers."""
    net = Network("vgg16", bits)
    x = net.input((batch, 3, 224, 224))
    for stage, (width, convs) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), start=1):
        for i in range(1, convs + 1):
            x = _conv_relu(net, f"conv{stage}_{i}", x, width, 3, padding=1)
        x = net.add(L.pool(f"pool{stage}", x, 2, stride=2))
    _classifier(net, x, (4096, 4096, 1000))
    return net.workload()


def _resnet(name: str, batch: int, bits: int, block: str, counts: tuple[int, ...], stride_on_1x1: bool = False):
    """ResNet with torchvision's layer names (conv1, layer1_0_conv1, layer1_0_downsample_0, fc, ...)."""
    net = Network(name, bits)
    x = net.input((batch, 3, 224, 224))
    x = _conv_bn(net, "conv1", "bn1", x, 64, 7, stride=2, padding=3)
    x = net.add(L.activation("relu", x))
    x = net.add(L.pool("maxpool", x, 3, stride=2, padding=1))
    expansion = 4 if block == "bottleneck" else 1
    for li, (width, count) in enumerate(zip((64, 128, 256, 512), counts), start=1):
        for bi in range(count):
            p = f"layer{li}_{bi}_"
            stride = 2 if li > 1 and bi == 0 else 1
            identity = x
            if block == "bottleneck":
                s1, s2 = (stride, 1) if stride_on_1x1 else (1, stride)
                y = _conv_bn(net, p + "conv1", p + "bn1", x, width, 1, stride=s1)
                y = net.add(L.activation(p + "relu", y))
                y = _conv_bn(net, p + "conv2", p + "bn2", y, width, 3, stride=s2, padding=1)
                y = net.add(L.activation(p + "relu_1", y))
                y = _conv_bn(net, p + "conv3", p + "bn3", y, width * 4, 1)
            else:
                y = _conv_bn(net, p + "conv1", p + "bn1", x, width, 3, stride=stride, padding=1)
                y = net.add(L.activation(p + "relu", y))
                y = _conv_bn(net, p + "conv2", p + "bn2", y, width, 3, padding=1)
            if stride != 1 or x.shape[1] != width * expansion:
                identity = _conv_bn(net, p + "downsample_0", p + "downsample_1", x, width * expansion, 1,
                                    stride=stride)
            y = net.add(L.add(p + "add", y, identity))
            x = net.add(L.activation(p + "relu_out", y))
    x = net.add(L.global_pool("avgpool", x))
    net.add(L.linear("fc", x, 1000))
    return net.workload()


def resnet18(batch: int, bits: int) -> Workload:
    return _resnet("resnet18", batch, bits, "basic", (2, 2, 2, 2))


def resnet50_v1(batch: int, bits: int) -> Workload:
    return _resnet("resnet50_v1", batch, bits, "bottleneck", (3, 4, 6, 3), stride_on_1x1=True)


def resnet50_v1_5(batch: int, bits: int) -> Workload:
    return _resnet("resnet50_v1.5", batch, bits, "bottleneck", (3, 4, 6, 3), stride_on_1x1=False)


def mobilenet_v1(batch: int, bits: int) -> Workload:
    """MobileNet-v1 1.0-224: a 3x3 conv then 13 depthwise-separable blocks, global pool, FC."""
    net = Network("mobilenet_v1", bits)
    x = net.input((batch, 3, 224, 224))
    x = _conv_bn(net, "conv0", "conv0_bn", x, 32, 3, stride=2, padding=1)
    x = net.add(L.activation("conv0_relu", x))
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (width, stride) in enumerate(plan, start=1):
        x = _conv_bn(net, f"dw{i}", f"dw{i}_bn", x, x.shape[1], 3, stride=stride, padding=1, groups=x.shape[1])
        x = net.add(L.activation(f"dw{i}_relu", x))
        x = _conv_bn(net, f"pw{i}", f"pw{i}_bn", x, width, 1)
        x = net.add(L.activation(f"pw{i}_relu", x))
    x = net.add(L.global_pool("avgpool", x))
    net.add(L.linear("fc", x, 1000))
    return net.workload()


def mobilenet_v2(batch: int, bits: int) -> Workload:
    """MobileNet-v2 1.0-224 (torchvision): inverted residuals with ReLU6 and linear bottlenecks."""
    net = Network("mobilenet_v2", bits)
    x = net.input((batch, 3, 224, 224))
    x = _conv_bn(net, "conv0", "conv0_bn", x, 32, 3, stride=2, padding=1)
    x = net.add(L.activation("conv0_relu6", x, "relu6"))
    settings = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))
    i = 0
    for t, width, count, first_stride in settings:
        for j in range(count):
            i += 1
            stride = first_stride if j == 0 else 1
            p, cin, y = f"block{i}_", x.shape[1], x
            if t != 1:
                y = _conv_bn(net, p + "expand", p + "expand_bn", y, cin * t, 1)
                y = net.add(L.activation(p + "expand_relu6", y, "relu6"))
            y = _conv_bn(net, p + "dw", p + "dw_bn", y, y.shape[1], 3, stride=stride, padding=1, groups=y.shape[1])
            y = net.add(L.activation(p + "dw_relu6", y, "relu6"))
            y = _conv_bn(net, p + "project", p + "project_bn", y, width, 1)
            x = net.add(L.add(p + "add", y, x)) if stride == 1 and cin == width else y
    x = _conv_bn(net, "conv_last", "conv_last_bn", x, 1280, 1)
    x = net.add(L.activation("conv_last_relu6", x, "relu6"))
    x = net.add(L.global_pool("avgpool", x))
    net.add(L.linear("fc", x, 1000))
    return net.workload()


def lab1_mnist(batch: int, bits: int) -> Workload:
    """The course's Lab 1 MNIST CNN: conv 1->4 5x5 pad 2, pool, conv 4->8 5x5 pad 2, pool, FC 392->256->10."""
    net = Network("lab1_mnist", bits)
    x = net.input((batch, 1, 28, 28))
    x = _conv_relu(net, "conv1", x, 4, 5, padding=2)
    x = net.add(L.pool("pool1", x, 2))
    x = _conv_relu(net, "conv2", x, 8, 5, padding=2)
    x = net.add(L.pool("pool2", x, 2))
    x = net.add(L.linear("fc1", x, 256, flatten=True))
    x = net.add(L.activation("fc1_relu", x))
    net.add(L.linear("fc2", x, 10))
    return net.workload()


# ---- transformers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dims:
    d: int            # model width
    heads: int        # query heads
    head_dim: int
    ffn: int
    kv_heads: int = 0  # key/value heads for grouped-query attention (0: same as heads)


def _block(net: Network, x: Act, dims: _Dims, *, style: str, decode: bool, seq_len: int, pre: str) -> Act:
    """One transformer block. style: 'bert' (post-LN, GELU), 'gpt' (pre-LN, GELU), 'llama' (RMSNorm, RoPE,
    SwiGLU, grouped-query attention)."""
    b, t = x.shape[0], x.shape[1]
    n = seq_len
    H, E, D, F = dims.heads, dims.head_dim, dims.d, dims.ffn
    G = dims.kv_heads or H
    ln = "rmsnorm" if style == "llama" else "layernorm"
    bt = {"b": b, "t": t}

    def norm(name: str, src: Act) -> Act:
        e = L.rmsnorm(pre + name, src) if ln == "rmsnorm" else L.layernorm(pre + name, src)
        return net.add(e)

    def proj(name: str, src: Act, heads: int, hrank: str) -> Act:
        return net.einsum(pre + name, f"T_{pre}{name}[b,{hrank},t,e] += {src.name}[b,t,c] * "
                          f"W_{pre}{name}[{hrank}*{E}+e,c]", bt | {hrank: heads, "e": E, "c": D})

    def linear(name: str, src: Act, out: int) -> Act:
        return net.add(L.linear(pre + name, src, out, lead=("b", "t")))

    h_in = norm("ln_1" if style != "llama" else "attn_norm", x) if style != "bert" else x
    q = proj("q", h_in, H, "h")
    k = proj("k", h_in, G, "g" if G != H else "h")
    v = proj("v", h_in, G, "g" if G != H else "h")
    if style == "llama":
        rope = {"b": b, "h": H, "t": t, "e": E}
        q = net.einsum(pre + "q_rope", f"T_{pre}q_rope[b,h,t,e] = {q.name}[b,h,t,e] * T_rope[t,e]", rope, op="rope")
        rope = {"b": b, "g": G, "t": t, "e": E}
        k = net.einsum(pre + "k_rope", f"T_{pre}k_rope[b,g,t,e] = {k.name}[b,g,t,e] * T_rope[t,e]", rope, op="rope")
    if decode:  # attention reads the whole cache; the new k/v are appended to it in memory
        k = Act(f"{pre}K_cache", (b, G, n, E), net.bits)
        v = Act(f"{pre}V_cache", (b, G, n, E), net.bits)
    s = net.add(L.attention_scores(pre + "qk", q, k))
    s = net.add(L.softmax(pre + "softmax", s, ranks=("b", "h", "m", "n")))
    o = net.add(L.attention_values(pre + "av", s, v))
    o = net.einsum(pre + "proj", f"T_{pre}proj[b,t,m] += {o.name}[b,h,t,e] * W_{pre}proj[m,h*{E}+e]",
                   bt | {"m": D, "h": H, "e": E})
    x = net.add(L.add(pre + "add_1", x, o))
    if style == "bert":
        x = norm("ln_1", x)
    h_in = x if style == "bert" else norm("ln_2" if style != "llama" else "ffn_norm", x)
    if style == "llama":
        gate = linear("gate", h_in, F)
        up = linear("up", h_in, F)
        gate = net.add(L.activation(pre + "silu", gate, "silu"))
        h = net.add(L.elementwise(pre + "mul", "mul", gate, up))
        h = linear("down", h, D)
    else:
        h = linear("fc", h_in, F)
        h = net.add(L.activation(pre + "gelu", h, "gelu"))
        h = linear("fc2", h, D)
    x = net.add(L.add(pre + "add_2", x, h))
    if style == "bert":
        x = norm("ln_2", x)
    return x


def _transformer(name: str, dims: _Dims, style: str, decode: bool, batch: int, seq_len: int, bits: int,
                 blocks: int) -> Workload:
    net = Network(name, bits)
    x = net.input((batch, 1 if decode else seq_len, dims.d))
    for i in range(blocks):
        x = _block(net, x, dims, style=style, decode=decode, seq_len=seq_len, pre=f"h{i}_" if blocks > 1 else "")
    return net.workload()


BERT_BASE = _Dims(768, 12, 64, 3072)
GPT2_SMALL = _Dims(768, 12, 64, 3072)
GPT3_6_7B = _Dims(4096, 32, 128, 16384)
LLAMA3_8B = _Dims(4096, 32, 128, 14336, kv_heads=8)


# ---- registry ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    build: Callable[..., Workload]
    transformer: bool = False
    default_seq_len: int | None = None


def _t(name: str, dims: _Dims, style: str, decode: bool, seq: int, desc: str) -> Entry:
    def build(batch: int, bits: int, seq_len: int, blocks: int = 1) -> Workload:
        return _transformer(name, dims, style, decode, batch, seq_len, bits, blocks)
    return Entry(name, desc, build, True, seq)


_ENTRIES = [
    Entry("alexnet", "AlexNet, original: 227x227, conv2/4/5 in two groups, LRN (724.4 M MACs)", alexnet),
    Entry("alexnet_torchvision", "AlexNet, torchvision channel plan 64/192/384/256/256, 224x224", alexnet_torchvision),
    Entry("vgg16", "VGG-16 (configuration D), 224x224", vgg16),
    Entry("resnet18", "ResNet-18, 224x224", resnet18),
    Entry("resnet50_v1", "ResNet-50 v1: stride on the first 1x1 of each downsampling bottleneck", resnet50_v1),
    Entry("resnet50_v1.5", "ResNet-50 v1.5 (torchvision): stride on the 3x3", resnet50_v1_5),
    Entry("mobilenet_v1", "MobileNet-v1 1.0-224: depthwise-separable convolutions", mobilenet_v1),
    Entry("mobilenet_v2", "MobileNet-v2 1.0-224: inverted residuals, depthwise 3x3, ReLU6", mobilenet_v2),
    Entry("lab1_mnist", "The course's Lab 1 MNIST CNN (28x28, two 5x5 convs, two FC)", lab1_mnist),
    _t("bert_base_layer", BERT_BASE, "bert", False, 512, "BERT-base encoder layer (d=768, 12 heads, FFN 3072)"),
    _t("gpt2_small_prefill", GPT2_SMALL, "gpt", False, 1024, "GPT-2 small decoder block, prefill of seq_len tokens"),
    _t("gpt2_small_decode", GPT2_SMALL, "gpt", True, 1024, "GPT-2 small decoder block, one token, seq_len cache"),
    _t("gpt3_6.7b_prefill", GPT3_6_7B, "gpt", False, 2048, "GPT-3 6.7B decoder block (d=4096, 32x128, FFN 16384), "
                                                            "prefill"),
    _t("gpt3_6.7b_decode", GPT3_6_7B, "gpt", True, 2048, "GPT-3 6.7B decoder block, one token, seq_len cache"),
    _t("llama3_8b_prefill", LLAMA3_8B, "llama", False, 8192, "Llama-3-8B-style block: grouped-query attention "
                                                              "(32 query / 8 key-value heads), SwiGLU, prefill"),
    _t("llama3_8b_decode", LLAMA3_8B, "llama", True, 8192, "Llama-3-8B-style block, one token, seq_len cache"),
]
_REGISTRY = {e.name: e for e in _ENTRIES}
ALIASES = {"resnet50": "resnet50_v1.5", "vgg": "vgg16", "mobilenet": "mobilenet_v1", "bert_base": "bert_base_layer"}


def names() -> list[str]:
    """Names accepted by :func:`get` (aliases such as ``resnet50`` -> ``resnet50_v1.5`` are not listed)."""
    return list(_REGISTRY)


def describe(name: str) -> str:
    return _entry(name).description


def _entry(name: str) -> Entry:
    key = ALIASES.get(name, name)
    if key not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY) + list(ALIASES), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SpecError(f"no workload named {name!r} in the zoo{hint} Available: {', '.join(_REGISTRY)}",
                        field="workload")
    return _REGISTRY[key]


def get(name: str, batch: int = 1, seq_len: int | None = None, *, bits: int = 8, blocks: int = 1) -> Workload:
    """The zoo workload ``name`` for ``batch`` inputs.

    ``seq_len`` (transformers only) is the prompt length for ``*_prefill`` and the key/value cache
    length for ``*_decode``; it defaults to the model's context length. ``bits`` is the width of
    every tensor; ``blocks`` chains that many transformer blocks.
    """
    entry = _entry(name)
    for what, v in (("batch", batch), ("bits", bits), ("blocks", blocks)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise SpecError(f"{what} must be a positive integer, got {v!r}", field=what)
    if not entry.transformer:
        if seq_len is not None:
            raise SpecError(f"seq_len applies to transformer workloads only, not {entry.name}", field="seq_len")
        if blocks != 1:
            raise SpecError(f"blocks applies to transformer workloads only, not {entry.name}", field="blocks")
        return entry.build(batch, bits)
    seq_len = entry.default_seq_len if seq_len is None else seq_len
    if not isinstance(seq_len, int) or isinstance(seq_len, bool) or seq_len < 1:
        raise SpecError(f"seq_len must be a positive integer, got {seq_len!r}", field="seq_len")
    return entry.build(batch, bits, seq_len, blocks)


__all__ = ["ALIASES", "describe", "get", "names"]
