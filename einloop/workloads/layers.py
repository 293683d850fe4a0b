"""Layer builders: each function returns one Einsum with the layer's real shape.

A network is a chain of Einsums that share tensors by name: a layer's output tensor is the next
layer's input. Builders take the input activation as an :class:`Act` (tensor name, shape, bits) and
return an :class:`~einloop.spec.workload.Einsum`; :func:`output_act` turns that Einsum's output back
into an ``Act`` for the next layer, and :class:`Network` does both while collecting a Workload.

Tensor names
    ``T_<layer>``  activation written by Einsum ``<layer>`` (the network input is ``T_input``).
    ``W_<layer>``  learned parameters (weights) of ``<layer>``; normalizations have
                   ``W_<layer>_scale`` and ``W_<layer>_shift``. Biases are not modelled (they are
                   folded into the output's initial value), as in the published weight counts.
    Anything else (``K_cache``, ``V_cache``, ``T_rope``) is a workload input that is not a weight.

Rank names (each Einsum names its own ranks; the same letter may mean different things in
different Einsums, but the conventions below hold within each family)
    convolution   n batch, m output channels, c input channels, g groups, p,q output rows/cols,
                  r,s filter rows/cols. ``O[n,m,p,q] += I[n,c,p*2+r-3,q*2+s-3] * W[m,c,r,s]``.
                  Stride multiplies p,q, dilation multiplies r,s, and padding is a negative
                  offset, so input coordinates are those of the unpadded producer tensor and the
                  input's size (its projection) includes the padding halo that the window touches.
                  Grouped: ``O[n,g*Mg+m,p,q] += I[n,g*Cg+c,...] * W[g*Mg+m,c,r,s]``; depthwise
                  (one input and one output channel per group) drops m and c:
                  ``O[n,g,p,q] += I[n,g,...] * W[g,r,s]``. conv1d uses p and r only.
    linear / FC   ``Y[n,m] += X[n,c] * W[m,c]`` (W in PyTorch's [out, in] layout); token-wise
                  layers in transformers use b batch and t token: ``Y[b,t,m] += X[b,t,c] * W[m,c]``.
                  A linear layer that reads a 4-D feature map (the flatten is absorbed) indexes the
                  weight row-major: ``Y[n,m] += X[n,c,p,q] * W[m,c*36+p*6+q]``.
    matmul / bmm  ``Z[m,n] += A[m,k] * B[k,n]`` with batch ranks b (and h) in front.
    attention     b batch, h heads, m query positions, n key positions, e head dimension:
                  ``S[b,h,m,n] += Q[b,h,m,e] * K[b,h,n,e]`` and ``O[b,h,m,e] += P[b,h,m,n] * V[b,h,n,e]``.
                  Grouped-query attention splits the query heads into g key/value groups of h heads:
                  ``S[b,g*H+h,m,n] += Q[b,g*H+h,m,e] * K[b,g,n,e]``.
    elementwise   2-D n,c; 3-D b,t,c; 4-D n,c,p,q; otherwise i0, i1, ...

Operations without MACs (activations, normalization, softmax, pooling, residual add) are Einsums
with ``op`` other than ``"mac"``: their tensors and sizes are real, their ``macs`` is 0, and they
are written with ``=`` instead of ``+=``. The product in their text only lists the operands.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from einloop.errors import SpecError
from einloop.spec.workload import Einsum, Workload

WEIGHT_PREFIX = "W_"
ACT_PREFIX = "T_"
MAC = "mac"
#: op names used by the builders for Einsums without MACs
NON_MAC_OPS = ("relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "softmax", "batchnorm",
               "layernorm", "rmsnorm", "lrn", "maxpool", "avgpool", "add", "mul", "sub", "div", "rope",
               "reshape", "copy")


@dataclass(frozen=True)
class Act:
    """An activation tensor: its name, shape and bits per value."""

    name: str
    shape: tuple[int, ...]
    bits: int = 8

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if any(s < 1 for s in self.shape):
            raise SpecError(f"tensor {self.name} has a non-positive dimension in shape {self.shape}", field="shape")


def is_weight(tensor_name: str) -> bool:
    """True for learned parameters (the ``W_`` prefix)."""
    return tensor_name.startswith(WEIGHT_PREFIX)


def output_act(einsum: Einsum) -> Act:
    """The output tensor of ``einsum`` as an activation for the next layer."""
    out = einsum.output
    return Act(out.name, out.extents(einsum.ranks), out.bits)


# ---- index strings ------------------------------------------------------------------------------
def index(terms: Sequence[tuple[str, int]] = (), offset: int = 0) -> str:
    """``[("p", 2), ("r", 1)], -3`` -> ``"p*2+r-3"``; no terms and no offset -> ``"0"``."""
    parts = [r if c == 1 else f"{r}*{c}" for r, c in terms if c]
    text = "+".join(parts)
    if offset:
        text = f"{text}{offset:+d}" if text else str(offset)
    return text or "0"


def row_major(ranks: Sequence[str], sizes: Sequence[int]) -> str:
    """Index of a flattened (row-major) coordinate: ``c,p,q`` of sizes ``C,6,6`` -> ``c*36+p*6+q``."""
    terms, stride = [], 1
    for r, s in reversed(list(zip(ranks, sizes))):
        terms.append((r, stride))
        stride *= s
    return index(list(reversed(terms)))


def einsum(name: str, output: tuple[str, Sequence[str]], inputs: Sequence[tuple[str, Sequence[str]]],
           ranks: dict[str, int], *, op: str = MAC, bits: int | dict[str, int] = 8) -> Einsum:
    """Build an Einsum from ``(tensor, [index strings])`` pairs; ranks of bound 1 are kept."""
    def access(t: str, idx: Sequence[str]) -> str:
        return f"{t}[{','.join(idx)}]"

    text = f"{access(*output)} {'+=' if op == MAC else '='} " + " * ".join(access(*a) for a in inputs)
    names = [output[0]] + [a[0] for a in inputs]
    bits_map = dict(bits) if isinstance(bits, dict) else {t: bits for t in names}
    e = Einsum.parse(text, ranks, name=name, bits=bits_map)
    return e if op == MAC else replace(e, op=op)


def _dims(value, n: int, what: str) -> tuple[int, ...]:
    t = (value,) * n if isinstance(value, int) else tuple(int(v) for v in value)
    if len(t) != n:
        raise SpecError(f"{what} needs {n} value(s), got {value!r}", field=what)
    return t


def _pads(padding, kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Per spatial dim (begin, end) padding from an int, a tuple, begin/end pairs, 'valid' or 'same'."""
    n = len(kernel)
    if padding == "valid":
        return ((0, 0),) * n
    if padding == "same":  # stride 1; PyTorch puts the odd extra element at the end
        tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in tot)
    if isinstance(padding, int):
        return ((padding, padding),) * n
    pads = list(padding)
    if len(pads) == n and all(isinstance(p, int) for p in pads):
        return tuple((p, p) for p in pads)
    if len(pads) == 2 * n and all(isinstance(p, int) for p in pads):  # ONNX order: begins..., ends...
        return tuple((pads[i], pads[i + n]) for i in range(n))
    if len(pads) == n and all(len(p) == 2 for p in pads):
        return tuple((int(a), int(b)) for a, b in pads)
    raise SpecError(f"padding {padding!r} not understood; give an int, one int per spatial dim, "
                    "(begin, end) pairs, 'valid' or 'same'", field="padding")


