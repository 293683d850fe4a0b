"""``einloop analyze``: the per-Einsum table, JSON records, the roofline of an architecture, the plot.

Hand-computed values for examples/workloads/conv.yaml (O[n,m,p,q] += I[n,c,p+r,q+s] * W[m,c,r,s],
n=1 m=64 c=64 p=q=56 r=s=3, 16 bits):
  MACs = 64 * 64 * 56 * 56 * 9 = 115,605,504
  I: 64 * 58 * 58 = 215,296 elements (the 58 x 58 extent includes the padding), W: 64 * 64 * 9 = 36,864,
  O: 64 * 56 * 56 = 200,704; minimum traffic = (215,296 + 36,864 + 200,704) * 2 B = 905,728 B
  operational intensity = 115,605,504 / 905,728 = 127.638... MAC/B
Eyeriss-like: 14 x 12 = 168 PEs at 200 MHz; DRAM gives no bandwidth, so one vector access per cycle:
block_size 4 (64-bit width / 16-bit words) x 16 bits = 8 B/cycle; ridge = 168 / 8 = 21 MAC/B.
"""
from __future__ import annotations

import json

import pytest

from einloop.cli import main
from conftest import ROOT

CONV = str(ROOT / "examples" / "workloads" / "conv.yaml")
EYERISS = str(ROOT / "examples" / "arch" / "eyeriss_like.yaml")
TPU = str(ROOT / "examples" / "arch" / "tpu_like.yaml")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

CONV_MACS = 64 * 64 * 56 * 56 * 9
CONV_BYTES = (64 * 58 * 58 + 64 * 64 * 9 + 64 * 56 * 56) * 2
RESNET50_V15_MACS = 4_089_184_256


