"""Import a PyTorch ``nn.Module`` as a Workload: one Einsum per operation, shapes from a real run.

``from_torch(model, example_inputs)`` traces the module with ``torch.fx.symbolic_trace``, runs the
traced graph on the example inputs to record every value's shape, and converts each node:

* MAC operations: ``nn.Conv1d``/``nn.Conv2d`` and ``F.conv1d``/``F.conv2d`` (stride, padding,
  dilation, groups, depthwise), ``nn.Linear``/``F.linear``, ``matmul``/``@``/``bmm``/``mm`` and
  ``F.scaled_dot_product_attention`` (QK^T, softmax and AV; grouped-query attention included).
* Operations without MACs (``op`` names in parentheses): activations (relu, relu6, gelu, silu,
  sigmoid, tanh, hardswish, ...), normalizations (batchnorm, layernorm, rmsnorm, groupnorm),
  pooling (maxpool, avgpool, adaptive average pooling), softmax, residual add and any other
  elementwise function or method (named after it), and reductions (mean, sum, amax, ...).
* Views (``view``, ``reshape``, ``flatten``, ``transpose``, ``permute``, ``unsqueeze``, ``expand``,
  ``split``, ``chunk``, slicing, ``contiguous``) add no Einsum: consumers index the stored tensor
  (see :mod:`einloop.workloads.importer`). Dropout and identity are skipped.

Names follow the traced graph: the Einsum of node ``layer1_0_conv1`` is ``layer1_0_conv1``, it
writes ``T_layer1_0_conv1`` and its weight is ``W_layer1_0_conv1`` (the module path); inputs are
``T_<argument name>``. Biases are folded into the output (not listed), as published weight counts
do. Bits per value come from each tensor's dtype (float32 -> 32) unless ``bits`` is given.

Every node's shape is checked against the recorded run, and the outputs against running the
original module. torch is an optional dependency: ``pip install einloop[torch]``.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from einloop.errors import SpecError
from einloop.spec.workload import Workload
from einloop.workloads import layers as L
from einloop.workloads.importer import (
    GraphBuilder,
    Ix,
    View,
    expand_view,
    ix,
    op_bits,
    permute_view,
    sanitize,
)

INSTALL_HINT = "pip install einloop[torch]"


def _torch():
    try:
        import torch
        import torch.fx
    except ImportError as e:  # pragma: no cover - exercised only without torch
        raise SpecError(f"importing PyTorch models needs torch; install it with `{INSTALL_HINT}`",
                        field="model") from e
    return torch


@dataclass(frozen=True)
class _Meta:
    """Shape and dtype of a recorded tensor value."""

    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class _Param:
    """A parameter or buffer read with get_attr."""

    name: str
    shape: tuple[int, ...]
    bits: int


def from_torch(model, example_inputs, *, name: str | None = None, bits: int | None = None,
               strict: bool = False) -> Workload:
    """The Workload of ``model`` run on ``example_inputs`` (a tensor or a tuple of tensors).

    ``bits`` overrides every tensor's width (default: from its dtype). With ``strict`` an operation
    einloop does not model is an error; otherwise it is recorded with its tensor sizes (no MACs) and
    a warning.
    """
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise SpecError(f"from_torch needs a torch.nn.Module, got {type(model).__name__}", field="model")
    inputs = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    training = model.training
    model.eval()
    try:
        try:
            gm = torch.fx.symbolic_trace(model)
        except Exception as e:
            raise SpecError(f"torch.fx could not trace {type(model).__name__}: {e}. Data-dependent control flow "
                            "cannot be traced; move it out of forward() or mark that submodule as a leaf",
                            field="model") from e
        with torch.no_grad():
            recorded = _record(torch, gm, inputs)
            expected = model(*inputs)
        conv = _Converter(torch, gm, recorded, GraphBuilder(name or type(model).__name__, strict=strict), bits)
        outputs = conv.run()
    finally:
        model.train(training)
    _check_outputs(torch, outputs, expected)
    return conv.b.workload()


def _record(torch, gm, inputs) -> dict:
    """Run the traced graph; keep each node's result (tensors as shape and dtype only)."""
    values: dict = {}

    def summary(v):
        if isinstance(v, torch.Tensor):
            return _Meta(tuple(v.shape), str(v.dtype).removeprefix("torch."))
        if isinstance(v, (tuple, list)):
            return type(v)(summary(x) for x in v)
        if isinstance(v, torch.Size):
            return tuple(v)
        return v

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            values[n] = summary(out)
            return out

    try:
        Recorder(gm).run(*inputs)
    except Exception as e:
        raise SpecError(f"running the traced model on the example input failed: {e}", field="example_inputs") from e
    return values


