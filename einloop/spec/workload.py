"""Workloads: Einsums over named ranks, and cascades of Einsums that share tensors by name."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from einloop.errors import SpecError
from einloop.spec.einsum import AffineIndex, parse_einsum
from einloop.spec.limits import BOUND_REASON, MAX_BOUND, MAX_FACTOR, MAX_ITERATIONS, MAX_OFFSET, shorten


@dataclass(frozen=True)
class Tensor:
    """A tensor as one Einsum sees it: its affine indices and bits per value."""

    name: str
    indices: tuple[AffineIndex, ...]
    bits: int = 8
    is_output: bool = False
    psum_bits: int | None = None   # an output's partial-sum (accumulator) width; None: ``bits``

    @property
    def ranks(self) -> tuple[str, ...]:
        """Ranks that index this tensor (its projection's support), in first-use order."""
        seen: dict[str, None] = {}
        for idx in self.indices:
            for r in idx.ranks:
                seen[r] = None
        return tuple(seen)

    def extents(self, rank_extents: dict[str, int]) -> tuple[int, ...]:
        """Per-coordinate extent of the box of rank extents, halos and strides included."""
        return tuple(sum(abs(c) * (rank_extents.get(r, 1) - 1) for r, c in idx.terms) + 1 for idx in self.indices)

    def size(self, rank_extents: dict[str, int]) -> int:
        return math.prod(self.extents(rank_extents))


@dataclass(frozen=True)
class Einsum:
    """``out[...] += in0[...] * in1[...]``: ranks with bounds, tensors with projections."""

    name: str
    ranks: dict[str, int]
    tensors: tuple[Tensor, ...]
    text: str = ""
    op: str = "mac"  # "mac" for multiply-accumulate Einsums; other ops carry no MACs

    def __post_init__(self):
        for r, b in self.ranks.items():
            if not isinstance(b, int) or isinstance(b, bool) or b < 1:
                raise SpecError(f"rank bound must be a positive integer, got {shorten(b)}", field=f"ranks.{r}")
            if b > MAX_BOUND:
                raise SpecError(f"rank bound {b:,} is above einloop's ceiling 2**31 ({BOUND_REASON})",
                                field=f"ranks.{r}")
        if math.prod(self.ranks.values()) > MAX_ITERATIONS:
            raise SpecError(f"the rank bounds multiply to {math.prod(self.ranks.values()):.3e} iterations, above "
                            f"einloop's ceiling 2**47 ({BOUND_REASON})", field="ranks")
        self._check_tensors()
        used = {r for t in self.tensors for r in t.ranks}
        missing = sorted(used - set(self.ranks))
        if missing:
            raise SpecError(f"rank(s) {', '.join(missing)} used in {self.text or self.name!r} but never bounded; "
                            f"bounded ranks: {', '.join(self.ranks) or 'none'}", field="ranks")
        if sum(t.is_output for t in self.tensors) != 1:
            raise SpecError("an Einsum has exactly one output tensor", field="einsum")

    def _check_tensors(self) -> None:
        """Bits per value and index coefficients are per-access factors below 2**16; offsets below 2**31."""
        for t in self.tensors:
            for what, bits in (("bits", t.bits), ("psum_bits", t.psum_bits)):
                if bits is None and what == "psum_bits":
                    continue
                if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= MAX_FACTOR:
                    raise SpecError(f"bits per value must be an integer from 1 to 2**16, got {shorten(bits)}",
                                    field=f"{what}.{t.name}" if what == "bits" else what)
            for idx in t.indices:
                if any(abs(c) > MAX_FACTOR for _, c in idx.terms) or abs(idx.offset) > MAX_OFFSET:
                    raise SpecError(f"index {shorten(str(idx))} of tensor {t.name}: coefficients are at most 2**16 "
                                    f"and offsets at most 2**31 in size ({BOUND_REASON})", field="einsum")

    @staticmethod
    def parse(text: str, ranks: dict[str, int], *, name: str = "", bits: dict[str, int] | None = None,
              default_bits: int = 8, psum_bits: int | None = None) -> "Einsum":
        """Build an Einsum from its string, rank bounds, optional bits per tensor and the output's
        partial-sum bits."""
        parsed = parse_einsum(text)
        bits = dict(bits or {})
        accesses = [(parsed.output, True)] + [(a, False) for a in parsed.inputs]
        names = {a.tensor for a, _ in accesses}
        unknown = sorted(set(bits) - names)
        if unknown:
            raise SpecError(f"bits given for unknown tensor(s) {', '.join(unknown)}; tensors: {', '.join(sorted(names))}",
                            field="bits")
        tensors = tuple(Tensor(a.tensor, a.indices, int(bits.get(a.tensor, default_bits)), out,
                               psum_bits if out else None) for a, out in accesses)
        return Einsum(name or parsed.output.tensor, dict(ranks), tensors, text)

    def padded(self, bounds: dict[str, int]) -> "Einsum":
        """The same Einsum over larger bounds for some ranks (imperfect factorization: the extra
        positions are padding, mapper/imperfect.py)."""
        small = sorted(r for r, b in bounds.items() if b < self.ranks[r])
        if small:
            raise SpecError(f"a padded bound must be at least the rank's bound: {', '.join(small)}", field="ranks")
        return Einsum(self.name, {**self.ranks, **bounds}, self.tensors, self.text, self.op)

    # ---- derived facts -------------------------------------------------------------------------
    @property
    def output(self) -> Tensor:
        return next(t for t in self.tensors if t.is_output)

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if not t.is_output)

    def tensor(self, name: str) -> Tensor:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def macs(self) -> int:
        return math.prod(self.ranks.values()) if self.op == "mac" else 0

    def tensor_size(self, name: str) -> int:
        """Exact number of elements touched: the projection of the full iteration space."""
        return self.tensor(name).size(self.ranks)

    def tensor_bytes(self, name: str) -> float:
        return self.tensor_size(name) * self.tensor(name).bits / 8

    @property
    def operational_intensity(self) -> float:
        """MACs per byte when every tensor moves exactly once."""
        total = sum(self.tensor_bytes(t.name) for t in self.tensors)
        return self.macs / total if total else 0.0

    def __str__(self) -> str:
        return self.text or self.name


