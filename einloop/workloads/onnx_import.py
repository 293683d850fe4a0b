"""Import an ONNX model as a Workload: one Einsum per operation, shapes from ONNX shape inference.

``from_onnx(model_or_path)`` runs ``onnx.shape_inference`` and converts each node with the same
operator set as the PyTorch importer (see :mod:`einloop.workloads.torch_import`):

* MAC operations: ``Conv`` (strides, pads, dilations, group, depthwise), ``Gemm``, ``MatMul``
  (a constant right operand is a weight: ``Y[..,m] += X[..,c] * W[c,m]``) and ``Attention``.
* Operations without MACs: activations (``Relu``, ``Clip`` 0..6 as relu6, ``Gelu``, ``Sigmoid``,
  ...), ``BatchNormalization``, ``LayerNormalization``, ``RMSNormalization``, pooling
  (``MaxPool``, ``AveragePool``, ``GlobalAveragePool``), ``Softmax``, ``Add`` and every other
  elementwise op (named after it in lower case), and ``Reduce*``.
* Views add no Einsum: ``Reshape``, ``Flatten``, ``Squeeze``, ``Unsqueeze``, ``Transpose``,
  ``Split``, ``Slice``, ``Expand``; ``Identity``, ``Dropout`` and ``Cast`` are skipped, and so is
  integer shape arithmetic (``Shape``, ``Gather`` on shapes, ``Concat`` of sizes, ...).
* A bias added by its own ``Add`` right after a ``MatMul``/``Gemm``/``Conv`` is folded into it,
  as the PyTorch importer does.

Names: the Einsum of node ``/layer1/layer1.0/conv1/Conv`` is ``layer1_0_conv1`` (the module path
the exporter wrote), it writes ``T_layer1_0_conv1`` and its weight is ``W_layer1_0_conv1``;
graph inputs are ``T_<input name>``. Bits come from each value's element type unless ``bits`` is
given. onnx is an optional dependency: ``pip install einloop[onnx]``.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from einloop.errors import SpecError
from einloop.spec.workload import Workload
from einloop.workloads import layers as L
from einloop.workloads.importer import (
    GraphBuilder,
    Ix,
    View,
    expand_view,
    ix,
    permute_view,
    sanitize,
)

INSTALL_HINT = "pip install einloop[onnx]"

_FLOAT_TYPES = {1: 32, 10: 16, 11: 64, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8}  # onnx TensorProto element types
_UNARY = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu", "Erf": "erf", "Sqrt": "sqrt",
          "Exp": "exp", "Log": "log", "Neg": "neg", "Reciprocal": "reciprocal", "Softplus": "softplus",
          "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid", "LeakyRelu": "leaky_relu", "Elu": "elu",
          "Abs": "abs", "Mish": "mish", "Softmax": "softmax", "LogSoftmax": "log_softmax"}
_PASS = {"Identity", "Dropout", "Cast", "CastLike"}
_VIEWS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}
_REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min",
           "ReduceL2": "norm", "ReduceSumSquare": "sumsq", "ReduceLogSumExp": "logsumexp"}


def _onnx():
    try:
        import onnx
        import onnx.numpy_helper
        import onnx.shape_inference
    except ImportError as e:  # pragma: no cover - exercised only without onnx
        raise SpecError(f"importing ONNX models needs onnx; install it with `{INSTALL_HINT}`", field="model") from e
    return onnx


@dataclass(frozen=True)
class _Const:
    """A constant: an initializer or a Constant node's value (a numpy array)."""

    name: str
    value: object

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.value.shape)