def _check_outputs(torch, ours, expected) -> None:
    exp = expected if isinstance(expected, (tuple, list)) else (expected,)
    got = ours if isinstance(ours, (tuple, list)) else (ours,)
    exp_shapes = [tuple(t.shape) for t in exp if isinstance(t, torch.Tensor)]
    got_shapes = [v.shape for v in got if isinstance(v, View)]
    if exp_shapes != got_shapes:
        raise SpecError(f"imported output shapes {got_shapes} differ from the model's {exp_shapes}", field="model")


_ACT_MODULES = {"ReLU": "relu", "ReLU6": "relu6", "GELU": "gelu", "SiLU": "silu", "Sigmoid": "sigmoid", "Tanh": "tanh",
                "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "LeakyReLU": "leaky_relu", "ELU": "elu",
                "Mish": "mish", "Softmax": "softmax", "LogSoftmax": "log_softmax"}
_SKIP_MODULES = {"Dropout", "Dropout1d", "Dropout2d", "Identity"}
_VIEW_METHODS = {"view", "reshape", "flatten", "unflatten", "unsqueeze", "squeeze", "view_as", "reshape_as"}
_PASS_METHODS = {"contiguous", "float", "half", "double", "to", "type_as", "clone", "detach", "bfloat16", "cpu"}
_REDUCTIONS = {"mean": "mean", "sum": "sum", "amax": "max", "amin": "min", "max": "max", "min": "min",
               "var": "var", "std": "std", "norm": "norm", "logsumexp": "logsumexp", "prod": "prod"}