@dataclass(frozen=True)
class Workload:
    """A cascade of Einsums; a tensor produced by one and read by another shares its name."""

    name: str
    einsums: tuple[Einsum, ...] = field(default_factory=tuple)

    def __post_init__(self):
        names = [e.name for e in self.einsums]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"Einsum name(s) {', '.join(dup)} used twice; names must be unique", field="einsums")
        if not self.einsums:
            raise SpecError("a workload needs at least one Einsum", field="einsums")
        writers: dict[str, str] = {}
        for e in self.einsums:
            if e.output.name in writers:
                raise SpecError(f"tensor {e.output.name} is written by two Einsums ({writers[e.output.name]} and "
                                f"{e.name}); each tensor has one producer", field="einsums")
            writers[e.output.name] = e.name
        cycle = self._cycle(writers)
        if cycle:
            raise SpecError(f"the Einsums form a cycle ({' -> '.join(cycle)}): a tensor depends on itself",
                            field="einsums")

    def _cycle(self, writers: dict[str, str]) -> list[str]:
        """Einsum names along a dependency cycle (producer -> consumer), or [] if the cascade is acyclic."""
        after = {e.name: sorted({writers[t.name] for t in e.inputs if t.name in writers}) for e in self.einsums}
        state: dict[str, int] = {}            # 1 = on the current path, 2 = done
        for start in after:
            stack, path = [(start, iter(after[start]))], [start]
            state[start] = state.get(start) or 1
            if state[start] == 2:
                continue
            while stack:
                node, rest = stack[-1]
                nxt = next(rest, None)
                if nxt is None:
                    state[node] = 2
                    stack.pop()
                    path.pop()
                elif state.get(nxt) == 1:
                    return list(reversed(path[path.index(nxt):] + [nxt]))
                elif state.get(nxt) is None:
                    state[nxt] = 1
                    stack.append((nxt, iter(after[nxt])))
                    path.append(nxt)
        return []

    def einsum(self, name: str | None = None) -> Einsum:
        """The Einsum named ``name`` (default: the first)."""
        if name is None:
            return self.einsums[0]
        for e in self.einsums:
            if e.name == name:
                return e
        raise SpecError(f"no Einsum named {shorten(name)}; Einsums: {', '.join(e.name for e in self.einsums)}",
                        field="einsum")

    def producers(self) -> dict[str, str]:
        """Tensor name -> the Einsum that writes it."""
        return {e.output.name: e.name for e in self.einsums}

    def consumers(self, tensor: str) -> list[str]:
        return [e.name for e in self.einsums if any(t.name == tensor for t in e.inputs)]

    @property
    def macs(self) -> int:
        return sum(e.macs for e in self.einsums)