def run(capsys, *argv):
    code = main(["analyze", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_conv_yaml_table(capsys):
    code, out, err = run(capsys, CONV)
    assert code == 0, err
    assert CONV_MACS == 115_605_504 and CONV_BYTES == 905_728
    row = next(line for line in out.splitlines() if line.startswith("conv3x3"))
    cells = row.split()
    assert cells[:2] == ["conv3x3", "mac"]
    assert cells[2:11] == ["115,605,504", "215,296", "36,864", "200,704", "430,592", "73,728", "401,408", "905,728",
                           f"{CONV_MACS / CONV_BYTES:.2f}"]
    assert cells[10] == "127.64"
    assert "min traffic, layer by layer   905,728 B" in out
    assert "Roofline" not in out


def test_conv_yaml_json(capsys):
    code, out, _ = run(capsys, CONV, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["workload"] == "resnet50-conv2_x-3x3"
    (rec,) = data["einsums"]
    assert rec["einsum"] == "conv3x3" and rec["macs"] == CONV_MACS
    assert (rec["input_elements"], rec["weight_elements"], rec["output_elements"]) == (215_296, 36_864, 200_704)
    assert rec["bytes"] == CONV_BYTES
    assert rec["operational_intensity"] == pytest.approx(115_605_504 / 905_728, rel=1e-12)
    assert data["totals"]["macs"] == CONV_MACS and data["totals"]["weights"] == 36_864
    assert "roofline" not in data


def test_conv_yaml_roofline_json(capsys):
    code, out, _ = run(capsys, CONV, "--arch", EYERISS, "--json")
    assert code == 0
    data = json.loads(out)
    r = data["roofline"]
    assert r["peak_macs_per_cycle"] == 168
    assert r["clock_hz"] == pytest.approx(200e6)
    assert r["bandwidth_source"] == "vector_access" and r["level"] == "DRAM"
    assert r["bandwidth_bytes_per_cycle"] == 8.0 and r["ridge"] == 21.0
    (rec,) = data["einsums"]
    assert rec["bound"] == "compute" and rec["attainable_macs_per_cycle"] == 168
    assert rec["min_cycles"] == pytest.approx(CONV_MACS / 168)                 # 688,128: compute-bound


def test_resnet50_eyeriss_roofline_and_plot(capsys, tmp_path):
    png = tmp_path / "tmp.png"
    code, out, err = run(capsys, "resnet50", "--arch", EYERISS, "--plot", str(png))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Workload resnet50_v1.5: 174 Einsum(s), 54 with MACs, 4,089,184,256 MACs")
    head = lines[1]
    assert "peak 168 MACs/cycle" in head and "200 MHz" in head and "33.6 GMAC/s" in head
    assert "bandwidth 8 B/cycle" in head and "one vector access per cycle" in head and "ridge 21 MAC/B" in head
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[2] == f"{RESNET50_V15_MACS:,}"
    # batch-1 FC: 2,048,000 MACs over 2,051,048 B (8-bit) is about 1 MAC/B, far below the ridge
    fc = next(line for line in lines if line.startswith("fc ")).split()
    assert fc[2] == "2,048,000" and fc[10] == "1.00" and fc[12] == "memory"
    conv1 = next(line for line in lines if line.startswith("conv1 ")).split()
    assert conv1[11] == "168" and conv1[12] == "compute"
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_resnet50_json_totals(capsys):
    code, out, _ = run(capsys, "zoo:resnet50", "--arch", EYERISS, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["workload"] == "resnet50_v1.5"
    assert data["totals"]["macs"] == RESNET50_V15_MACS
    assert sum(r["macs"] for r in data["einsums"]) == RESNET50_V15_MACS
    assert len(data["einsums"]) == 174
    assert data["roofline"]["total"]["macs"] == RESNET50_V15_MACS
    for r in data["einsums"]:
        assert r["attainable_macs_per_cycle"] == pytest.approx(min(168, 8 * r["operational_intensity"]))
        assert r["bound"] == ("compute" if r["operational_intensity"] >= 21 else "memory")


@pytest.mark.parametrize("extra, source, bw", [
    ("      read_bandwidth: 2\n", "read_bandwidth", 4.0),                       # 2 words x 16 bits
    ("      read_bandwidth: 2\n      shared_bandwidth: 3\n", "shared_bandwidth", 6.0),
])
def test_stated_bandwidth_is_used(capsys, tmp_path, extra, source, bw):
    """When the outermost level states a bandwidth, it is used (shared before read) and named in the header."""
    text = open(EYERISS).read()
    anchor = "      attributes: {type: LPDDR4}\n"
    assert anchor in text
    arch = tmp_path / "arch.yaml"
    arch.write_text(text.replace(anchor, anchor + extra))
    code, out, _ = run(capsys, CONV, "--arch", str(arch))
    assert code == 0
    head = out.splitlines()[1]
    assert f"bandwidth {bw:g} B/cycle" in head and f"DRAM {source}" in head and "vector access" not in head
    assert f"ridge {168 / bw:.4g} MAC/B" in head
    code, out, _ = run(capsys, CONV, "--arch", str(arch), "--json")
    r = json.loads(out)["roofline"]
    assert (r["bandwidth_source"], r["bandwidth_bytes_per_cycle"]) == (source, bw)


def test_tpu_like_peak(capsys):
    from einloop import api
    arch = api.load([TPU]).arch
    code, out, _ = run(capsys, "lab1_mnist", "--arch", TPU, "--json")
    assert code == 0
    r = json.loads(out)["roofline"]
    assert r["peak_macs_per_cycle"] == arch.compute_instances and r["clock_hz"] == pytest.approx(1 / arch.cycle_seconds)
    top = arch.storages[0]
    assert r["bandwidth_bytes_per_cycle"] == top.block_size * top.datawidth / 8       # DRAM states no bandwidth


def test_batch_bits_and_seq_len(capsys):
    code, out, _ = run(capsys, "resnet50", "--batch", "2", "--bits", "16", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["totals"]["macs"] == 2 * RESNET50_V15_MACS
    assert data["totals"]["weight_bytes"] == 2 * data["totals"]["weights"]
    code, out, _ = run(capsys, "gpt2_small_decode", "--seq-len", "128", "--json")
    assert code == 0
    qk = next(r for r in json.loads(out)["einsums"] if r["einsum"] == "qk")
    assert qk["macs"] == 12 * 1 * 128 * 64                                      # h x m x n x e


def test_unknown_workload_lists_the_zoo(capsys):
    from einloop.workloads import zoo
    code, out, err = run(capsys, "resnet5")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("einloop: error:")
    assert "resnet5" in err and all(name in err for name in zoo.names())


@pytest.mark.parametrize("argv, needle", [
    (["missing.yaml"], "no such workload file"),
    ([CONV, "--batch", "2"], "zoo workloads only"),
    (["resnet50", "--plot", "x.png"], "needs --arch"),
    (["resnet50", "--arch", EYERISS, "--plot", "x.txt"], "use .png, .svg or .pdf"),
    (["resnet50", "--arch", "missing_arch.yaml"], "no such architecture file"),
    (["resnet50", "--seq-len", "8"], "transformer workloads only"),
])
def test_bad_arguments(capsys, tmp_path, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2 and needle in err and err.count("\n") == 1