class _Converter:
    def __init__(self, torch, gm, recorded, builder: GraphBuilder, bits: int | None):
        self.torch, self.gm, self.rec, self.b, self.bits = torch, gm, recorded, builder, bits
        self.env: dict = {}
        F = torch.nn.functional
        self.functions = {
            F.conv1d: self.f_conv, F.conv2d: self.f_conv, F.linear: self.f_linear,
            torch.matmul: self.matmul, operator.matmul: self.matmul, torch.bmm: self.matmul, torch.mm: self.matmul,
            F.scaled_dot_product_attention: self.sdpa,
            torch.flatten: self.view, torch.reshape: self.view, torch.squeeze: self.view, torch.unsqueeze: self.view,
            torch.transpose: self.transpose, torch.permute: self.permute, torch.split: self.split,
            torch.chunk: self.split, operator.getitem: self.getitem, getattr: self.passthrough_value,
            F.dropout: self.first, torch.nn.functional.layer_norm: self.f_layernorm,
            F.batch_norm: self.f_batchnorm, F.max_pool1d: self.f_pool, F.max_pool2d: self.f_pool,
            F.avg_pool1d: self.f_pool, F.avg_pool2d: self.f_pool, F.adaptive_avg_pool1d: self.f_adaptive,
            F.adaptive_avg_pool2d: self.f_adaptive, F.softmax: self.softmax, torch.softmax: self.softmax,
            operator.add: self.binary("add"), operator.iadd: self.binary("add"), torch.add: self.binary("add"),
            operator.mul: self.binary("mul"), operator.imul: self.binary("mul"), torch.mul: self.binary("mul"),
            operator.sub: self.binary("sub"), torch.sub: self.binary("sub"), operator.truediv: self.binary("div"),
            torch.div: self.binary("div"), F.relu: self.unary("relu"), torch.relu: self.unary("relu"),
            F.relu6: self.unary("relu6"), F.gelu: self.unary("gelu"), F.silu: self.unary("silu"),
            torch.sigmoid: self.unary("sigmoid"), F.sigmoid: self.unary("sigmoid"), torch.tanh: self.unary("tanh"),
            F.hardswish: self.unary("hardswish"),
        }

    # ---- helpers -------------------------------------------------------------------------------
    def meta(self, node):
        return self.rec.get(node)

    def bits_of(self, dtype: str) -> int:
        return self.bits if self.bits is not None else op_bits(dtype)

    def val(self, a):
        torch = self.torch
        if isinstance(a, torch.fx.Node):
            return self.env[a]
        if isinstance(a, (tuple, list)):
            return type(a)(self.val(x) for x in a)
        if isinstance(a, dict):
            return {k: self.val(v) for k, v in a.items()}
        return a

    def view_of(self, v) -> View:
        """A tensor operand as a View (parameters and buffers become stored tensors)."""
        if isinstance(v, View):
            return v
        if isinstance(v, _Param):
            return View.of(v.name, v.shape, v.bits)
        raise SpecError(f"expected a tensor, got {v!r}", field="model")

    def name(self, node) -> str:
        return self.b.unique(node.name)

    # ---- the walk ------------------------------------------------------------------------------
    def run(self):
        out = None
        for node in self.gm.graph.nodes:
            m = self.meta(node)
            if node.op == "placeholder":
                if not isinstance(m, _Meta):
                    self.env[node] = m
                    continue
                self.env[node] = View.of(L.ACT_PREFIX + sanitize(node.name), m.shape, self.bits_of(m.dtype))
            elif node.op == "get_attr":
                self.env[node] = self.get_attr(node, m)
            elif node.op == "output":
                out = self.val(node.args[0])
            else:
                result = self.convert(node, m)
                self.env[node] = self.check(node, result, m)
        return out

    def get_attr(self, node, m):
        if not isinstance(m, _Meta):
            return m
        attr = self.gm
        for part in node.target.split("."):
            attr = getattr(attr, part)
        is_param = isinstance(attr, self.torch.nn.Parameter)
        prefix = L.WEIGHT_PREFIX if is_param else L.ACT_PREFIX
        return _Param(prefix + sanitize(node.target), m.shape, self.bits_of(m.dtype))

    def check(self, node, result, m):
        """The result's shape must be the recorded one (a shape-only difference is reshaped away)."""
        if isinstance(m, _Meta):
            if isinstance(result, _Param):
                result = self.view_of(result)
            if not isinstance(result, View):
                raise SpecError(f"{node.name}: expected a tensor result", field="model")
            if result.shape != m.shape:
                if math.prod(result.shape) != math.prod(m.shape):
                    raise SpecError(f"{node.name}: imported shape {result.shape} differs from the recorded "
                                    f"{m.shape}", field="model")
                result = self.b.reshape(result, m.shape, f"{node.name}_reshape")
        elif isinstance(m, (tuple, list)) and isinstance(result, (tuple, list)):
            for r, mm in zip(result, m):
                if isinstance(mm, _Meta) and isinstance(r, View) and r.shape != mm.shape:
                    raise SpecError(f"{node.name}: imported shape {r.shape} differs from the recorded {mm.shape}",
                                    field="model")
        return result

    def convert(self, node, m):
        args, kwargs = self.val(node.args), self.val(node.kwargs)
        if node.op == "call_module":
            return self.module(node, self.gm.get_submodule(node.target), args, kwargs, m)
        if node.op == "call_function":
            fn = self.functions.get(node.target)
            if fn is not None:
                return fn(node, args, kwargs, m)
            return self.generic(node, getattr(node.target, "__name__", str(node.target)), args, kwargs, m)
        if node.op == "call_method":
            return self.method(node, node.target, args, kwargs, m)
        raise SpecError(f"unknown fx node kind {node.op!r}", field="model")  # pragma: no cover

    # ---- modules -------------------------------------------------------------------------------
    def module(self, node, mod, args, kwargs, m):
        kind = type(mod).__name__
        x = args[0] if args else None
        wname = L.WEIGHT_PREFIX + sanitize(node.target)
        if kind in ("Conv1d", "Conv2d"):
            return self.b.conv(self.name(node), self.view_of(x), wname, mod.out_channels, mod.kernel_size,
                               stride=mod.stride, padding=mod.padding, dilation=mod.dilation, groups=mod.groups)
        if kind == "Linear":
            return self.b.linear(self.name(node), self.view_of(x), wname, mod.out_features)
        if kind in ("BatchNorm1d", "BatchNorm2d"):
            return self.b.norm(self.name(node), self.view_of(x), "batchnorm", 1, ("scale", "shift"))
        if kind == "LayerNorm":
            params = ("scale", "shift") if mod.elementwise_affine and getattr(mod, "bias", None) is not None else \
                ("scale",) if mod.elementwise_affine else ()
            return self.b.norm(self.name(node), self.view_of(x), "layernorm", -1, params)
        if kind == "RMSNorm":
            return self.b.norm(self.name(node), self.view_of(x), "rmsnorm", -1,
                               ("scale",) if mod.elementwise_affine else ())
        if kind == "GroupNorm":
            return self.b.norm(self.name(node), self.view_of(x), "groupnorm", 1,
                               ("scale", "shift") if mod.affine else ())
        if kind in _ACT_MODULES:
            return self.b.elementwise(self.name(node), _ACT_MODULES[kind], [self.view_of(x)])
        if kind in _SKIP_MODULES:
            return x
        if kind in ("Flatten", "Unflatten"):
            return self.b.reshape(self.view_of(x), m.shape, node.name)
        if kind in ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d"):
            op = "maxpool" if kind.startswith("Max") else "avgpool"
            return self.b.pool(self.name(node), self.view_of(x), mod.kernel_size, stride=mod.stride,
                               padding=mod.padding, dilation=getattr(mod, "dilation", 1), ceil_mode=mod.ceil_mode,
                               op=op)
        if kind in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d"):
            return self.adaptive(node, self.view_of(x), m)
        return self.generic(node, kind, args, kwargs, m)

    # ---- functions -----------------------------------------------------------------------------
    def first(self, node, args, kwargs, m):
        return args[0]

    def passthrough_value(self, node, args, kwargs, m):
        return m  # getattr(x, "shape") and the like: the recorded value

    def f_conv(self, node, args, kwargs, m):
        names = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
        a = dict(zip(names, args)) | kwargs
        w = a["weight"]
        if not isinstance(w, _Param):
            raise SpecError(f"{node.name}: convolution weights computed at run time are not supported", field="model")
        return self.b.conv(self.name(node), self.view_of(a["input"]), w.name, w.shape[0], w.shape[2:],
                           stride=a.get("stride", 1), padding=a.get("padding", 0), dilation=a.get("dilation", 1),
                           groups=a.get("groups", 1))

    def f_linear(self, node, args, kwargs, m):
        a = dict(zip(("input", "weight", "bias"), args)) | kwargs
        w = a["weight"]
        if isinstance(w, _Param):
            return self.b.linear(self.name(node), self.view_of(a["input"]), w.name, w.shape[0])
        wt = permute_view(self.view_of(w), (1, 0))
        return self.b.matmul(self.name(node), self.view_of(a["input"]), wt)

    def matmul(self, node, args, kwargs, m):
        a, b = args[0], args[1] if len(args) > 1 else kwargs.get("other", kwargs.get("mat2"))
        if isinstance(b, _Param) and len(b.shape) == 2 and isinstance(a, View):
            w = View.of(b.name, b.shape, b.bits)
            return self.b.emit(self.name(node), L.MAC, *self._linear_t(a, w))
        return self.b.matmul(self.name(node), self.view_of(a), self.view_of(b))

    def _linear_t(self, x: View, w: View):
        lead = L._lead_ranks(len(x.shape) - 1)
        ranks = dict(zip(lead, x.shape[:-1])) | {"m": w.shape[1], "c": x.shape[-1]}
        return ix(*lead, "m"), [(x, ix(*lead, "c")), (w, ix("c", "m"))], ranks

    def sdpa(self, node, args, kwargs, m):
        names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale")
        a = dict(zip(names, args)) | kwargs
        return self.b.attention(self.name(node), self.view_of(a["query"]), self.view_of(a["key"]),
                                self.view_of(a["value"]))

    def f_layernorm(self, node, args, kwargs, m):
        a = dict(zip(("input", "normalized_shape", "weight", "bias", "eps"), args)) | kwargs
        params = tuple(p for p, k in (("scale", "weight"), ("shift", "bias")) if a.get(k) is not None)
        return self.b.norm(self.name(node), self.view_of(a["input"]), "layernorm", -1, params)

    def f_batchnorm(self, node, args, kwargs, m):
        return self.b.norm(self.name(node), self.view_of(args[0]), "batchnorm", 1, ("scale", "shift"))

    def f_pool(self, node, args, kwargs, m):
        fname = node.target.__name__
        names = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode") if "max" in fname else \
            ("input", "kernel_size", "stride", "padding", "ceil_mode")
        a = dict(zip(names, args)) | kwargs
        stride = a.get("stride") or None
        return self.b.pool(self.name(node), self.view_of(a["input"]), a["kernel_size"], stride=stride,
                           padding=a.get("padding", 0), dilation=a.get("dilation", 1),
                           ceil_mode=bool(a.get("ceil_mode", False)), op="maxpool" if "max" in fname else "avgpool")

    def f_adaptive(self, node, args, kwargs, m):
        return self.adaptive(node, self.view_of(args[0]), m)

    def adaptive(self, node, x: View, m: _Meta):
        ins, outs = x.shape[2:], m.shape[2:]
        if ins == outs:
            return x
        if all(o == 1 for o in outs):
            return self.b.global_pool(self.name(node), x, "avgpool", keepdims=True)
        if all(i % o == 0 for i, o in zip(ins, outs)):
            k = tuple(i // o for i, o in zip(ins, outs))
            return self.b.pool(self.name(node), x, k, stride=k, op="avgpool")
        return self.b.opaque(self.name(node), "adaptive_avgpool", [x], m.shape)

    def softmax(self, node, args, kwargs, m):
        return self.b.elementwise(self.name(node), "softmax", [self.view_of(args[0])])

    def unary(self, op):
        def handle(node, args, kwargs, m):
            return self.b.elementwise(self.name(node), op, [self.view_of(args[0])])
        return handle

    def binary(self, op):
        def handle(node, args, kwargs, m):
            xs = _tensors(list(args) + list(kwargs.values()))
            if not isinstance(m, _Meta) or not xs:
                return m  # arithmetic on sizes or scalars
            return self.b.elementwise(self.name(node), op, [self.view_of(x) for x in xs])
        return handle

    # ---- views ---------------------------------------------------------------------------------
    def view(self, node, args, kwargs, m):
        return self.b.reshape(self.view_of(args[0]), m.shape, node.name)

    def transpose(self, node, args, kwargs, m):
        x = self.view_of(args[0])
        d0, d1 = (args[1], args[2]) if len(args) >= 3 else (kwargs.get("dim0"), kwargs.get("dim1"))
        perm = list(range(len(x.dims)))
        d0, d1 = d0 % len(perm), d1 % len(perm)
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return permute_view(x, perm)

    def permute(self, node, args, kwargs, m):
        x = self.view_of(args[0])
        dims = args[1:] if len(args) > 1 else (kwargs.get("dims"),)
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = dims[0]
        return permute_view(x, dims)

    def split(self, node, args, kwargs, m):
        x = self.view_of(args[0])
        dim = kwargs.get("dim", args[2] if len(args) > 2 else 0) % len(x.shape)
        parts, start = [], 0
        for meta in m:
            n = meta.shape[dim]
            parts.append(self.b.slice(x, dim, start, start + n, name=f"{node.name}_{len(parts)}"))
            start += n
        return parts

    def getitem(self, node, args, kwargs, m):
        obj, idx = args
        if isinstance(obj, (tuple, list)):
            return obj[idx]  # one part of a split, or an entry of a shape
        if not isinstance(obj, (View, _Param)):
            return m
        x = self.view_of(obj)
        items = idx if isinstance(idx, tuple) else (idx,)
        if any(not (it is None or it is Ellipsis or isinstance(it, (int, slice))) for it in items):
            return self.generic(node, "index", [x], {}, m)
        n_real = sum(1 for it in items if it is not None and it is not Ellipsis)
        dim = 0
        for it in items:
            if it is Ellipsis:
                dim += len(x.shape) - n_real
            elif it is None:
                continue
            elif isinstance(it, int):
                i = it % x.shape[dim]
                x = self.b.slice(x, dim, i, i + 1, name=f"{node.name}_slice")
                dim += 1
            else:
                start, stop, step = it.indices(x.shape[dim])
                if (start, stop, step) != (0, x.shape[dim], 1):
                    x = self.b.slice(x, dim, start, stop, step, name=f"{node.name}_slice")
                dim += 1
        return self.b.reshape(x, m.shape, node.name)

    # ---- methods -------------------------------------------------------------------------------
    def method(self, node, meth, args, kwargs, m):
        x = args[0]
        if not isinstance(x, (View, _Param)):
            return m  # a method of a non-tensor (shape arithmetic): the recorded value
        if meth in ("size", "dim", "numel", "stride", "data_ptr"):
            return m
        if meth in _VIEW_METHODS:
            return self.b.reshape(self.view_of(x), m.shape, node.name)
        if meth in _PASS_METHODS:
            return x
        if meth == "transpose":
            return self.transpose(node, args, kwargs, m)
        if meth == "t":
            return permute_view(self.view_of(x), (1, 0)) if len(self.view_of(x).shape) == 2 else x
        if meth == "permute":
            return self.permute(node, args, kwargs, m)
        if meth in ("expand", "expand_as"):
            return expand_view(self.view_of(x), m.shape)
        if meth in ("split", "chunk"):
            return self.split(node, args, kwargs, m)
        if meth in ("matmul", "bmm", "mm", "__matmul__"):
            return self.matmul(node, args, kwargs, m)
        if meth == "softmax":
            return self.softmax(node, args, kwargs, m)
        return self.generic(node, meth, args, kwargs, m)

    # ---- anything else -------------------------------------------------------------------------
    def generic(self, node, op: str, args, kwargs, m):
        """Elementwise if the result has the broadcast shape of the tensor operands; a reduction if
        it keeps some of their dims; otherwise recorded as an opaque op (tensor sizes only)."""
        xs = [self.view_of(a) for a in _tensors(list(args) + list(kwargs.values()))]
        op = op.strip("_").lower()
        if not isinstance(m, _Meta) or not xs:
            if isinstance(m, _Meta):  # a tensor made from nothing (torch.ones, arange): a workload input
                return View.of(L.ACT_PREFIX + sanitize(node.name), m.shape, self.bits_of(m.dtype))
            return m
        try:
            shape = _bshape([x.shape for x in xs])
        except ValueError:
            shape = None
        if shape == m.shape:
            return self.b.elementwise(self.name(node), op, xs)
        if len(xs) == 1 and op in _REDUCTIONS:
            red = self.reduction(node, _REDUCTIONS[op], xs[0], args, kwargs, m)
            if red is not None:
                return red
        return self.b.opaque(self.name(node), op, xs, m.shape)

    def reduction(self, node, op, x: View, args, kwargs, m):
        dims = kwargs.get("dim", args[1] if len(args) > 1 else None)
        if dims is None:
            dims = tuple(range(len(x.shape)))
        dims = {d % len(x.shape) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))}
        keep = bool(kwargs.get("keepdim", args[2] if len(args) > 2 and isinstance(args[2], bool) else False))
        rn = L.default_ranks(len(x.shape))
        out = [Ix() if i in dims else Ix.of(r) for i, r in enumerate(rn) if keep or i not in dims]
        if len(out) != len(m.shape):
            return None
        return self.b.emit(self.name(node), op, out, [(x, ix(*rn))], dict(zip(rn, x.shape)))


def _tensors(values) -> list:
    """The tensor operands among (nested lists of) arguments, in order."""
    out = []
    for v in values:
        if isinstance(v, (View, _Param)):
            out.append(v)
        elif isinstance(v, (tuple, list)):
            out += _tensors(v)
    return out


def _bshape(shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    nd = max(len(s) for s in shapes)
    out = [1] * nd
    for s in shapes:
        for i, d in enumerate(s, start=nd - len(s)):
            if d != 1 and out[i] not in (1, d):
                raise ValueError("no broadcast")
            out[i] = max(out[i], d)
    return tuple(out)


__all__ = ["INSTALL_HINT", "from_torch"]