def _window(name: str, x: Act, kernel, stride, padding, dilation, ceil_mode: bool = False):
    """Output sizes and input index strings of a sliding window over the spatial dims of x."""
    nsp = len(x.shape) - 2
    if nsp not in (1, 2):
        raise SpecError(f"{name}: input {x.name} has shape {x.shape}; expected [N, C, W] or [N, C, H, W]",
                        field="shape")
    kernel = _dims(kernel, nsp, "kernel")
    stride = _dims(kernel if stride is None else stride, nsp, "stride")
    dilation = _dims(dilation, nsp, "dilation")
    pads = _pads(padding, kernel, dilation)
    out_ranks, win_ranks = ("p", "q")[:nsp], ("r", "s")[:nsp]
    sizes, idx = [], []
    for i in range(nsp):
        h, k, s, d, (b, e) = x.shape[2 + i], kernel[i], stride[i], dilation[i], pads[i]
        span = h + b + e - d * (k - 1) - 1
        p = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (p - 1) * s >= h + b:  # PyTorch: the last window must start inside the input
            p -= 1
        if p < 1 or (span < 0 and not ceil_mode):
            raise SpecError(f"{name}: a {k}-wide window (dilation {d}) does not fit input size {h} with "
                            f"padding {b}+{e}", field="kernel")
        sizes.append(p)
        idx.append(index([(out_ranks[i], s), (win_ranks[i], d)], -b))
    return out_ranks, win_ranks, kernel, sizes, idx


