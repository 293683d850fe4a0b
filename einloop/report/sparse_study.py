"""A Lab-4 style study with the sparse model: dense vs gating vs skipping, a density sweep, and a
tile's data vs metadata occupancy over density with the format's break-even density.

Each function takes a loaded spec (einloop.spec.sparse_load.SparseInputs) and returns a pandas table.
"""
from __future__ import annotations

import dataclasses
import math

from einloop.model.sparse import evaluate_sparse
from einloop.model.sparse_density import expected_nonzeros
from einloop.model.sparse_format import tile_metadata
from einloop.spec.sparse import SAF, Density, RankFormat, SparseSpec
from einloop.spec.sparse_load import SparseInputs


def _row(name: str, inp: SparseInputs, sp: SparseSpec) -> dict:
    r = evaluate_sparse(inp.einsum, inp.arch, inp.mapping, sp)
    return {"config": name, "fJ_per_algorithmic_compute": 1000 * r.energy_per_algorithmic_compute,
            "fJ_per_compute": 1000 * r.energy_per_compute, "energy_pJ": r.energy, "cycles": r.cycles,
            "computes": r.computes.random, "gated_computes": r.computes.gated}


def _without(sp: SparseSpec, formats: bool, safs: bool) -> SparseSpec:
    levels = {n: dataclasses.replace(ls, formats={} if formats else ls.formats, safs=() if safs else ls.safs)
              for n, ls in sp.levels.items()}
    return dataclasses.replace(sp, levels=levels, compute="" if safs else sp.compute)


def dense_gating_skipping(inp: SparseInputs, level: str):
    """Three designs on the spec's densities: dense (no format, no SAF), gating (every skipping SAF
    of the spec made gating, no format, compute gated) and the spec's own (formats and skipping)."""
    import pandas as pd
    sp = inp.sparsity
    dense = _without(sp, True, True)
    gating_safs = tuple(SAF("gating", s.target, s.condition_on) for s in sp.level(level).safs)
    gating = _without(sp, True, True)
    gating = dataclasses.replace(gating, compute="gating", levels={
        **gating.levels, level: dataclasses.replace(gating.level(level), safs=gating_safs)})
    rows = [_row("dense", inp, dense), _row("gating", inp, gating), _row("skipping + formats", inp, sp)]
    return pd.DataFrame(rows).set_index("config")


def density_sweep(inp: SparseInputs, first: str, second: str, densities=(0.25, 0.5, 0.75)):
    """Energy per algorithmic compute (fJ) and cycles over the densities of two tensors
    (fixed-structured), everything else as in the spec: the heat map of Lab 4 part 3."""
    import pandas as pd
    rows = []
    for d1 in densities:
        for d2 in densities:
            dens = {**inp.sparsity.densities, first: Density("fixed_structured", d1),
                    second: Density("fixed_structured", d2)}
            row = _row(f"{d1},{d2}", inp, dataclasses.replace(inp.sparsity, densities=dens))
            rows.append({first: d1, second: d2, "fJ_per_algorithmic_compute": row["fJ_per_algorithmic_compute"],
                         "cycles": row["cycles"]})
    return pd.DataFrame(rows).pivot(index=first, columns=second)


def occupancy_vs_density(shape: tuple[int, ...], formats: tuple[str, ...], metadata_bits: int, word_bits: int,
                         densities=(0.2, 0.4, 0.6, 0.8, 1.0)):
    """Words of one tile of ``shape`` (a matrix, ranks outer to inner) in ``formats``: data, metadata
    (metadata_bits per item, in word_bits words, rounded up) and their sum, against the uncompressed
    tile; ``break_even`` marks the densities where the format stops saving space."""
    import pandas as pd
    from einloop.spec.workload import Einsum
    e = Einsum.parse("Z[r0] += A[" + ",".join(f"r{i}" for i in range(len(shape))) + "] * B[r0]",
                     {f"r{i}": n for i, n in enumerate(shape)})
    tensor, size = e.tensor("A"), math.prod(shape)
    loops = [(f"r{i}", n) for i, n in enumerate(shape) if n > 1]
    rows = []
    for d in densities:
        dens = Density("fixed_structured", d)
        data = math.ceil(expected_nonzeros(dens, shape, size) - 1e-9)
        ranks = tile_metadata(tuple(RankFormat(f) for f in formats), loops, tensor, dens, size, metadata_bits)
        items = sum(math.ceil(r.metadata - 1e-9) + math.ceil(r.payload - 1e-9) for r in ranks)
        meta = math.ceil(items * metadata_bits / word_bits - 1e-9)
        rows.append({"density": d, "data_words": data, "metadata_words": meta, "total_words": data + meta,
                     "uncompressed_words": size, "break_even": data + meta >= size})
    return pd.DataFrame(rows).set_index("density")


__all__ = ["dense_gating_skipping", "density_sweep", "occupancy_vs_density"]
