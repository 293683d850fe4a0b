"""Framework-neutral core of the PyTorch and ONNX importers: turn tensor ops into Einsums.

The importers walk a traced graph and call :class:`GraphBuilder` once per operation. The builder
keeps every tensor value as a :class:`View` of a stored tensor, so reshapes, transposes, slices
and broadcasts (``view``, ``permute``, ``flatten``, ``split``, ``expand``, ...) cost nothing: the
Einsum that reads a view indexes the stored tensor with affine expressions instead. Heads split
off a projection become ``T_q[b,m,h*64+e]``; a flattened feature map read by a linear layer
becomes ``X[n,c,0,0]``; keys repeated for grouped-query attention (``expand`` then ``reshape``)
become ``K[b,n,h0*128+e]`` with the query heads split into groups ``h0*4+h1``.

A view is a list of *atoms* per dimension: an atom is a run of one stored dimension (its
coefficient and length) or a broadcast run that moves nowhere in storage. A dimension made of
several atoms (a merged dimension) is read by splitting its rank into one rank per atom. When a
view cannot be read that way (say a merged dimension indexed by ``p*2+r``, or two views of one
tensor in the same Einsum) it is first copied into a new tensor by an Einsum with ``op="copy"``.
Operations the builder does not know become an Einsum whose op is the operation's name and whose
input and output ranks are separate (right tensor sizes, no MACs), or an error with ``strict``.
"""
from __future__ import annotations

import keyword
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

from einloop.errors import SpecError
from einloop.spec.workload import Einsum, Workload
from einloop.workloads import layers as L
from einloop.workloads.layers import MAC, Act


# ---- affine index expressions ------------------------------------------------------------------
class Ix:
    """``sum(coef * rank) + offset`` with terms kept in insertion order."""

    __slots__ = ("offset", "terms")

    def __init__(self, terms: dict[str, int] | None = None, offset: int = 0):
        self.terms = {r: c for r, c in (terms or {}).items() if c}
        self.offset = offset

    @staticmethod
    def of(rank: str) -> Ix:
        return Ix({rank: 1})

    def __add__(self, other: Ix) -> Ix:
        t = dict(self.terms)
        for r, c in other.terms.items():
            t[r] = t.get(r, 0) + c
        return Ix(t, self.offset + other.offset)

    def scaled(self, k: int) -> Ix:
        return Ix({r: c * k for r, c in self.terms.items()}, self.offset * k)

    @staticmethod
    def parse(text: str) -> Ix:
        """``"p*2+r-3"`` -> Ix (the index strings the layer builders write)."""
        out = Ix()
        for sign, term in re.findall(r"([+-]?)([^+-]+)", text.replace(" ", "")):
            k = -1 if sign == "-" else 1
            if term.isdigit():
                out = out + Ix(offset=k * int(term))
            else:
                rank, _, coef = term.partition("*")
                out = out + Ix({rank: k * int(coef or 1)})
        return out

    def single(self) -> str | None:
        """The rank if this is exactly one rank with coefficient 1 and no offset."""
        if self.offset == 0 and len(self.terms) == 1:
            (r, c), = self.terms.items()
            return r if c == 1 else None
        return None

    def substituted(self, splits: dict[str, list[tuple[str, int]]]) -> Ix:
        out = Ix(offset=self.offset)
        for r, c in self.terms.items():
            parts = splits.get(r, [(r, 1)])
            out = out + Ix({s: w * c for s, w in parts})
        return out

    def text(self) -> str:
        return L.index(list(self.terms.items()), self.offset)


def ix(*ranks: str) -> list[Ix]:
    return [Ix.of(r) for r in ranks]


ZERO = Ix()


# ---- views ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Atom:
    """A run of ``size`` coordinates along stored dimension ``dim`` with coefficient ``stride``
    (``dim`` None: a broadcast run that does not move in storage)."""

    dim: int | None
    stride: int
    size: int


@dataclass(frozen=True)
class View:
    """A tensor value as a view of the stored tensor ``tensor``."""

    tensor: str
    src_shape: tuple[int, ...]
    dims: tuple[tuple[Atom, ...], ...]
    bits: int
    offsets: tuple[int, ...] = ()

    @staticmethod
    def of(tensor: str, shape: Sequence[int], bits: int) -> View:
        shape = tuple(int(s) for s in shape)
        return View(tensor, shape, tuple((Atom(i, 1, s),) for i, s in enumerate(shape)), bits, (0,) * len(shape))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(math.prod(a.size for a in d) for d in self.dims)

    @property
    def plain(self) -> bool:
        return self == View.of(self.tensor, self.src_shape, self.bits)

    def act(self) -> Act:
        if not self.plain:
            raise ValueError("not a plain tensor")
        return Act(self.tensor, self.src_shape, self.bits)