# ---- MAC layers ---------------------------------------------------------------------------------
def conv_accesses(name: str, shape: Sequence[int], out_channels: int, kernel, *, stride=1, padding=0, dilation=1,
                  groups: int = 1) -> tuple[dict[str, int], list[str], list[str], list[str]]:
    """Ranks and the index strings of output, input and weight of a convolution on an input of ``shape``."""
    n, c = shape[0], shape[1]
    if groups < 1 or c % groups or out_channels % groups:
        raise SpecError(f"{name}: groups={groups} must divide input channels {c} and output channels "
                        f"{out_channels}", field="groups")
    out_ranks, win_ranks, kernel, sizes, sp_idx = _window(name, Act("x", tuple(shape)), kernel, stride, padding,
                                                          dilation)
    cg, mg = c // groups, out_channels // groups
    ranks: dict[str, int] = {"n": n}
    if groups == 1:
        ranks |= {"m": out_channels, "c": c}
        oc, ic, wc = "m", "c", ["m", "c"]
    else:
        ranks["g"] = groups
        oc = index([("g", mg), ("m", 1)]) if mg > 1 else "g"
        ic = index([("g", cg), ("c", 1)]) if cg > 1 else "g"
        if mg > 1:
            ranks["m"] = mg
        if cg > 1:
            ranks["c"] = cg
        wc = [oc] + (["c"] if cg > 1 else [])
    ranks |= dict(zip(out_ranks, sizes)) | dict(zip(win_ranks, kernel))
    return ranks, ["n", oc, *out_ranks], ["n", ic, *sp_idx], [*wc, *win_ranks]


def conv(name: str, x: Act, out_channels: int, kernel, *, stride=1, padding=0, dilation=1, groups: int = 1,
         bits: int | None = None, out: str | None = None, weight: str | None = None) -> Einsum:
    """1-D or 2-D convolution (grouped and depthwise included) on x of shape [N, C, (H,) W]."""
    ranks, o_idx, x_idx, w_idx = conv_accesses(name, x.shape, out_channels, kernel, stride=stride, padding=padding,
                                               dilation=dilation, groups=groups)
    out, weight = out or ACT_PREFIX + name, weight or WEIGHT_PREFIX + name
    return einsum(name, (out, o_idx), [(x.name, x_idx), (weight, w_idx)], ranks, bits=x.bits if bits is None else bits)


conv2d = conv
conv1d = conv


def depthwise_conv(name: str, x: Act, kernel, *, stride=1, padding=0, dilation=1, multiplier: int = 1,
                   **kw) -> Einsum:
    """Depthwise convolution: one group per input channel, ``multiplier`` outputs per group."""
    return conv(name, x, x.shape[1] * multiplier, kernel, stride=stride, padding=padding, dilation=dilation,
                groups=x.shape[1], **kw)


def linear(name: str, x: Act, out_features: int, *, flatten: bool = False, lead: Sequence[str] | None = None,
           bits: int | None = None, out: str | None = None, weight: str | None = None) -> Einsum:
    """Fully connected layer over the last dim of x (or over all dims after the first if ``flatten``)."""
    bits = x.bits if bits is None else bits
    out, weight = out or ACT_PREFIX + name, weight or WEIGHT_PREFIX + name
    if flatten:
        if len(x.shape) < 2:
            raise SpecError(f"{name}: flatten needs at least 2 dims, got shape {x.shape}", field="shape")
        feat = ("c", "p", "q") if len(x.shape) == 4 else tuple(f"k{i}" for i in range(len(x.shape) - 1))
        ranks = {"n": x.shape[0], "m": out_features} | dict(zip(feat, x.shape[1:]))
        return einsum(name, (out, ["n", "m"]), [(x.name, ["n", *feat]), (weight, ["m", row_major(feat, x.shape[1:])])],
                      ranks, bits=bits)
    lead = tuple(lead) if lead is not None else _lead_ranks(len(x.shape) - 1)
    if len(lead) != len(x.shape) - 1:
        raise SpecError(f"{name}: {len(lead)} leading rank name(s) for input shape {x.shape}", field="lead")
    ranks = dict(zip(lead, x.shape[:-1])) | {"m": out_features, "c": x.shape[-1]}
    return einsum(name, (out, [*lead, "m"]), [(x.name, [*lead, "c"]), (weight, ["m", "c"])], ranks, bits=bits)