def from_onnx(model, *, name: str | None = None, bits: int | None = None, strict: bool = False) -> Workload:
    """The Workload of an ONNX model (a ``ModelProto`` or a path to a .onnx file).

    The graph needs static shapes (export with a fixed example input). ``bits`` overrides every
    tensor's width (default: from its element type). With ``strict`` an operation einloop does not
    model is an error; otherwise it is recorded with its tensor sizes only, with a warning.
    """
    onnx = _onnx()
    if isinstance(model, (str, Path)):
        path = Path(model)
        if not path.is_file():
            raise SpecError(f"no ONNX file at {path}", file=str(path))
        model = onnx.load(str(path))
        default_name = path.stem
    else:
        default_name = model.graph.name or "onnx_model"
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:
        raise SpecError(f"ONNX shape inference failed: {e}", field="model") from e
    conv = _Converter(onnx, model.graph, GraphBuilder(name or sanitize(default_name), strict=strict), bits)
    conv.run()
    return conv.b.workload()


class _Converter:
    def __init__(self, onnx, graph, builder: GraphBuilder, bits: int | None):
        self.onnx, self.g, self.b, self.bits = onnx, graph, builder, bits
        self.env: dict[str, object] = {}
        self.types: dict[str, tuple[tuple[int, ...] | None, int]] = {}
        self.producer_op: dict[str, str] = {}
        for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
            t = vi.type.tensor_type
            shape = None
            if t.HasField("shape"):
                dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
                shape = tuple(dims) if all(d is not None for d in dims) else None
            self.types[vi.name] = (shape, t.elem_type)
        for init in graph.initializer:
            self.env[init.name] = _Const(init.name, onnx.numpy_helper.to_array(init))

    # ---- helpers -------------------------------------------------------------------------------
    def shape(self, value: str) -> tuple[int, ...]:
        shape, _ = self.types.get(value, (None, 0))
        if shape is None:
            raise SpecError(f"no static shape for ONNX value {value!r}; export the model with a fixed input shape",
                            field="model")
        return shape

    def is_float(self, value: str) -> bool:
        return self.types.get(value, (None, 1))[1] in _FLOAT_TYPES

    def bits_of(self, value: str) -> int:
        return self.bits if self.bits is not None else _FLOAT_TYPES.get(self.types.get(value, (None, 1))[1], 32)

    def view(self, value: str, weight_name: str | None = None) -> View:
        v = self.env.get(value)
        if isinstance(v, View):
            return v
        if isinstance(v, _Const):
            nm = weight_name or L.WEIGHT_PREFIX + sanitize(value)
            return View.of(nm, v.shape, self.bits if self.bits is not None else 32)
        raise SpecError(f"ONNX value {value!r} is not a tensor the importer knows", field="model")

    def const(self, value: str):
        v = self.env.get(value)
        return v.value if isinstance(v, _Const) else None

    @staticmethod
    def attrs(node) -> dict:
        import onnx.helper as h
        return {a.name: h.get_attribute_value(a) for a in node.attribute}

    def node_name(self, node) -> str:
        """The module path the exporter recorded, without the op: ``/layer1/layer1.0/conv1/Conv`` (TorchScript
        exporter) or name scopes ``['', 'layer1', '0', 'conv1', 'conv2d']`` (torch.export-based exporter) ->
        ``layer1_0_conv1``; otherwise the node name."""
        props = {p.key: p.value for p in node.metadata_props}
        scopes = props.get("pkg.torch.onnx.name_scopes")
        if scopes and "pkg.onnxscript.rewriter.rule_name" not in props:
            try:
                parts = [p for p in ast.literal_eval(scopes)[:-1] if p]
            except (ValueError, SyntaxError):
                parts = []
            if parts:
                return self.b.unique("_".join(_drop_prefixes(parts)))
        parts = [p for p in node.name.split("/") if p]
        if parts and parts[-1].split("_")[0] == node.op_type:
            parts = parts[:-1]
        keep = _drop_prefixes(parts)
        return self.b.unique("_".join(keep) if keep else (node.name or node.op_type.lower()))

    # ---- the walk ------------------------------------------------------------------------------
    def run(self) -> None:
        for vi in self.g.input:
            if vi.name not in self.env:
                self.env[vi.name] = View.of(L.ACT_PREFIX + sanitize(vi.name), self.shape(vi.name), self.bits_of(vi.name))
        for node in self.g.node:
            outs = self.convert(node)
            outs = outs if isinstance(outs, list) else [outs]
            for name, v in zip(node.output, outs):
                if isinstance(v, View) and name in self.types and self.types[name][0] is not None:
                    want = self.shape(name)
                    if v.shape != want:
                        if math.prod(v.shape) != math.prod(want):
                            raise SpecError(f"{node.name}: imported shape {v.shape} differs from the inferred "
                                            f"{want}", field="model")
                        v = self.b.reshape(v, want, f"{node.name}_reshape")
                self.env[name] = v
                self.producer_op[name] = node.op_type

    def convert(self, node):
        op, ins, a = node.op_type, list(node.input), self.attrs(node)
        if op == "Constant":
            import onnx.numpy_helper as nh
            val = a.get("value")
            return _Const(node.output[0], nh.to_array(val) if val is not None else a.get("value_float", 0))
        if op in ("Shape", "Size") and isinstance(self.env.get(ins[0]), View):
            shape = np.array(self.env[ins[0]].shape, dtype=np.int64)
            if op == "Size":
                return _Const(node.output[0], np.array(shape.prod(), dtype=np.int64))
            return _Const(node.output[0], shape[a.get("start", 0):a.get("end", len(shape))])
        present = [i for i in ins if i]
        if all(isinstance(self.env.get(i), _Const) for i in present) and op not in ("Conv", "Gemm", "MatMul"):
            return self.fold(node, present)
        float_out = all(self.is_float(o) for o in node.output if o)
        tensor_ins = [i for i in ins if i and isinstance(self.env.get(i), View)]
        if not float_out or (not tensor_ins and op not in ("Conv", "Gemm", "MatMul")):
            return [None] * len(node.output)  # shape arithmetic or a constant subgraph
        if op in _PASS:
            return self.env[ins[0]]
        if op == "Conv":
            return self.conv(node, ins, a)
        if op == "Gemm":
            return self.gemm(node, ins, a)
        if op == "MatMul":
            return self.matmul(node, ins)
        if op == "Attention":
            return self.b.attention(self.node_name(node), self.view(ins[0]), self.view(ins[1]), self.view(ins[2]))
        if op in _UNARY:
            return self.b.elementwise(self.node_name(node), _UNARY[op], [self.view(ins[0])])
        if op == "Clip":
            lo, hi = (self.const(i) if i else None for i in (ins + ["", ""])[1:3])
            lo, hi = a.get("min", lo), a.get("max", hi)
            relu6 = lo is not None and hi is not None and float(lo) == 0.0 and float(hi) == 6.0
            return self.b.elementwise(self.node_name(node), "relu6" if relu6 else "clip", [self.view(ins[0])])
        if op == "Add" and self.is_bias(ins):
            return self.env[next(i for i in ins if isinstance(self.env.get(i), View))]
        if op == "BatchNormalization":
            return self.b.norm(self.node_name(node), self.view(ins[0]), "batchnorm", 1, ("scale", "shift"))
        if op in ("LayerNormalization", "RMSNormalization"):
            params = ("scale", "shift") if len(ins) > 2 and ins[2] else ("scale",)
            kind = "layernorm" if op == "LayerNormalization" else "rmsnorm"
            return self.b.norm(self.node_name(node), self.view(ins[0]), kind, -1, params)
        if op in ("MaxPool", "AveragePool"):
            k = tuple(a["kernel_shape"])
            return self.b.pool(self.node_name(node), self.view(ins[0]), k, stride=tuple(a.get("strides", (1,) * len(k))),
                               padding=self._pads(node, a, k), dilation=tuple(a.get("dilations", (1,) * len(k))),
                               ceil_mode=bool(a.get("ceil_mode", 0)), op="maxpool" if op == "MaxPool" else "avgpool")
        if op in ("GlobalAveragePool", "GlobalMaxPool"):
            return self.b.global_pool(self.node_name(node), self.view(ins[0]),
                                      "avgpool" if op == "GlobalAveragePool" else "maxpool", keepdims=True)
        if op in _VIEWS:
            return self.b.reshape(self.view(ins[0]), self.out_shape(node), node.name)
        if op == "Transpose":
            x = self.view(ins[0])
            return permute_view(x, a.get("perm", list(reversed(range(len(x.shape))))))
        if op == "Expand":
            return expand_view(self.view(ins[0]), self.out_shape(node))
        if op == "Split":
            return self.split(node, ins, a)
        if op == "Slice":
            return self.slice(node, ins)
        if op in _REDUCE:
            return self.reduce(node, ins, a, _REDUCE[op])
        xs = [self.view(i) for i in tensor_ins]
        out_shape = self.shape(node.output[0])
        try:
            from einloop.workloads.importer import _broadcast
            same = _broadcast(*(x.shape for x in xs)) == out_shape
        except SpecError:
            same = False
        if same and len(node.output) == 1:
            return self.b.elementwise(self.node_name(node), op.lower(), xs)
        return self.b.opaque(self.node_name(node), op, xs, out_shape)

    def fold(self, node, present):
        """Evaluate a node whose inputs are all constants (shape arithmetic, constant masks)."""
        from onnx.reference import ReferenceEvaluator
        try:
            outs = ReferenceEvaluator(node).run(None, {i: self.env[i].value for i in present})
        except Exception:  # noqa: BLE001 - anything the evaluator cannot run stays unknown
            return [None] * len(node.output)
        return [_Const(o, np.asarray(v)) for o, v in zip(node.output, outs)]

    def out_shape(self, node) -> tuple[int, ...]:
        """The inferred shape of a view op's output, or one computed from its constant operands."""
        out = node.output[0]
        if self.types.get(out, (None, 0))[0] is not None:
            return self.shape(out)
        x, ins = self.view(node.input[0]), list(node.input)
        arg = self.const(ins[1]) if len(ins) > 1 and ins[1] else None
        a = self.attrs(node)
        probe = np.empty(x.shape, dtype=np.int8)
        try:
            if node.op_type == "Expand" and arg is not None:
                return tuple(np.broadcast_shapes(x.shape, tuple(int(d) for d in arg)))
            if node.op_type == "Reshape" and arg is not None:
                dims = [x.shape[i] if d == 0 and not a.get("allowzero", 0) else int(d) for i, d in enumerate(arg)]
                return tuple(probe.reshape(dims).shape)
            if node.op_type == "Flatten":
                ax = a.get("axis", 1) % (len(x.shape) + 1) if x.shape else 0
                return (math.prod(x.shape[:ax]), math.prod(x.shape[ax:]))
            if node.op_type in ("Unsqueeze", "Squeeze"):
                axes = a.get("axes", None if arg is None else [int(d) for d in arg])
                if node.op_type == "Unsqueeze":
                    return tuple(np.expand_dims(probe, tuple(axes)).shape)
                return tuple(np.squeeze(probe, tuple(axes) if axes is not None else None).shape)
        except (ValueError, TypeError):
            pass
        return self.shape(out)  # raises with a hint

    # ---- operators -----------------------------------------------------------------------------
    def _pads(self, node, a, kernel):
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            x, out = self.shape(node.input[0]), self.shape(node.output[0])
            strides, dil = a.get("strides", (1,) * len(kernel)), a.get("dilations", (1,) * len(kernel))
            pads = []
            for i, k in enumerate(kernel):
                total = max(0, (out[2 + i] - 1) * strides[i] + dil[i] * (k - 1) + 1 - x[2 + i])
                small = total // 2
                pads.append((total - small, small) if auto == "SAME_LOWER" else (small, total - small))
            return tuple(pads)
        return tuple(a.get("pads", (0,) * (2 * len(kernel))))

    def conv(self, node, ins, a):
        w = self.env.get(ins[1])
        wshape = w.shape if isinstance(w, (_Const, View)) else self.shape(ins[1])
        name = self.node_name(node)
        if isinstance(w, View):
            raise SpecError(f"{node.name}: convolution weights computed at run time are not supported", field="model")
        k = tuple(a.get("kernel_shape", wshape[2:]))
        return self.b.conv(name, self.view(ins[0]), L.WEIGHT_PREFIX + name, wshape[0], k,
                           stride=tuple(a.get("strides", (1,) * len(k))), padding=self._pads(node, a, k),
                           dilation=tuple(a.get("dilations", (1,) * len(k))), groups=int(a.get("group", 1)))

    def gemm(self, node, ins, a):
        name = self.node_name(node)
        x = self.view(ins[0])
        if a.get("transA", 0):
            x = permute_view(x, (1, 0))
        w = self.env.get(ins[1])
        if isinstance(w, _Const):
            return self.b.linear(name, x, L.WEIGHT_PREFIX + name, w.shape[0] if a.get("transB", 0) else w.shape[1],
                                 transposed=not a.get("transB", 0))
        wv = self.view(ins[1])
        return self.b.matmul(name, x, permute_view(wv, (1, 0)) if a.get("transB", 0) else wv)

    def matmul(self, node, ins):
        name = self.node_name(node)
        w = self.env.get(ins[1])
        if isinstance(w, _Const) and len(w.shape) == 2:
            return self.b.linear(name, self.view(ins[0]), L.WEIGHT_PREFIX + name, w.shape[1], transposed=True)
        return self.b.matmul(name, self.view(ins[0]), self.view(ins[1]))

    def is_bias(self, ins) -> bool:
        """Add(MAC result, constant vector): the bias of the layer that produced the tensor."""
        if len(ins) != 2:
            return False
        consts = [i for i in ins if isinstance(self.env.get(i), _Const)]
        tensors = [i for i in ins if isinstance(self.env.get(i), View)]
        if len(consts) != 1 or len(tensors) != 1:
            return False
        c = self.env[consts[0]]
        return self.producer_op.get(tensors[0]) in ("MatMul", "Gemm", "Conv") and sum(s > 1 for s in c.shape) <= 1

    def split(self, node, ins, a):
        x = self.view(ins[0])
        axis = a.get("axis", 0) % len(x.shape)
        parts, start = [], 0
        for out in node.output:
            n = self.shape(out)[axis]
            parts.append(self.b.slice(x, axis, start, start + n, name=f"{node.name}_{len(parts)}"))
            start += n
        return parts

    def slice(self, node, ins):
        x = self.view(ins[0])
        starts, ends = self.const(ins[1]), self.const(ins[2])
        axes = self.const(ins[3]) if len(ins) > 3 and ins[3] else range(len(starts))
        steps = self.const(ins[4]) if len(ins) > 4 and ins[4] else [1] * len(starts)
        if starts is None or ends is None or axes is None or steps is None:
            return self.b.opaque(self.node_name(node), "slice", [x], self.shape(node.output[0]))
        for s, e, ax, st in zip(starts, ends, axes, steps):
            n = x.shape[int(ax)]
            s, e = max(min(int(s), n), -n), max(min(int(e), n), -n - 1)
            x = self.b.slice(x, int(ax), s, e, int(st), name=f"{node.name}_slice")
        return x

    def reduce(self, node, ins, a, op):
        x = self.view(ins[0])
        axes = a.get("axes")
        if axes is None and len(ins) > 1 and ins[1]:
            axes = self.const(ins[1])
        nd = len(x.shape)
        axes = set(range(nd)) if axes is None or len(axes) == 0 else {int(d) % nd for d in axes}
        keep = bool(a.get("keepdims", 1))
        rn = L.default_ranks(nd)
        out = [Ix() if i in axes else Ix.of(r) for i, r in enumerate(rn) if keep or i not in axes]
        return self.b.emit(self.node_name(node), op, out, [(x, ix(*rn))], dict(zip(rn, x.shape)))


def _drop_prefixes(parts: list[str]) -> list[str]:
    """Module scopes repeat their parents (``layer1``, ``layer1.0``, ``layer1.0.relu``): keep the longest."""
    return [p for i, p in enumerate(parts) if not (i + 1 < len(parts) and parts[i + 1].startswith(p + "."))]


__all__ = ["INSTALL_HINT", "from_onnx"]