def reshape_view(v: View, shape: Sequence[int]) -> View | None:
    """The view of ``v`` reshaped (row-major) to ``shape``, or None if that is not affine."""
    shape = tuple(int(s) for s in shape)
    if math.prod(shape) != math.prod(v.shape):
        raise SpecError(f"cannot reshape {v.shape} to {shape}", field="shape")
    queue = [a for d in v.dims for a in d]
    dims = []
    for size in shape:
        if size == 1:  # keep a size-1 run (a batch of 1) where the old view had one here
            dims.append((queue.pop(0),) if queue and queue[0].size == 1 else ())
            continue
        while queue and queue[0].size == 1:
            queue.pop(0)
        need, cur = size, []
        while need > 1:
            if not queue:
                return None
            a = queue[0]
            if a.size <= need:
                if need % a.size:
                    return None
                cur.append(queue.pop(0))
                need //= a.size
            else:
                if a.size % need:
                    return None
                inner = a.size // need
                cur.append(Atom(a.dim, a.stride * inner if a.dim is not None else 0, need))
                queue[0] = Atom(a.dim, a.stride, inner)
                need = 1
        dims.append(tuple(cur))
    return replace(v, dims=tuple(dims)) if all(a.size == 1 for a in queue) else None


def permute_view(v: View, perm: Sequence[int]) -> View:
    perm = [p % len(v.dims) for p in perm]
    if sorted(perm) != list(range(len(v.dims))):
        raise SpecError(f"{list(perm)} is not a permutation of {len(v.dims)} dims", field="perm")
    return replace(v, dims=tuple(v.dims[p] for p in perm))


def expand_view(v: View, shape: Sequence[int]) -> View:
    """Broadcast ``v`` to ``shape`` (new leading dims and size-1 dims become broadcast runs)."""
    shape = [int(s) for s in shape]
    lead = len(shape) - len(v.dims)
    if lead < 0:
        raise SpecError(f"cannot expand {v.shape} to {tuple(shape)}", field="shape")
    dims = []
    for i, s in enumerate(shape):
        old = v.dims[i - lead] if i >= lead else ()
        size = math.prod(a.size for a in old) if i >= lead else 1
        if s == -1 or s == size:
            dims.append(old)
        elif size == 1:
            dims.append((Atom(None, 0, s),))
        else:
            raise SpecError(f"cannot expand {v.shape} to {tuple(shape)}", field="shape")
    return replace(v, dims=tuple(dims))