def _lead_ranks(k: int) -> tuple[str, ...]:
    return {0: (), 1: ("n",), 2: ("b", "t")}.get(k) or tuple(f"i{i}" for i in range(k))


def matmul(name: str, a: Act, b: Act, *, transpose_b: bool = False, bits: int | None = None,
           out: str | None = None) -> Einsum:
    """``Z[...,m,n] += A[...,m,k] * B[...,k,n]`` (or ``B[...,n,k]`` if ``transpose_b``); B may lack batch dims."""
    bits = a.bits if bits is None else bits
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise SpecError(f"{name}: matmul operands need 2+ dims, got {a.shape} and {b.shape}", field="shape")
    m, k = a.shape[-2:]
    kb, nn = (b.shape[-1], b.shape[-2]) if transpose_b else b.shape[-2:]
    if k != kb:
        raise SpecError(f"{name}: inner dimensions differ: {a.shape} @ {b.shape}", field="shape")
    batch = a.shape[:-2]
    bnames = {0: (), 1: ("b",), 2: ("b", "h")}.get(len(batch)) or tuple(f"b{i}" for i in range(len(batch)))
    bb = b.shape[:-2]
    if len(bb) > len(batch) or any(s not in (1, t) for s, t in zip(reversed(bb), reversed(batch))):
        raise SpecError(f"{name}: batch dims of {b.shape} do not broadcast to {a.shape}", field="shape")
    b_batch = [("0" if s == 1 and t > 1 else r) for r, s, t in zip(bnames[len(batch) - len(bb):], bb,
                                                                   batch[len(batch) - len(bb):])]
    ranks = dict(zip(bnames, batch)) | {"m": m, "n": nn, "k": k}
    b_idx = [*b_batch, "n", "k"] if transpose_b else [*b_batch, "k", "n"]
    return einsum(name, (out or ACT_PREFIX + name, [*bnames, "m", "n"]),
                  [(a.name, [*bnames, "m", "k"]), (b.name, b_idx)], ranks, bits=bits)


bmm = matmul


def _heads(name: str, q_heads: int, kv_heads: int) -> tuple[dict[str, int], str, str]:
    """Ranks and head indices for (grouped-query) attention: query index, key/value index."""
    if kv_heads == q_heads:
        return {"h": q_heads}, "h", "h"
    if kv_heads < 1 or q_heads % kv_heads:
        raise SpecError(f"{name}: {q_heads} query heads are not a multiple of {kv_heads} key/value heads",
                        field="heads")
    per = q_heads // kv_heads
    return {"g": kv_heads, "h": per}, index([("g", per), ("h", 1)]), "g"


def attention_scores(name: str, q: Act, k: Act, *, bits: int | None = None, out: str | None = None) -> Einsum:
    """QK^T: ``S[b,h,m,n] += Q[b,h,m,e] * K[b,h,n,e]``; q is [B, H, M, E], k is [B, G, N, E] (G divides H)."""
    bits = q.bits if bits is None else bits
    (bq, hq, m, e), (bk, hk, n, ek) = _four(name, q), _four(name, k)
    if bq != bk or e != ek:
        raise SpecError(f"{name}: query {q.shape} and key {k.shape} disagree on batch or head size", field="shape")
    heads, qh, kh = _heads(name, hq, hk)
    ranks = {"b": bq} | heads | {"m": m, "n": n, "e": e}
    return einsum(name, (out or ACT_PREFIX + name, ["b", qh, "m", "n"]),
                  [(q.name, ["b", qh, "m", "e"]), (k.name, ["b", kh, "n", "e"])], ranks, bits=bits)


