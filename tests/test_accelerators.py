"""Well-known accelerators in examples/arch/ checked against the headline figures of their papers
(published-numbers.md section 3; issue 24). Each test says where einloop cannot match and why."""
import pytest

import einloop
from conftest import ROOT
from einloop.mapper.search import map_einsum
from einloop.spec.workload import Einsum, Workload
from einloop.workloads.analysis import roofline
from einloop.workloads.cli import roof_params

ARCH = ROOT / "examples" / "arch"


@pytest.fixture(scope="module")
def tpu():
    spec = einloop.load([ARCH / "tpu_v1.yaml"])
    return spec.arch, spec.constraints


def test_tpu_v1_peak_is_92_tops(tpu):
    """Jouppi et al. (ISCA 2017): 65,536 8-bit MACs at 700 MHz, "92 TeraOps/s" = 65,536 x 2 x 700e6
    = 91.75e12 ops/s (a MAC counts as two ops). einloop's peak is compute instances x clock."""
    arch, _ = tpu
    p = roof_params(arch)
    assert arch.compute_instances == 256 * 256 == 65_536
    assert p.clock_hz == pytest.approx(700e6, rel=1e-12)
    assert 2 * p.peak_macs_per_cycle * p.clock_hz == pytest.approx(91.75e12, rel=1e-3)
    assert 2 * p.peak_macs_per_cycle * p.clock_hz == pytest.approx(92e12, rel=0.003)   # the paper rounds


def test_tpu_v1_on_chip_memory_is_28_mib(tpu):
    """28 MiB software-managed on chip (ISCA 2017 abstract): 24 MiB Unified Buffer + 4 MiB
    accumulators (4096 x 256 x 32 bits); the 256 KiB weight FIFO is counted apart by the paper."""
    arch, _ = tpu
    size = {s.name: s.size * s.datawidth / 8 for s in arch.storages if s.size is not None}
    assert size["UnifiedBuffer"] == 24 * 2**20
    assert size["Accumulators"] == 4 * 2**20
    assert size["UnifiedBuffer"] + size["Accumulators"] == 28 * 2**20
    assert size["WeightFIFO"] == 4 * 64 * 2**10


def test_tpu_v1_roofline_ridge_is_1350_macs_per_byte(tpu):
    """The paper's roofline ridge: ~1,350 MAC ops per weight byte = (92e12 / 2) MAC/s / 34e9 B/s
    = 1,349.3. einloop's ridge is peak MACs/cycle / off-chip bytes/cycle (DRAM shared_bandwidth
    48.571 B/cycle = 34 GB/s at 700 MHz)."""
    arch, _ = tpu
    p = roof_params(arch)
    assert p.bandwidth_bytes_per_cycle * p.clock_hz == pytest.approx(34e9, rel=1e-9)
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 1, "k": 8, "n": 8}, name="mm")
    roof = roofline(_single(e), p.peak_macs_per_cycle, p.clock_hz, p.bandwidth_bytes_per_cycle)
    assert roof.ridge == pytest.approx(65_536 / (34e9 / 700e6), rel=1e-12)
    assert roof.ridge == pytest.approx(1_350, rel=0.001)


def _single(einsum):
    """A one-Einsum workload."""
    return Workload(name=einsum.name, einsums=(einsum,))


def _dram_words(result):
    """Words moved across the DRAM boundary (reads, fills and updates of every tensor)."""
    return sum(t.reads + t.fills + t.updates for t in result.tensors if t.level == "DRAM")


def test_tpu_v1_large_matmul_runs_at_peak(tpu):
    """A 8192 x 4096 x 4096 matmul: 137.4 G MACs over >= 83.9 MB of DRAM traffic (A, B, Z once), 1,638
    MAC/B, above the ridge, so compute-bound: 137.4e9 / 65,536 = 2,097,152 cycles at 100 % of the array,
    i.e. 91.75 TeraOps/s achieved. The search is time-limited; the bound it reaches is exact."""
    arch, cons = tpu
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 8192, "k": 4096, "n": 4096}, name="mm")
    r = map_einsum(e, arch, cons, objective="cycles", time_limit=2, workers=1).result
    assert r.valid and r.computes == 8192 * 4096 * 4096
    assert r.cycles == r.compute_cycles == 2_097_152
    assert r.utilization == pytest.approx(1.0)
    assert 2 * r.computes / (r.cycles * arch.cycle_seconds) == pytest.approx(91.75e12, rel=1e-3)
    assert _dram_words(r) / 48.571 <= r.cycles                  # the DRAM stream hides under compute


def test_tpu_v1_small_batch_fc_is_bound_by_weight_bandwidth(tpu):
    """An FC layer at batch 8 (4096 -> 4096, as the paper's MLPs): 134 M MACs use each weight byte 8
    times, far below the 1,350 ridge, so the 16.8 MB of weights at 48.571 B/cycle set the time:
    cycles = DRAM words / 48.571 = 346,763, the array 2,048 / 346,763 = 0.59 % busy (the paper's MLP0 runs memory-bound).
    The mapped cycles equal the roofline's bound when the mapping moves each tensor once."""
    arch, cons = tpu
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 8, "k": 4096, "n": 4096}, name="fc")
    r = map_einsum(e, arch, cons, objective="cycles", time_limit=2, workers=1).result
    assert r.valid
    words = _dram_words(r)
    assert words == 8 * 4096 + 4096 * 4096 + 8 * 4096           # every tensor crosses DRAM once
    assert r.cycles == pytest.approx(words / (34e9 / 700e6), abs=1)
    p = roof_params(arch)
    roof = roofline(_single(e), p.peak_macs_per_cycle, p.clock_hz, p.bandwidth_bytes_per_cycle)
    assert roof.table.loc["fc", "bound"] == "memory"
    assert r.cycles == pytest.approx(roof.table.loc["fc", "min_cycles"], abs=1)
    assert r.utilization == pytest.approx(8 * 4096 * 4096 / 65_536 / r.cycles, rel=1e-9)
    assert r.cycles == 346_763 and r.compute_cycles < r.cycles
