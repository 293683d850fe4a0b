"""Well-known accelerators in examples/arch/ checked against the headline figures of their papers
(published-numbers.md section 3; issue 24). Each test says where einloop cannot match and why."""
import json

import pytest

import einloop
from conftest import ROOT
from einloop.cli import main
from einloop.mapper.search import map_einsum
from einloop.spec.native import read_mapping
from einloop.spec.workload import Einsum, Workload
from einloop.workloads.analysis import roofline
from einloop.workloads import zoo
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
    48.571 B/cycle = 34 GB/s at 700 MHz). The paper's x axis counts weight bytes only, since the TPU
    keeps activations in its Unified Buffer between layers; an einloop mapping cannot (the outermost
    level keeps every tensor), so mapped layers count activations' DRAM traffic too (see below)."""
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


# Mappings map_einsum(objective="cycles", time_limit=3) found on tpu_v1.yaml, recorded so the tests do
# not depend on how far a time-limited search gets under load (at 0.5 s it stops at a 3x slower seed).
TPU_MAPPINGS = {
    "large": [   # 8192 x 4096 x 4096
        {"target": "DRAM", "temporal": "m2 n256", "keep": ["A", "B", "Z"]},
        {"target": "WeightFIFO", "keep": ["B"]},
        {"target": "UnifiedBuffer", "keep": ["A"]},
        {"target": "Accumulators", "temporal": "m4096", "keep": ["Z"]},
        {"target": "MatrixMultiplyUnit", "spatial": {"X": "k16 n16", "Y": "k256"}},
        {"target": "WeightReg", "keep": ["B"]},
    ],
    "fc": [      # 8 x 4096 x 4096
        {"target": "DRAM", "temporal": "n64", "keep": ["A", "B", "Z"]},
        {"target": "WeightFIFO", "keep": ["B"]},
        {"target": "UnifiedBuffer", "temporal": "k16", "keep": ["A"]},
        {"target": "Accumulators", "temporal": "m8", "keep": ["Z"]},
        {"target": "MatrixMultiplyUnit", "spatial": {"X": "n64", "Y": "k256"}},
        {"target": "WeightReg", "keep": ["B"]},
    ],
}


def test_tpu_v1_large_matmul_runs_at_peak(tpu):
    """A 8192 x 4096 x 4096 matmul: 137.4 G MACs over >= 83.9 MB of DRAM traffic (A, B, Z once), 1,638
    MAC/B, above the ridge, so compute-bound: 137.4e9 / 65,536 = 2,097,152 cycles at 100 % of the array,
    i.e. 91.75 TeraOps/s achieved. The mapping is the one map_einsum found (below)."""
    arch, _ = tpu
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 8192, "k": 4096, "n": 4096}, name="mm")
    r = einloop.evaluate(e, arch, read_mapping(TPU_MAPPINGS["large"], "test_accelerators.py"))
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
    arch, _ = tpu
    e = Einsum.parse("Z[m,n] += A[m,k] * B[k,n]", {"m": 8, "k": 4096, "n": 4096}, name="fc")
    r = einloop.evaluate(e, arch, read_mapping(TPU_MAPPINGS["fc"], "test_accelerators.py"))
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


