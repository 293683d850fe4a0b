"""Properties of the sparse layer on random small mappings (tests/strategies.py):

* every density 1.0 and no compressed format: every sparse count, the energy and the cycles equal
  the dense model's, whatever the SAFs;
* any densities, SAFs and formats: random, gated and skipped counts are non-negative and never sum
  past the algorithmic (dense) count, computes never exceed the dense ones, and without formats the
  energy never exceeds the dense energy;
* actual data: a tile's occupancy statistics equal a direct count over every aligned tile.
"""
import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from conftest import examples
from einloop.model.evaluate import evaluate
from einloop.model.sparse import evaluate_sparse
from einloop.model.sparse_density import expected_nonzeros, max_nonzeros, prob_nonempty
from einloop.spec.arch import ActionEnergy, Architecture, Compute, Storage
from einloop.spec.sparse import SAF, Density, LevelSparsity, Metadata, RankFormat, SparseSpec
from test_model_vs_bruteforce import to_einloop

try:
    from tests.strategies import case
except ImportError:
    from strategies import case


def priced(c):
    """The random case with energies (so energy comparisons mean something) and 1-word buffers' block 1."""
    einsum, arch, mapping = to_einloop(c)
    nodes = tuple(dataclasses.replace(n, energy=ActionEnergy(1.0, 2.0, 3.0, 0.01)) if isinstance(n, Storage)
                  else dataclasses.replace(n, energy=0.5) if isinstance(n, Compute) else n for n in arch.nodes)
    return einsum, Architecture("case", nodes), mapping


@st.composite
def sparsity(draw, einsum, arch, dense_only=False):
    """Random densities, SAFs and formats (``dense_only``: every density 1, no format)."""
    names = [t.name for t in einsum.tensors]
    dens = {}
    for t in einsum.tensors:
        kind = draw(st.sampled_from(["fixed_structured", "hypergeometric"]))
        d = 1.0 if dense_only else draw(st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0]))
        dens[t.name] = Density(kind, d)
    levels = {}
    for node in arch.storages:
        safs = []
        for target in names:
            if draw(st.booleans()):
                others = [n for n in names if n != target]
                cond = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
                safs.append(SAF(draw(st.sampled_from(["gating", "skipping"])), target, tuple(cond)))
        formats = {} if dense_only else {
            t: tuple(RankFormat(f) for f in draw(st.lists(st.sampled_from(["U", "UOP", "CP", "RLE", "B"]),
                                                          min_size=1, max_size=3)))
            for t in names if draw(st.booleans())}
        levels[node.name] = LevelSparsity(formats, tuple(safs), Metadata(4, 4, None, {"read": 0.3, "fill": 0.4,
                                                                                      "update": 0.4}))
    return SparseSpec(dens, levels)


@given(st.data())
def test_density_one_equals_dense(data):
    c = data.draw(case())
    einsum, arch, mapping = priced(c)
    sp = data.draw(sparsity(einsum, arch, dense_only=True))
    dense = evaluate(einsum, arch, mapping)
    result = evaluate_sparse(einsum, arch, mapping, sp)
    for t in dense.tensors:
        for action in ("read", "fill", "update"):
            a = result.action(t.level, t.tensor, action)
            assert a.algorithmic == a.random == getattr(t, action + "s")
            assert a.gated == a.skipped == 0
    assert result.computes.random == einsum.macs
    assert result.cycles == dense.cycles
    assert result.energy == pytest.approx(dense.energy, rel=1e-9, abs=1e-9)




@given(st.data())
def test_sparse_counts_never_exceed_dense(data):
    c = data.draw(case())
    einsum, arch, mapping = priced(c)
    sp = data.draw(sparsity(einsum, arch))
    dense = evaluate(einsum, arch, mapping)
    result = evaluate_sparse(einsum, arch, mapping, sp)
    for a in result.actions:
        assert min(a.random, a.gated, a.skipped) >= 0
        assert a.random + a.gated + a.skipped <= a.algorithmic + 1e-9
    assert 0 <= result.computes.random <= einsum.macs
    if not any(ls.formats for ls in sp.levels.values()):
        assert result.energy <= dense.energy * (1 + 1e-12) + 1e-9
        assert result.cycles <= dense.cycles


def direct_tiles(data: np.ndarray, shape: tuple[int, ...]) -> list[int]:
    """Nonzeros of every aligned tile, counted one by one."""
    counts = []
    for start in itertools.product(*(range(0, n, s) for n, s in zip(data.shape, shape))):
        box = tuple(slice(o, o + s) for o, s in zip(start, shape))
        counts.append(int(np.count_nonzero(data[box])))
    return counts


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9), st.integers(1, 9), st.floats(0.0, 1.0),
       st.integers(0, 2**31))
def test_actual_data_occupancy_is_a_direct_count(n0, n1, s0, s1, fill, seed):
    rng = np.random.default_rng(seed)
    data = (rng.random((n0, n1)) < fill) * rng.integers(1, 5, (n0, n1))
    if not data.size:
        return
    d = Density("actual", float(np.count_nonzero(data)) / data.size, data)
    shape = (min(s0, n0), min(s1, n1))
    counts = direct_tiles(data, shape)
    assert expected_nonzeros(d, shape, data.size) == pytest.approx(np.mean(counts))
    assert max_nonzeros(d, shape, data.size) == max(counts)
    assert prob_nonempty(d, shape, data.size) == pytest.approx(np.mean([c > 0 for c in counts]))


def test_hypergeometric_empty_tile_probability():
    """16 values, 4 nonzeros, tiles of 2: P(empty) = C(12,2)/C(16,2) = 66/120 = 0.55."""
    d = Density("hypergeometric", 0.25)
    assert prob_nonempty(d, (2,), 16) == pytest.approx(1 - 66 / 120)
    assert expected_nonzeros(d, (2,), 16) == pytest.approx(0.5)
    assert math.isclose(prob_nonempty(d, (1,), 16), 0.25)