def attention_values(name: str, p: Act, v: Act, *, bits: int | None = None, out: str | None = None) -> Einsum:
    """AV: ``O[b,h,m,e] += P[b,h,m,n] * V[b,h,n,e]``; p is [B, H, M, N], v is [B, G, N, E]."""
    bits = p.bits if bits is None else bits
    (bp, hp, m, n), (bv, hv, nv, e) = _four(name, p), _four(name, v)
    if bp != bv or n != nv:
        raise SpecError(f"{name}: probabilities {p.shape} and values {v.shape} disagree on batch or keys",
                        field="shape")
    heads, ph, vh = _heads(name, hp, hv)
    ranks = {"b": bp} | heads | {"m": m, "n": n, "e": e}
    return einsum(name, (out or ACT_PREFIX + name, ["b", ph, "m", "e"]),
                  [(p.name, ["b", ph, "m", "n"]), (v.name, ["b", vh, "n", "e"])], ranks, bits=bits)


def _four(name: str, x: Act) -> tuple[int, int, int, int]:
    if len(x.shape) != 4:
        raise SpecError(f"{name}: attention operand {x.name} must be [batch, heads, positions, dim], "
                        f"got shape {x.shape}", field="shape")
    return x.shape  # type: ignore[return-value]


# ---- operations without MACs -------------------------------------------------------------------
def default_ranks(ndim: int) -> tuple[str, ...]:
    return {1: ("c",), 2: ("n", "c"), 3: ("b", "t", "c"), 4: ("n", "c", "p", "q")}.get(ndim) or \
        tuple(f"i{i}" for i in range(ndim))


def elementwise(name: str, op: str, *xs: Act, ranks: Sequence[str] | None = None, bits: int | None = None,
                out: str | None = None) -> Einsum:
    """``op`` applied element by element, with NumPy broadcasting of the operands."""
    if not xs:
        raise SpecError(f"{name}: an elementwise op needs at least one operand", field="inputs")
    nd = max(len(x.shape) for x in xs)
    shape = [1] * nd
    for x in xs:
        for i, s in enumerate(x.shape, start=nd - len(x.shape)):
            if s != 1 and shape[i] not in (1, s):
                raise SpecError(f"{name}: shapes {[x.shape for x in xs]} do not broadcast", field="shape")
            shape[i] = max(shape[i], s)
    rn = tuple(ranks) if ranks is not None else default_ranks(nd)
    if len(rn) != nd:
        raise SpecError(f"{name}: {len(rn)} rank name(s) for a {nd}-D result", field="ranks")
    accesses = []
    for x in xs:
        lead = nd - len(x.shape)
        accesses.append((x.name, ["0" if s == 1 and shape[i + lead] > 1 else rn[i + lead]
                                  for i, s in enumerate(x.shape)]))
    return einsum(name, (out or ACT_PREFIX + name, list(rn)), accesses, dict(zip(rn, shape)), op=op,
                  bits=xs[0].bits if bits is None else bits)


def activation(name: str, x: Act, op: str = "relu", **kw) -> Einsum:
    return elementwise(name, op, x, **kw)


def add(name: str, a: Act, b: Act, **kw) -> Einsum:
    """Residual (elementwise) add."""
    return elementwise(name, "add", a, b, **kw)


def softmax(name: str, x: Act, **kw) -> Einsum:
    """Softmax along the last dim (reads and writes every element once)."""
    return elementwise(name, "softmax", x, **kw)


def norm(name: str, x: Act, op: str, *, axis: int, params: Sequence[str] = ("scale", "shift"),
         ranks: Sequence[str] | None = None, bits: int | None = None, out: str | None = None) -> Einsum:
    """Normalization with per-feature parameters ``W_<name>_<param>`` along ``axis``."""
    rn = tuple(ranks) if ranks is not None else default_ranks(len(x.shape))
    a = rn[axis]
    accesses = [(x.name, list(rn))] + [(f"{WEIGHT_PREFIX}{name}_{p}", [a]) for p in params]
    return einsum(name, (out or ACT_PREFIX + name, list(rn)), accesses, dict(zip(rn, x.shape)), op=op,
                  bits=x.bits if bits is None else bits)