# ---- Eyeriss v1 on AlexNet's CONV layers (Chen et al., JSSC 2017) ---------------------------------
# The mappings einloop's mapper found for AlexNet CONV1-5 at batch 4 on eyeriss_v1.yaml (objective edp;
# CONV1, CONV3: map_workload, 25 s per shape; CONV2/4/5: map_einsum, 20 s, with the row-stationary
# rule per level, see test_eyeriss_v1_alexnet_mappings_are_row_stationary), recorded so that the test
# is deterministic and fast: under this machine's load a few-second search often stops at its seed.
EYERISS_ALEXNET_MAPPINGS = {
    "conv1": [
        {"target": "DRAM", "temporal": "n4 p5 q5", "keep": ["T_conv1", "T_input", "W_conv1"]},
        {"target": "GlobalBuffer", "temporal": "c3 p11 q11", "keep": ["T_conv1", "T_input", "W_conv1"]},
        {"target": "PE_array", "spatial": {"X": "m12", "Y": "r11"}},
        {"target": "ifmap_spad", "keep": ["T_input"]},
        {"target": "weights_spad", "keep": ["W_conv1"]},
        {"target": "psum_spad", "temporal": "m8 s11", "keep": ["T_conv1"]},
    ],
    "conv2": [
        {"target": "DRAM", "temporal": "n2 g2 m2 p3 c2", "keep": ["T_conv2", "T_pool1", "W_conv2"]},
        {"target": "GlobalBuffer", "temporal": "r5 n2 p3 q27", "keep": ["T_conv2", "T_pool1"]},
        {"target": "PE_array", "spatial": {"X": "m4 p3", "Y": "c12"}},
        {"target": "ifmap_spad", "keep": ["T_pool1"]},
        {"target": "weights_spad", "temporal": "m16 c2 s5", "keep": ["W_conv2"]},
        {"target": "psum_spad", "keep": ["T_conv2"]},
    ],
    "conv3": [
        {"target": "DRAM", "temporal": "m4 c16 n4 p13", "keep": ["T_conv3", "T_pool2", "W_conv3"]},
        {"target": "GlobalBuffer", "temporal": "q13", "keep": ["T_pool2"]},
        {"target": "PE_array", "spatial": {"X": "m8", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_pool2"]},
        {"target": "weights_spad", "temporal": "m4 c4 s3", "keep": ["W_conv3"]},
        {"target": "psum_spad", "temporal": "m3", "keep": ["T_conv3"]},
    ],
    "conv4": [
        {"target": "DRAM", "temporal": "g2 m4 c4", "keep": ["T_conv3_relu", "T_conv4", "W_conv4"]},
        {"target": "GlobalBuffer", "temporal": "n4 q13 c48 s3", "keep": ["T_conv4", "W_conv4"]},
        {"target": "PE_array", "spatial": {"X": "p13", "Y": "m2 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv3_relu"]},
        {"target": "weights_spad", "keep": ["W_conv4"]},
        {"target": "psum_spad", "temporal": "m24", "keep": ["T_conv4"]},
    ],
    "conv5": [
        {"target": "DRAM", "temporal": "n2 g2 m2 c4", "keep": ["T_conv4_relu", "T_conv5", "W_conv5"]},
        {"target": "GlobalBuffer", "temporal": "n2 q13 c48 s3", "keep": ["T_conv5", "W_conv5"]},
        {"target": "PE_array", "spatial": {"X": "p13", "Y": "m4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv4_relu"]},
        {"target": "weights_spad", "keep": ["W_conv5"]},
        {"target": "psum_spad", "temporal": "m16", "keep": ["T_conv5"]},
    ],
}

PAPER_FPS, PAPER_DRAM_PER_MAC, PAPER_MW = 34.7, 0.0029, 278.0   # JSSC 2017, AlexNet CONV1-5, batch 4


@pytest.fixture(scope="module")
def eyeriss_alexnet():
    """(per-layer results of the recorded mappings, total MACs) on AlexNet CONV1-5, batch 4, 16 bits."""
    spec = einloop.load([ARCH / "eyeriss_v1.yaml"])
    net = zoo.get("alexnet", batch=4, bits=16)
    convs = {e.name: e for e in net.einsums if e.name in EYERISS_ALEXNET_MAPPINGS}
    results = {name: einloop.evaluate(convs[name], spec.arch, read_mapping(m, "test_accelerators.py"))
               for name, m in EYERISS_ALEXNET_MAPPINGS.items()}
    return spec.arch, results, sum(e.macs for e in convs.values())


def test_eyeriss_v1_alexnet_frames_per_second(eyeriss_alexnet):
    """34.7 frames/s published (batch 4, 200 MHz). einloop: 3,194,400 + 6,220,800 + 6,230,016 +
    8,820,864 + 5,880,576 = 30,346,656 cycles x 5 ns = 151.7 ms for 4 frames = 26.36 frames/s, 24 %
    slower than the chip. CONV4 and CONV5 set the gap: their mappings are bound by the global buffer's
    read bandwidth (4 words/cycle, an assumed number: the paper's buffer is banked) at 30 % PE
    utilization, where the paper replicates PE sets over channels; the time-limited search (60 s on
    each of CONV2, CONV4 and CONV5 found the same mappings) found nothing better under einloop's
    row-stationary rule."""
    arch, results, _ = eyeriss_alexnet
    assert all(r.valid for r in results.values())
    cycles = sum(r.cycles for r in results.values())
    assert cycles == 30_346_656
    fps = 4 / (cycles * arch.cycle_seconds)
    assert fps == pytest.approx(26.36, abs=0.01)
    assert fps / PAPER_FPS == pytest.approx(0.760, abs=0.001)
    conv4 = results["conv4"]
    assert conv4.cycles == conv4.level("GlobalBuffer").cycles == 8_820_864 > conv4.compute_cycles


def test_eyeriss_v1_alexnet_mappings_are_row_stationary(eyeriss_alexnet):
    """Every recorded mapping obeys einloop's row-stationary rule (mapper/constraints.py): output rows p
    and output channels m across X, filter rows r, input channels c and m down Y, only q, s, c, m
    inside a PE. (CONV2/4/5 were searched with this rule written out per level: for grouped layers the
    named dataflow takes the group index g*48+c for a sliding window and allows c across X instead.)"""
    for name, nodes in EYERISS_ALEXNET_MAPPINGS.items():
        for node in read_mapping(nodes, "test_accelerators.py").nodes:
            for loop in node.loops:
                if loop.spatial == "X":
                    assert loop.rank in "pm", (name, loop)
                elif loop.spatial == "Y":
                    assert loop.rank in "rcm", (name, loop)
                elif node.target.endswith("_spad"):
                    assert loop.rank in "qscm", (name, loop)


def test_eyeriss_v1_alexnet_dram_accesses_per_mac(eyeriss_alexnet):
    """0.0029 DRAM accesses/MAC published. The algorithmic minimum (each 16-bit word of CONV1-5's
    inputs, weights and outputs moved once: 6,841,996 words / 2,663,139,456 MACs) is 0.00257; the
    paper's 0.0029 is 13 % above it. The recorded mappings move 22,635,004 words, 0.00850/MAC, 2.93x the
    paper: the chip run-length compresses the (ReLU-sparse) feature maps it sends to DRAM, which
    einloop's dense model does not, and the mapper minimized energy-delay, not DRAM traffic (CONV3
    moves 9,853,440 words, 7.2x its minimum of 1,374,720)."""
    _, results, macs = eyeriss_alexnet
    assert macs == 2_663_139_456
    words = sum(_dram_words(r) for r in results.values())
    assert words == 22_635_004
    assert words / macs == pytest.approx(0.008499, rel=1e-3)
    net = zoo.get("alexnet", batch=4, bits=16)
    minimum = sum(t.size(e.ranks) for e in net.einsums if e.name in results for t in e.tensors)
    assert minimum == 6_841_996
    assert minimum / macs < PAPER_DRAM_PER_MAC < words / macs
    conv3 = results["conv3"]
    assert _dram_words(conv3) == 9_853_440 and 230_400 + 884_736 + 259_584 == 1_374_720
    assert words / macs / PAPER_DRAM_PER_MAC == pytest.approx(2.93, abs=0.01)


def test_eyeriss_v1_alexnet_power(eyeriss_alexnet):
    """278 mW published (measured chip power, 1 V, 200 MHz). einloop: 21.18 mJ over 151.7 ms = 139.6 mW,
    0.50 of the chip: the component library prices data movement and MACs (and leakage) only; the
    measured power also carries the clock network, the NoC routers and the control logic. einloop's
    24 % longer run (see the frames/s test) spreads its energy thinner."""
    arch, results, _ = eyeriss_alexnet
    energy_pj = sum(r.energy for r in results.values())
    seconds = sum(r.cycles for r in results.values()) * arch.cycle_seconds
    mw = energy_pj * 1e-12 / seconds * 1e3
    assert mw == pytest.approx(139.6, abs=0.1)
    assert mw / PAPER_MW == pytest.approx(0.502, abs=0.002)


# ---- Eyeriss v1 on VGG-16's CONV layers (JSSC 2017: batch 3, 0.7 frames/s, 0.0035 DRAM/MAC, 236 mW) ---
# Found by map_workload(..., objective="edp", time_limit=20, workers=2) on eyeriss_v1.yaml; every one is
# row-stationary (filter rows r and channels down Y, output rows p or channels m across X).
VGG16_MAPPINGS = {
    "conv1_1": [
        {"target": "DRAM", "temporal": "q28", "keep": ["T_conv1_1", "T_input", "W_conv1_1"]},
        {"target": "GlobalBuffer", "temporal": "n3 p32", "keep": ["T_input"]},
        {"target": "PE_array", "spatial": {"X": "p7", "Y": "c3 r3"}},
        {"target": "ifmap_spad", "keep": ["T_input"]},
        {"target": "weights_spad", "temporal": "m4 q8", "keep": ["W_conv1_1"]},
        {"target": "psum_spad", "temporal": "m16 s3", "keep": ["T_conv1_1"]},
    ],
    "conv1_2": [
        {"target": "DRAM", "temporal": "n3 p8 q8", "keep": ["T_conv1_1_relu", "T_conv1_2", "W_conv1_2"]},
        {"target": "GlobalBuffer", "temporal": "c16 p2 q4", "keep": ["T_conv1_2"]},
        {"target": "PE_array", "spatial": {"X": "p14", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv1_1_relu"]},
        {"target": "weights_spad", "temporal": "m64", "keep": ["W_conv1_2"]},
        {"target": "psum_spad", "temporal": "q7 s3", "keep": ["T_conv1_2"]},
    ],
    "conv2_1": [
        {"target": "DRAM", "temporal": "c2 n3 p8 q14", "keep": ["T_conv2_1", "T_pool1", "W_conv2_1"]},
        {"target": "GlobalBuffer", "temporal": "c4 q2", "keep": ["T_conv2_1", "W_conv2_1"]},
        {"target": "PE_array", "spatial": {"X": "p14", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "temporal": "m128", "keep": ["T_pool1"]},
        {"target": "weights_spad", "temporal": "c2 s3", "keep": ["W_conv2_1"]},
        {"target": "psum_spad", "temporal": "q4", "keep": ["T_conv2_1"]},
    ],
    "conv2_2": [
        {"target": "DRAM", "temporal": "n3 p8 q14", "keep": ["T_conv2_1_relu", "T_conv2_2", "W_conv2_2"]},
        {"target": "GlobalBuffer", "temporal": "c32 m128", "keep": ["T_conv2_2"]},
        {"target": "PE_array", "spatial": {"X": "p14", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv2_1_relu"]},
        {"target": "weights_spad", "temporal": "s3", "keep": ["W_conv2_2"]},
        {"target": "psum_spad", "temporal": "q8", "keep": ["T_conv2_2"]},
    ],
    "conv3_1": [
        {"target": "DRAM", "temporal": "n3 p4 q7", "keep": ["T_conv3_1", "T_pool2", "W_conv3_1"]},
        {"target": "GlobalBuffer", "temporal": "c32 m256", "keep": ["T_conv3_1"]},
        {"target": "PE_array", "spatial": {"X": "p14", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_pool2"]},
        {"target": "weights_spad", "temporal": "s3", "keep": ["W_conv3_1"]},
        {"target": "psum_spad", "temporal": "q8", "keep": ["T_conv3_1"]},
    ],
    "conv3_2": [
        {"target": "DRAM", "temporal": "c4 p4 q7 m32", "keep": ["T_conv3_1_relu", "T_conv3_2", "W_conv3_2"]},
        {"target": "GlobalBuffer", "temporal": "n3 c64", "keep": ["T_conv3_1_relu", "W_conv3_2"]},
        {"target": "PE_array", "spatial": {"X": "p14", "Y": "m4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv3_1_relu"]},
        {"target": "weights_spad", "temporal": "s3", "keep": ["W_conv3_2"]},
        {"target": "psum_spad", "temporal": "q8 m2", "keep": ["T_conv3_2"]},
    ],
    "conv3_3": [
        {"target": "DRAM", "temporal": "c4 p4 q7 m32", "keep": ["T_conv3_2_relu", "T_conv3_3", "W_conv3_3"]},
        {"target": "GlobalBuffer", "temporal": "n3 c64", "keep": ["T_conv3_2_relu", "W_conv3_3"]},
        {"target": "PE_array", "spatial": {"X": "p14", "Y": "m4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv3_2_relu"]},
        {"target": "weights_spad", "temporal": "s3", "keep": ["W_conv3_3"]},
        {"target": "psum_spad", "temporal": "q8 m2", "keep": ["T_conv3_3"]},
    ],
    "conv4_1": [
        {"target": "DRAM", "temporal": "m8 q4 c16", "keep": ["T_conv4_1", "T_pool3", "W_conv4_1"]},
        {"target": "GlobalBuffer", "temporal": "m2 n3 p4 q7", "keep": ["T_conv4_1", "T_pool3"]},
        {"target": "PE_array", "spatial": {"X": "m2 p7", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_pool3"]},
        {"target": "weights_spad", "keep": ["W_conv4_1"]},
        {"target": "psum_spad", "temporal": "c4 m16 s3", "keep": ["T_conv4_1"]},
    ],
    "conv4_2": [
        {"target": "DRAM", "temporal": "m8 q4 c32", "keep": ["T_conv4_1_relu", "T_conv4_2", "W_conv4_2"]},
        {"target": "GlobalBuffer", "temporal": "m2 n3 p4 q7", "keep": ["T_conv4_1_relu", "T_conv4_2"]},
        {"target": "PE_array", "spatial": {"X": "m2 p7", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv4_1_relu"]},
        {"target": "weights_spad", "keep": ["W_conv4_2"]},
        {"target": "psum_spad", "temporal": "c4 m16 s3", "keep": ["T_conv4_2"]},
    ],
    "conv4_3": [
        {"target": "DRAM", "temporal": "m8 q4 c32", "keep": ["T_conv4_2_relu", "T_conv4_3", "W_conv4_3"]},
        {"target": "GlobalBuffer", "temporal": "m2 n3 p4 q7", "keep": ["T_conv4_2_relu", "T_conv4_3"]},
        {"target": "PE_array", "spatial": {"X": "m2 p7", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv4_2_relu"]},
        {"target": "weights_spad", "keep": ["W_conv4_3"]},
        {"target": "psum_spad", "temporal": "c4 m16 s3", "keep": ["T_conv4_3"]},
    ],
    "conv5_1": [
        {"target": "DRAM", "temporal": "m4 c32 n3 p14", "keep": ["T_conv5_1", "T_pool4", "W_conv5_1"]},
        {"target": "GlobalBuffer", "temporal": "q14", "keep": ["T_pool4"]},
        {"target": "PE_array", "spatial": {"X": "m8", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_pool4"]},
        {"target": "weights_spad", "temporal": "m8 c4 s3", "keep": ["W_conv5_1"]},
        {"target": "psum_spad", "temporal": "m2", "keep": ["T_conv5_1"]},
    ],
    "conv5_2": [
        {"target": "DRAM", "temporal": "m4 c32 n3 p14", "keep": ["T_conv5_1_relu", "T_conv5_2", "W_conv5_2"]},
        {"target": "GlobalBuffer", "temporal": "q14", "keep": ["T_conv5_1_relu"]},
        {"target": "PE_array", "spatial": {"X": "m8", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv5_1_relu"]},
        {"target": "weights_spad", "temporal": "m8 c4 s3", "keep": ["W_conv5_2"]},
        {"target": "psum_spad", "temporal": "m2", "keep": ["T_conv5_2"]},
    ],
    "conv5_3": [
        {"target": "DRAM", "temporal": "m4 c32 n3 p14", "keep": ["T_conv5_2_relu", "T_conv5_3", "W_conv5_3"]},
        {"target": "GlobalBuffer", "temporal": "q14", "keep": ["T_conv5_2_relu"]},
        {"target": "PE_array", "spatial": {"X": "m8", "Y": "c4 r3"}},
        {"target": "ifmap_spad", "keep": ["T_conv5_2_relu"]},
        {"target": "weights_spad", "temporal": "m8 c4 s3", "keep": ["W_conv5_3"]},
        {"target": "psum_spad", "temporal": "m2", "keep": ["T_conv5_3"]},
    ],
}


@pytest.fixture(scope="module")
def eyeriss_vgg16():
    """(results of the recorded mappings, total MACs, algorithmic minimum words) on VGG-16 CONV, batch 3."""
    spec = einloop.load([ARCH / "eyeriss_v1.yaml"])
    net = zoo.get("vgg16", batch=3, bits=16)
    convs = {e.name: e for e in net.einsums if e.name in VGG16_MAPPINGS}
    assert len(convs) == 13
    results = {name: einloop.evaluate(convs[name], spec.arch, read_mapping(m, "test_accelerators.py"))
               for name, m in VGG16_MAPPINGS.items()}
    minimum = sum(t.size(e.ranks) for e in convs.values() for t in e.tensors)
    return spec.arch, results, sum(e.macs for e in convs.values()), minimum


def test_eyeriss_v1_vgg16_against_the_paper(eyeriss_vgg16):
    """VGG-16's 13 CONV layers at batch 3: 46,039,891,968 MACs (15.35 G per frame).

    * frames/s: einloop 328,512,512 cycles = 1.643 s for 3 frames = 1.826 frames/s, 2.61x the paper's
      0.7. The paper's rate means 0.7 x 15.35 G = 10.7 GMAC/s, 32 % of the 168 x 200 MHz peak; einloop's
      mappings keep 83 % of the PEs busy. einloop does not explain this gap: its DRAM link (1.8
      words/cycle) is not the bound (348 M words / 1.8 = 193 M cycles < 328 M), and it overlaps
      transfers with computation; a chip that does not (or a slower link) would be slower. The test
      records the gap; it is not a tolerance.
    * DRAM accesses/MAC: 348,242,532 words = 0.00756, 2.16x the paper's 0.0035 (no feature-map
      compression, energy-delay objective); the dense minimum is 84,199,524 words = 0.00183.
    * power: 344.15 mJ / 1.643 s = 209.5 mW, 0.89 of the paper's 236 mW (no clock tree, NoC, control;
      and einloop's shorter run raises its average power).
    """
    arch, results, macs, minimum = eyeriss_vgg16
    assert all(r.valid for r in results.values())
    assert macs == 46_039_891_968
    cycles = sum(r.cycles for r in results.values())
    assert cycles == 328_512_512
    seconds = cycles * arch.cycle_seconds
    fps = 3 / seconds
    assert fps == pytest.approx(1.826, abs=0.001)
    assert fps / 0.7 == pytest.approx(2.61, abs=0.01)
    assert macs / cycles / 168 == pytest.approx(0.834, abs=0.001)
    words = sum(_dram_words(r) for r in results.values())
    assert words == 348_242_532 and minimum == 84_199_524
    assert words / 1.8 < cycles                              # the DRAM link is not the bound
    assert words / macs / 0.0035 == pytest.approx(2.16, abs=0.01)
    assert minimum / macs < 0.0035 < words / macs
    mw = sum(r.energy for r in results.values()) * 1e-12 / seconds * 1e3
    assert mw == pytest.approx(209.5, abs=0.1)
    assert mw / 236 == pytest.approx(0.888, abs=0.002)


# ---- Gemmini (default configuration) -------------------------------------------------------------
@pytest.fixture(scope="module")
def gemmini():
    spec = einloop.load([ARCH / "gemmini.yaml"])
    return spec.arch, spec.constraints


def test_gemmini_default_configuration(gemmini):
    """The generator's default: a 16 x 16 array of int8 MACs (256 MACs/cycle, 512 GOPS at the assumed
    1 GHz), a 256 KiB scratchpad and 64 KiB of 32-bit accumulators."""
    arch, _ = gemmini
    p = roof_params(arch)
    assert arch.compute_instances == 256
    assert 2 * p.peak_macs_per_cycle * p.clock_hz == pytest.approx(512e9)
    size = {s.name: s.size * s.datawidth / 8 for s in arch.storages if s.size is not None}
    assert size["Scratchpad"] == 256 * 2**10 and size["Accumulator"] == 64 * 2**10


def test_gemmini_maps_a_resnet50_layer_weight_stationary(gemmini):
    """ResNet-50 layer1_0_conv1 (1x1, 64 -> 64 channels, 56 x 56, 12.8 M MACs) maps validly under the
    weight-stationary constraints: every MAC computed once, no faster than 12,845,056 / 256 = 50,176
    cycles, each PE register holding one weight. (The DAC 2021 paper reports speed-ups over a CPU, not
    absolute layer latencies, so there is no published number to compare with here.)"""
    arch, cons = gemmini
    e = next(x for x in zoo.get("resnet50", batch=1, bits=8).einsums if x.name == "layer1_0_conv1")
    r = map_einsum(e, arch, cons, objective="edp", time_limit=2, workers=1)
    assert r.result is not None and r.result.valid
    assert r.result.computes == e.macs == 64 * 64 * 56 * 56
    assert r.result.cycles >= e.macs // 256 == 50_176
    reg = r.result.tensor("PEReg", "W_layer1_0_conv1")
    assert reg.utilized_capacity == 1
    assert {t.tensor for t in r.result.tensors if t.level == "PEReg"} == {"W_layer1_0_conv1"}


# ---- the design-study variant (docs/design-study.md) ----------------------------------------------
def test_design_study_variant_differs_only_in_the_global_buffer():
    """eyeriss_v1_glb27k.yaml is eyeriss_v1.yaml with the GLB depth 13,824 -> 3,456 words (108 -> 27 KB):
    every other node is identical, and the area falls by exactly the buffer's own area change."""
    base = einloop.load([ARCH / "eyeriss_v1.yaml"]).arch
    small = einloop.load([ARCH / "eyeriss_v1_glb27k.yaml"]).arch
    assert len(base.nodes) == len(small.nodes)
    for a, b in zip(base.nodes, small.nodes):
        if a.name == "GlobalBuffer":
            assert (a.size, b.size) == (13_824 * 4, 3_456 * 4)        # 16-bit words: 64-bit rows x 4
            assert b.area < a.area
        else:
            assert a == b
    ex = ROOT / "examples"
    areas = []
    for arch in ("eyeriss_v1", "eyeriss_v1_glb27k"):     # the areas docs/design-study.md prints
        spec = einloop.load([ex / "workloads/conv.yaml", ARCH / f"{arch}.yaml", ex / "mappings/conv_eyeriss_like.yaml"])
        areas.append(einloop.evaluate(spec.workload.einsum(), spec.arch, spec.mapping).area)
    assert areas == [pytest.approx(2_120_245, abs=1), pytest.approx(1_556_410, abs=1)]
    assert 1 - areas[1] / areas[0] == pytest.approx(0.266, abs=0.001)


def test_analyze_prints_the_tpu_v1_ridge(capsys):
    """`einloop analyze alexnet --arch examples/arch/tpu_v1.yaml --json`: peak 65,536 MACs/cycle at
    700 MHz, 48.571 B/cycle from DRAM's shared_bandwidth, ridge 1,349.3 MAC/B."""
    assert main(["analyze", "alexnet", "--arch", str(ARCH / "tpu_v1.yaml"), "--json"]) == 0
    roof = json.loads(capsys.readouterr().out)["roofline"]
    assert roof["peak_macs_per_cycle"] == 65_536 and roof["clock_hz"] == pytest.approx(700e6)
    assert roof["bandwidth_source"] == "shared_bandwidth" and roof["level"] == "DRAM"
    assert roof["ridge"] == pytest.approx(1349.3, abs=0.1)
