"""Workload analysis without an architecture: MACs, tensor sizes, intensity, minimum traffic, roofline.

Every number here follows from the Einsums alone:

* ``elements`` of a tensor in an Einsum is its projection of the iteration space (halos, strides
  and the padding a convolution window touches included); ``bytes`` = elements x bits / 8 at that
  tensor's own bit width.
* The *algorithmic minimum off-chip traffic* of an Einsum is every input read once and the output
  written once: the sum of its tensors' bytes. Its *operational intensity* is MACs per byte of that
  traffic (``Einsum.operational_intensity``).
* For a whole workload, ``traffic_layerwise_bytes`` runs each Einsum on its own (every Einsum moves
  its tensors once, so an intermediate is written by its producer and read by each consumer);
  ``traffic_fused_bytes`` keeps every intermediate on chip, so only workload inputs (read once)
  and final outputs (written once) move.
* Weights are the ``W_`` tensors (see :mod:`einloop.workloads.layers`), and in hand-written workloads
  an input tensor named exactly ``W``, ``Weights`` or ``weights`` (as in ``examples/workloads/conv.yaml``
  and Timeloop's problem names); ``weights`` in the totals
  counts those of MAC Einsums only (conv and FC weights, as published counts do), and
  ``parameters`` adds those of normalizations.

The roofline: attainable MACs/cycle = min(peak, bandwidth x intensity); the ridge intensity is
peak / bandwidth. Einsums without MACs have intensity 0 and are bound by memory.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from einloop.errors import SpecError
from einloop.spec.workload import Einsum, Workload
from einloop.workloads.layers import MAC, is_weight


WEIGHT_NAMES = frozenset({"W", "Weights", "weights"})


def _weight_name(name: str) -> bool:
    """A zoo weight (``W_`` prefix) or a hand-written one named ``W``, ``Weights`` or ``weights``."""
    return is_weight(name) or name in WEIGHT_NAMES


def tensor_role(einsum: Einsum, name: str) -> str:
    """``output``, ``weight`` (a ``W_`` tensor, or one named ``W``/``Weights``/``weights``) or ``input``
    (an activation or other workload input)."""
    t = einsum.tensor(name)
    return "output" if t.is_output else "weight" if _weight_name(name) else "input"


def tensor_table(workload: Workload) -> pd.DataFrame:
    """One row per (Einsum, tensor): role, elements, bits, bytes."""
    rows = []
    for e in workload.einsums:
        for t in e.tensors:
            n = t.size(e.ranks)
            rows.append({"einsum": e.name, "op": e.op, "tensor": t.name, "role": tensor_role(e, t.name),
                         "elements": n, "bits": t.bits, "bytes": n * t.bits / 8})
    return pd.DataFrame(rows, columns=["einsum", "op", "tensor", "role", "elements", "bits", "bytes"])


_EINSUM_COLUMNS = ["op", "macs", "input_elements", "weight_elements", "output_elements", "input_bytes",
                   "weight_bytes", "output_bytes", "bytes", "operational_intensity"]


def einsum_table(workload: Workload, *, total: bool = True) -> pd.DataFrame:
    """One row per Einsum (index: Einsum name) with MACs, elements and bytes per role, the algorithmic
    minimum traffic ``bytes`` (each tensor moved once) and ``operational_intensity`` (MACs/byte).

    With ``total`` a last row named ``"total"`` sums the columns (layer-by-layer traffic) and gives
    the workload's intensity as total MACs / total bytes.
    """
    rows = {}
    for e in workload.einsums:
        row: dict[str, object] = {"op": e.op, "macs": e.macs}
        for role in ("input", "weight", "output"):
            row[f"{role}_elements"], row[f"{role}_bytes"] = 0, 0.0
        for t in e.tensors:
            role = tensor_role(e, t.name)
            row[f"{role}_elements"] += t.size(e.ranks)
            row[f"{role}_bytes"] += e.tensor_bytes(t.name)
        row["bytes"] = row["input_bytes"] + row["weight_bytes"] + row["output_bytes"]
        row["operational_intensity"] = e.macs / row["bytes"] if row["bytes"] else 0.0
        rows[e.name] = row
    df = pd.DataFrame.from_dict(rows, orient="index", columns=_EINSUM_COLUMNS)
    df.index.name = "einsum"
    if total:
        tot: dict[str, object] = {c: df[c].sum() for c in _EINSUM_COLUMNS if c not in ("op", "operational_intensity")}
        tot["op"] = "total"
        tot["operational_intensity"] = tot["macs"] / tot["bytes"] if tot["bytes"] else 0.0
        df = pd.concat([df, pd.DataFrame([tot], index=["total"], columns=_EINSUM_COLUMNS)])
        df.index.name = "einsum"
    return df


def external_tensors(workload: Workload) -> tuple[dict[str, float], dict[str, float]]:
    """(workload inputs, workload outputs) -> bytes: tensors no Einsum writes, and tensors no Einsum reads.

    An input read by several Einsums counts with the largest projection any of them reads.
    """
    produced = {e.output.name for e in workload.einsums}
    consumed = {t.name for e in workload.einsums for t in e.inputs}
    ins: dict[str, float] = {}
    outs: dict[str, float] = {}
    for e in workload.einsums:
        for t in e.inputs:
            if t.name not in produced:
                ins[t.name] = max(ins.get(t.name, 0.0), e.tensor_bytes(t.name))
        if e.output.name not in consumed:
            outs[e.output.name] = e.tensor_bytes(e.output.name)
    return ins, outs


def totals(workload: Workload) -> pd.Series:
    """Workload totals: MACs, weights (elements and bytes), parameters, minimum traffic and intensity."""
    weights: dict[str, tuple[int, float]] = {}
    params: dict[str, tuple[int, float]] = {}
    for e in workload.einsums:
        for t in e.inputs:
            if _weight_name(t.name):
                val = (t.size(e.ranks), e.tensor_bytes(t.name))
                params[t.name] = max(params.get(t.name, (0, 0.0)), val)
                if e.op == MAC:
                    weights[t.name] = max(weights.get(t.name, (0, 0.0)), val)
    layerwise = sum(e.tensor_bytes(t.name) for e in workload.einsums for t in e.tensors)
    ins, outs = external_tensors(workload)
    fused = sum(ins.values()) + sum(outs.values())
    macs = workload.macs
    return pd.Series({
        "einsums": len(workload.einsums),
        "mac_einsums": sum(e.op == MAC for e in workload.einsums),
        "macs": macs,
        "weights": sum(v[0] for v in weights.values()),
        "weight_bytes": sum(v[1] for v in weights.values()),
        "parameters": sum(v[0] for v in params.values()),
        "parameter_bytes": sum(v[1] for v in params.values()),
        "traffic_layerwise_bytes": layerwise,
        "operational_intensity_layerwise": macs / layerwise if layerwise else 0.0,
        "traffic_fused_bytes": fused,
        "operational_intensity_fused": macs / fused if fused else 0.0,
    }, name=workload.name, dtype=object)


# ---- roofline ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Roofline:
    """Per-Einsum roofline data; ``table`` is indexed by Einsum name."""

    workload: str
    peak_macs_per_cycle: float
    clock_hz: float
    bandwidth_bytes_per_cycle: float
    table: pd.DataFrame

    @property
    def ridge(self) -> float:
        """Operational intensity (MACs/byte) where the memory roof meets the compute roof."""
        return self.peak_macs_per_cycle / self.bandwidth_bytes_per_cycle

    @property
    def peak_macs_per_s(self) -> float:
        return self.peak_macs_per_cycle * self.clock_hz

    @property
    def bandwidth_bytes_per_s(self) -> float:
        return self.bandwidth_bytes_per_cycle * self.clock_hz

    def attainable(self, intensity: float) -> float:
        """Attainable MACs/cycle at an operational intensity (MACs/byte)."""
        return min(self.peak_macs_per_cycle, self.bandwidth_bytes_per_cycle * intensity)

    @property
    def total(self) -> pd.Series:
        """The workload run layer by layer: summed MACs, bytes and lower-bound cycles."""
        t = self.table
        macs, nbytes, cycles = t.macs.sum(), t.bytes.sum(), t.min_cycles.sum()
        return pd.Series({"macs": macs, "bytes": nbytes, "operational_intensity": macs / nbytes if nbytes else 0.0,
                          "min_cycles": cycles, "min_seconds": cycles / self.clock_hz,
                          "achieved_macs_per_cycle": macs / cycles if cycles else 0.0,
                          "utilization": macs / cycles / self.peak_macs_per_cycle if cycles else 0.0},
                         name=self.workload)


def roofline(workload: Workload, peak_macs_per_cycle: float, clock_hz: float,
             bandwidth_bytes_per_cycle: float) -> Roofline:
    """Attainable performance of each Einsum when every tensor moves once from off-chip memory.

    Columns: op, macs, bytes, operational_intensity (MACs/byte), attainable_macs_per_cycle
    (min(peak, bandwidth x intensity)), attainable_macs_per_s, bound ('compute' or 'memory'),
    min_cycles (max(MACs / peak, bytes / bandwidth)), min_seconds, utilization (of peak).
    """
    for what, v in (("peak_macs_per_cycle", peak_macs_per_cycle), ("clock_hz", clock_hz),
                    ("bandwidth_bytes_per_cycle", bandwidth_bytes_per_cycle)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0:
            raise SpecError(f"{what} must be a positive number, got {v!r}", field=what)
    et = einsum_table(workload, total=False)
    peak, bw = float(peak_macs_per_cycle), float(bandwidth_bytes_per_cycle)
    df = et[["op", "macs", "bytes", "operational_intensity"]].copy()
    df["attainable_macs_per_cycle"] = (bw * df.operational_intensity).clip(upper=peak)
    df["attainable_macs_per_s"] = df.attainable_macs_per_cycle * clock_hz
    df["bound"] = ["compute" if oi >= peak / bw else "memory" for oi in df.operational_intensity]
    df["min_cycles"] = [max(m / peak, b / bw) for m, b in zip(df.macs, df.bytes)]
    df["min_seconds"] = df.min_cycles / clock_hz
    df["utilization"] = [m / c / peak if c else 0.0 for m, c in zip(df.macs, df.min_cycles)]
    return Roofline(workload.name, peak, float(clock_hz), bw, df)


__all__ = ["Roofline", "einsum_table", "external_tensors", "roofline", "tensor_role", "tensor_table", "totals"]