def batchnorm(name: str, x: Act, **kw) -> Einsum:
    """Inference batch norm folded to a per-channel scale and shift (channel axis 1)."""
    return norm(name, x, "batchnorm", axis=1, **kw)


def layernorm(name: str, x: Act, **kw) -> Einsum:
    """Layer norm over the last dim with gain and bias."""
    return norm(name, x, "layernorm", axis=-1, **kw)


def rmsnorm(name: str, x: Act, **kw) -> Einsum:
    """RMS norm over the last dim with a gain only."""
    return norm(name, x, "rmsnorm", axis=-1, params=("scale",), **kw)


def pool(name: str, x: Act, kernel, *, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
         op: str = "maxpool", bits: int | None = None, out: str | None = None) -> Einsum:
    """Max or average pooling window (stride defaults to the kernel size)."""
    out_ranks, win_ranks, kernel, sizes, sp_idx = _window(name, x, kernel, stride, padding, dilation, ceil_mode)
    ranks = {"n": x.shape[0], "c": x.shape[1]} | dict(zip(out_ranks, sizes)) | dict(zip(win_ranks, kernel))
    return einsum(name, (out or ACT_PREFIX + name, ["n", "c", *out_ranks]), [(x.name, ["n", "c", *sp_idx])],
                  ranks, op=op, bits=x.bits if bits is None else bits)


def global_pool(name: str, x: Act, *, op: str = "avgpool", keepdims: bool = False, bits: int | None = None,
                out: str | None = None) -> Einsum:
    """Pool each channel's whole feature map to one value: ``T[n,c] = X[n,c,p,q]``."""
    sp = ("p", "q")[:len(x.shape) - 2]
    ranks = {"n": x.shape[0], "c": x.shape[1]} | dict(zip(sp, x.shape[2:]))
    out_idx = ["n", "c"] + (["0"] * len(sp) if keepdims else [])
    return einsum(name, (out or ACT_PREFIX + name, out_idx), [(x.name, ["n", "c", *sp])], ranks, op=op,
                  bits=x.bits if bits is None else bits)


# ---- collecting a network ----------------------------------------------------------------------
class Network:
    """Collects Einsums in order; ``add`` returns the new output as the next layer's input."""

    def __init__(self, name: str, bits: int = 8):
        self.name, self.bits = name, bits
        self.einsums: list[Einsum] = []

    def input(self, shape: Sequence[int], name: str = ACT_PREFIX + "input", bits: int | None = None) -> Act:
        return Act(name, tuple(shape), self.bits if bits is None else bits)

    def add(self, e: Einsum) -> Act:
        self.einsums.append(e)
        return output_act(e)

    def einsum(self, name: str, text: str, ranks: dict[str, int], op: str = MAC) -> Act:
        """Add an Einsum written out as text; every tensor gets the network's bit width."""
        e = Einsum.parse(text, ranks, name=name, default_bits=self.bits)
        return self.add(e if op == MAC else replace(e, op=op))

    def workload(self) -> Workload:
        return Workload(self.name, tuple(self.einsums))


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output size of a convolution or pooling window along one dim (symmetric padding)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def weight_count(einsums: Sequence[Einsum], *, mac_only: bool = True) -> int:
    """Elements of the ``W_`` tensors, by default of MAC Einsums only (conv and FC weights)."""
    seen: dict[str, int] = {}
    for e in einsums:
        if mac_only and e.op != MAC:
            continue
        for t in e.inputs:
            if is_weight(t.name):
                seen[t.name] = max(seen.get(t.name, 0), t.size(e.ranks))
    return sum(seen.values())


__all__ = [
    "ACT_PREFIX",
    "MAC",
    "NON_MAC_OPS",
    "WEIGHT_PREFIX",
    "Act",
    "Network",
    "activation",
    "add",
    "attention_scores",
    "attention_values",
    "batchnorm",
    "bmm",
    "conv",
    "conv1d",
    "conv2d",
    "conv_accesses",
    "conv_output_size",
    "default_ranks",
    "depthwise_conv",
    "einsum",
    "elementwise",
    "global_pool",
    "index",
    "is_weight",
    "layernorm",
    "linear",
    "matmul",
    "norm",
    "output_act",
    "pool",
    "rmsnorm",
    "row_major",
    "softmax",
    "weight_count",
]