def slice_view(v: View, dim: int, start: int, stop: int, step: int = 1) -> View | None:
    """Coordinates start:stop:step of one dim, or None if that dim is merged from several runs."""
    dim %= len(v.dims)
    atoms = v.dims[dim]
    length = max(0, -(-(stop - start) // step))
    if length < 1:
        raise SpecError("empty slices are not supported", field="slice")
    if len(atoms) != 1:
        return None
    a = atoms[0]
    offsets = list(v.offsets)
    if a.dim is not None:
        offsets[a.dim] += start * a.stride
    dims = list(v.dims)
    dims[dim] = (Atom(a.dim, a.stride * step, length),)
    return replace(v, dims=tuple(dims), offsets=tuple(offsets))


class _Conflict(Exception):
    def __init__(self, operand: int):
        self.operand = operand


def sanitize(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "op"
    if s[0].isdigit() or keyword.iskeyword(s):
        s = "n_" + s
    return re.sub(r"_+", "_", s)


class GraphBuilder:
    """Collects the Einsums of an imported graph; every method returns the result as a View."""

    def __init__(self, name: str, *, strict: bool = False):
        self.name, self.strict = name, strict
        self.einsums: list[Einsum] = []
        self._names: set[str] = set()

    # ---- names ---------------------------------------------------------------------------------
    def unique(self, base: str) -> str:
        base = sanitize(base)
        name, i = base, 1
        while name in self._names:
            name = f"{base}_{i}"
            i += 1
        self._names.add(name)
        return name

    def add(self, e: Einsum) -> View:
        self.einsums.append(e)
        a = L.output_act(e)
        return View.of(a.name, a.shape, a.bits)

    def workload(self) -> Workload:
        if not self.einsums:
            raise SpecError("the imported graph has no operation that einloop models", field="model")
        return Workload(self.name, tuple(self.einsums))

    # ---- the general Einsum --------------------------------------------------------------------
    def emit(self, name: str, op: str, out: Sequence[Ix], operands: Sequence[tuple[View, Sequence[Ix]]],
             ranks: dict[str, int], *, weights: Sequence[tuple[str, Sequence[Ix]]] = (), bits: int | None = None,
             out_tensor: str | None = None) -> View:
        """``T_name[out] op= operand views [...] * weights [...]``: views resolved to their stored tensors."""
        operands = [(v, list(e)) for v, e in operands]
        for _ in range(len(operands) + 1):
            try:
                return self._emit(name, op, list(out), operands, ranks, list(weights), bits, out_tensor)
            except _Conflict as c:
                v, e = operands[c.operand]
                operands[c.operand] = (self.materialize(v, f"{name}_in{c.operand}"), e)
        raise AssertionError("unreachable")  # pragma: no cover

    def _emit(self, name, op, out, operands, ranks, weights, bits, out_tensor) -> View:
        splits: dict[str, list[tuple[str, int]]] = {}
        split_sizes: dict[str, tuple[int, ...]] = {}
        ranks = dict(ranks)
        seen: dict[str, int] = {}
        for k, (v, exprs) in enumerate(operands):
            if v.tensor in seen or any(v.tensor == w for w, _ in weights):
                raise _Conflict(k)  # an Einsum names each tensor once: copy the second view
            seen[v.tensor] = k
            for atoms, e in zip(v.dims, exprs):
                if len(atoms) <= 1:
                    continue
                r = e.single()
                sizes = tuple(a.size for a in atoms)
                if r is None or ranks.get(r) != math.prod(sizes):
                    raise _Conflict(k)
                if r in split_sizes:
                    if split_sizes[r] != sizes:
                        raise _Conflict(k)
                    continue
                subs, inner = [], math.prod(sizes)
                for j, s in enumerate(sizes):
                    inner //= s
                    sub = self._fresh_rank(f"{r}{j}", ranks)
                    ranks[sub] = s
                    subs.append((sub, inner))
                splits[r], split_sizes[r] = subs, sizes
        for r in splits:
            del ranks[r]
        accesses = []
        for v, exprs in operands:
            src = [Ix(offset=o) for o in v.offsets]
            for atoms, e in zip(v.dims, exprs):
                if len(atoms) == 1:
                    a = atoms[0]
                    if a.dim is not None:
                        src[a.dim] = src[a.dim] + e.substituted(splits).scaled(a.stride)
                elif len(atoms) > 1:
                    for a, (sub, _) in zip(atoms, splits[e.single()]):
                        if a.dim is not None:
                            src[a.dim] = src[a.dim] + Ix({sub: a.stride})
            accesses.append((v.tensor, [s.text() for s in src]))
        accesses += [(w, [e.substituted(splits).text() for e in exprs]) for w, exprs in weights]
        used = {r for _, idx in accesses for i in idx for r in re.findall(r"[A-Za-z_]\w*", i)}
        out_txt = [e.substituted(splits).text() for e in out]
        used |= {r for i in out_txt for r in re.findall(r"[A-Za-z_]\w*", i)}
        ranks = {r: s for r, s in ranks.items() if r in used or s > 1}
        bits = bits if bits is not None else (operands[0][0].bits if operands else 8)
        e = L.einsum(name, (out_tensor or L.ACT_PREFIX + name, out_txt), accesses, ranks, op=op, bits=bits)
        return self.add(e)

    @staticmethod
    def _fresh_rank(base: str, ranks: dict[str, int]) -> str:
        name, i = base, 0
        while name in ranks:
            i += 1
            name = f"{base}_{i}"
        return name

    def materialize(self, v: View, name: str) -> View:
        """Copy a view into a new stored tensor (an Einsum with op "copy")."""
        rn = [f"i{i}" for i in range(len(v.dims))]
        return self._emit(self.unique(name), "copy", ix(*rn), [(v, ix(*rn))], dict(zip(rn, v.shape)), [], None, None)

    def plain(self, v: View, name: str) -> Act:
        return (v if v.plain else self.materialize(v, f"{name}_in")).act()

    # ---- layers --------------------------------------------------------------------------------
    def conv(self, name: str, x: View, weight: str, out_channels: int, kernel, **kw) -> View:
        """A convolution; a view input (say a reshaped sequence) is read in place when its dims are single runs."""
        if x.plain:
            return self.add(L.conv(name, x.act(), out_channels, kernel, weight=weight, **kw))
        ranks, o_idx, x_idx, w_idx = L.conv_accesses(name, x.shape, out_channels, kernel, **kw)
        p = [Ix.parse(i) for i in (o_idx, x_idx, w_idx) for i in i]
        o, xi, wi = p[:len(o_idx)], p[len(o_idx):len(o_idx) + len(x_idx)], p[len(o_idx) + len(x_idx):]
        return self.emit(name, MAC, o, [(x, xi)], ranks, weights=[(weight, wi)])

    def pool(self, name: str, x: View, kernel, **kw) -> View:
        return self.add(L.pool(name, self.plain(x, name), kernel, **kw))

    def global_pool(self, name: str, x: View, op: str = "avgpool", keepdims: bool = True) -> View:
        return self.add(L.global_pool(name, self.plain(x, name), op=op, keepdims=keepdims))

    def norm(self, name: str, x: View, op: str, axis: int, params: Sequence[str]) -> View:
        a = self.plain(x, name)
        if not params:
            return self.elementwise(name, op, [View.of(a.name, a.shape, a.bits)])
        return self.add(L.norm(name, a, op, axis=axis, params=params))

    def linear(self, name: str, x: View, weight: str, out_features: int, *, transposed: bool = False) -> View:
        """``Y[..., m] += X[..., c] * W[m, c]`` (``W[c, m]`` if ``transposed``, as ONNX MatMul stores it)."""
        lead = L._lead_ranks(len(x.shape) - 1)
        ranks = dict(zip(lead, x.shape[:-1])) | {"m": out_features, "c": x.shape[-1]}
        w = ix("c", "m") if transposed else ix("m", "c")
        return self.emit(name, MAC, ix(*lead, "m"), [(x, ix(*lead, "c"))], ranks, weights=[(weight, w)])

    def matmul(self, name: str, a: View, b: View) -> View:
        """``Z[...,m,n] += A[...,m,k] * B[...,k,n]`` with broadcast batch dims."""
        if len(a.dims) < 2 or len(b.dims) < 2:
            a = self.reshape(a, (1, *a.shape)) if len(a.dims) == 1 else a
            b = self.reshape(b, (*b.shape, 1)) if len(b.dims) == 1 else b
        (m, k), (kb, n) = a.shape[-2:], b.shape[-2:]
        if k != kb:
            raise SpecError(f"{name}: matmul of {a.shape} and {b.shape}", field="shape")
        batch = _broadcast(a.shape[:-2], b.shape[:-2])
        bn = {0: (), 1: ("b",), 2: ("b", "h")}.get(len(batch)) or tuple(f"b{i}" for i in range(len(batch)))
        ranks = dict(zip(bn, batch)) | {"m": m, "n": n, "k": k}
        return self.emit(name, MAC, ix(*bn, "m", "n"),
                         [(a, _bcast_idx(bn, batch, a.shape[:-2]) + ix("m", "k")),
                          (b, _bcast_idx(bn, batch, b.shape[:-2]) + ix("k", "n"))], ranks)

    def attention(self, name: str, q: View, k: View, v: View) -> View:
        """Scaled dot-product attention as QK^T, softmax and AV Einsums (scale and mask add no MACs)."""
        if len(q.dims) != 4 or len(k.dims) != 4 or len(v.dims) != 4:
            raise SpecError(f"{name}: attention needs [batch, heads, positions, dim] operands, got "
                            f"{q.shape}, {k.shape}, {v.shape}", field="shape")
        (b, hq, m, e), (_, hk, n, _), (_, _, _, ev) = q.shape, k.shape, v.shape
        heads, qh, kh = L._heads(name, hq, hk)
        qh_ix, kh_ix = Ix.parse(qh), Ix.parse(kh)
        ranks = {"b": b} | heads | {"m": m, "n": n}
        s = self.emit(self.unique(f"{name}_qk"), MAC, [Ix.of("b"), qh_ix, *ix("m", "n")],
                      [(q, [Ix.of("b"), qh_ix, *ix("m", "e")]), (k, [Ix.of("b"), kh_ix, *ix("n", "e")])],
                      ranks | {"e": e})
        p = self.emit(self.unique(f"{name}_softmax"), "softmax", ix("b", "h", "m", "n"),
                      [(s, ix("b", "h", "m", "n"))], {"b": b, "h": hq, "m": m, "n": n})
        return self.emit(name, MAC, [Ix.of("b"), qh_ix, *ix("m", "e")],
                         [(p, [Ix.of("b"), qh_ix, *ix("m", "n")]), (v, [Ix.of("b"), kh_ix, *ix("n", "e")])],
                         ranks | {"e": ev})

    def elementwise(self, name: str, op: str, xs: Sequence[View]) -> View:
        """An elementwise op with NumPy broadcasting; the same view twice is read once."""
        uniq: list[View] = []
        for x in xs:
            if x not in uniq:
                uniq.append(x)
        shape = _broadcast(*(x.shape for x in uniq))
        rn = L.default_ranks(len(shape))
        ops = [(x, _bcast_idx(rn, shape, x.shape)) for x in uniq]
        return self.emit(name, op, ix(*rn), ops, dict(zip(rn, shape)))

    def opaque(self, name: str, op: str, xs: Sequence[View], out_shape: Sequence[int]) -> View:
        """An operation einloop does not model: right tensor sizes, no MACs, separate ranks per tensor."""
        msg = f"{name}: operation {op!r} is not modelled; recorded with its tensor sizes only (no MACs)"
        if self.strict:
            raise SpecError(msg, field="op")
        warnings.warn(msg, stacklevel=3)
        ranks: dict[str, int] = {}
        operands = []
        out_rn = [f"o{i}" for i in range(len(out_shape))]
        ranks |= dict(zip(out_rn, out_shape))
        for k, x in enumerate(dict.fromkeys(xs)):
            rn = [f"x{k}_{i}" for i in range(len(x.shape))]
            ranks |= dict(zip(rn, x.shape))
            operands.append((x, ix(*rn)))
        return self.emit(name, sanitize(op).lower(), ix(*out_rn), operands, ranks)

    # ---- views ---------------------------------------------------------------------------------
    def reshape(self, x: View, shape: Sequence[int], name: str = "reshape") -> View:
        v = reshape_view(x, shape)
        if v is None:
            v = reshape_view(self.materialize(x, name), shape)
        if v is None:
            return self.opaque(self.unique(name), "reshape", [x], shape)
        return v

    def slice(self, x: View, dim: int, start: int, stop: int, step: int = 1, name: str = "slice") -> View:
        n = x.shape[dim]
        start, stop, _ = slice(start, stop, step).indices(n)
        v = slice_view(x, dim, start, stop, step)
        return v if v is not None else slice_view(self.materialize(x, name), dim, start, stop, step)


def _broadcast(*shapes: Sequence[int]) -> tuple[int, ...]:
    nd = max((len(s) for s in shapes), default=0)
    out = [1] * nd
    for s in shapes:
        for i, d in enumerate(s, start=nd - len(s)):
            if d != 1 and out[i] not in (1, d):
                raise SpecError(f"shapes {[tuple(x) for x in shapes]} do not broadcast", field="shape")
            out[i] = max(out[i], d)
    return tuple(out)


def _bcast_idx(ranks: Sequence[str], out_shape: Sequence[int], shape: Sequence[int]) -> list[Ix]:
    lead = len(out_shape) - len(shape)
    return [ZERO if s == 1 and out_shape[i + lead] > 1 else Ix.of(ranks[i + lead]) for i, s in enumerate(shape)]


def op_bits(dtype_name: str) -> int:
    """Bits per value of a dtype named like torch's or numpy's (float32 -> 32, bfloat16 -> 16)."""
    m = re.search(r"(\d+)", dtype_name)
    if "bool" in dtype_name:
        return 8
    return int(m.group(1)) if m else 32


__all__ = [
    "Atom",
    "GraphBuilder",
    "Ix",
    "View",
    "expand_view",
    "ix",
    "op_bits",
    "permute_view",
    "reshape_view",
    "sanitize",
    "slice_view",
]
