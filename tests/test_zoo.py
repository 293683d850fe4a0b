"""The workload zoo, layer builders, analysis tables and the roofline (no torch needed).

Published totals come from shared/reference/published-numbers.md section 2 (batch 1, biases
excluded, weights = conv + FC weight tensors). Tolerance: a total must round to the published
value at the published precision (e.g. 724.4 M means |MACs/1e6 - 724.4| < 0.05); per-layer counts
are exact. One exception, stated in the test: AlexNet's "60.96 M" weights is not the sum of the
per-layer rows of the same table, which give 60,954,656 = 60.95 M.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from einloop.errors import SpecError
from einloop.workloads import analysis as A
from einloop.workloads import layers as L
from einloop.workloads import zoo


def weights(w):
    return L.weight_count(w.einsums)


def macs_of(w, op="mac", kind=None):
    return sum(e.macs for e in w.einsums if e.op == op and (kind is None or kind(e)))


def is_fc(e):
    return set(e.ranks) <= {"n", "m", "c", "p", "q"} and "r" not in e.ranks


@pytest.fixture(scope="module")
def nets():
    return {n: zoo.get(n) for n in zoo.names()}


# ---- published totals -----------------------------------------------------------------------------
@pytest.mark.parametrize("name, macs, unit_m, digits_m, w, unit_w, digits_w", [
    ("alexnet", 724.4, 1e6, 1, None, None, None),
    ("vgg16", 15.47, 1e9, 2, 138.3, 1e6, 1),
    ("resnet50_v1", 3.86, 1e9, 2, 25.5, 1e6, 1),
    ("resnet50_v1.5", 4.09, 1e9, 2, 25.5, 1e6, 1),
    ("mobilenet_v1", 568.7, 1e6, 1, 4.21, 1e6, 2),
    ("alexnet_torchvision", 714.2, 1e6, 1, 61.09, 1e6, 2),
])
def test_published_totals(nets, name, macs, unit_m, digits_m, w, unit_w, digits_w):
    net = nets[name]
    assert round(net.macs / unit_m, digits_m) == macs
    if w is not None:
        assert round(weights(net) / unit_w, digits_w) == w


def test_alexnet_grouped_per_layer_exact(nets):
    net = nets["alexnet"]
    conv = {e.name: e for e in net.einsums if e.op == "mac"}
    assert [conv[f"conv{i}"].macs for i in range(1, 6)] == [105_415_200, 223_948_800, 149_520_384, 112_140_288,
                                                             74_760_192]
    assert [conv[f"conv{i}"].tensor_size(f"W_conv{i}") for i in range(1, 6)] == [34_848, 307_200, 884_736, 663_552,
                                                                                  442_368]
    conv_macs = sum(conv[f"conv{i}"].macs for i in range(1, 6))
    assert round(conv_macs / 1e6, 2) == 665.78                       # Eyeriss ISSCC'16: 666 M MACs
    conv_w = sum(conv[f"conv{i}"].tensor_size(f"W_conv{i}") for i in range(1, 6))
    assert round(conv_w / 1e6, 3) == 2.333                            # "2.3 million weights"
    fc = net.macs - conv_macs
    assert round(fc / 1e6, 2) == 58.62 and weights(net) - conv_w == fc   # FC MACs = FC weights at batch 1
    # the table's 60.96 M total is not the sum of its rows (2,332,704 + 58,621,952); within 0.01 % of it
    assert weights(net) == 60_954_656
    assert abs(weights(net) - 60.96e6) / 60.96e6 < 1e-4
    # conv2/4/5 are grouped: two groups, half the input channels each
    c2 = conv["conv2"]
    assert c2.ranks["g"] == 2 and c2.ranks["c"] == 48 and c2.ranks["m"] == 128


def test_component_counts(nets):
    vgg = nets["vgg16"]
    assert round(macs_of(vgg, kind=lambda e: "r" in e.ranks) / 1e6, 1) == 15_346.6   # conv MACs
    r1, r15 = nets["resnet50_v1"], nets["resnet50_v1.5"]
    assert round(macs_of(r1, kind=lambda e: "r" in e.ranks) / 1e6, 1) == 3_855.9
    assert round(macs_of(r15, kind=lambda e: "r" in e.ranks) / 1e6) == 4_087
    mb = nets["mobilenet_v1"]
    assert round(macs_of(mb, kind=lambda e: "r" in e.ranks) / 1e6, 1) == 567.7
    conv_w = L.weight_count([e for e in mb.einsums if "r" in e.ranks])
    assert round(conv_w / 1e6, 3) == 3.185


def test_reference_layers_and_course_numbers(nets):
    # TAE default problem = MobileNet conv1 (C3 M32 3x3 s2, 112x112 out); TAE VGG02_layer5 = VGG-16 conv3_1
    assert nets["mobilenet_v1"].einsum("conv0").macs == 10_838_016
    assert nets["vgg16"].einsum("conv3_1").macs == 924_844_032
    # Lab 1 (2025) MNIST net: total weights 103,812 (100 + 800 + 100,352 + 2,560)
    assert weights(nets["lab1_mnist"]) == 103_812
    # ResNet-18 and MobileNet-v2: the well-known 1.81 G / 300 M MACs; weights as torchvision less BN and biases
    assert round(nets["resnet18"].macs / 1e9, 2) == 1.81 and weights(nets["resnet18"]) == 11_678_912
    assert round(nets["mobilenet_v2"].macs / 1e6) == 301 and weights(nets["mobilenet_v2"]) == 3_469_760


def test_transformer_counts():
    bert = zoo.get("bert_base_layer", seq_len=512)
    proj = {"q", "k", "v", "proj", "fc", "fc2"}
    linear = sum(e.macs for e in bert.einsums if e.name in proj)
    assert linear == 7_077_888 * 512                                # 7,077,888 MACs per token per layer
    assert round(12 * linear / 1e9, 1) == 43.5
    attn = bert.einsum("qk").macs + bert.einsum("av").macs
    assert round(attn / 1e6, 1) == 402.7
    gpt3 = zoo.get("gpt3_6.7b_decode", seq_len=2048)
    lin = sum(e.macs for e in gpt3.einsums if e.name in proj)
    assert round(lin / 1e6, 1) == 201.3                              # per token per block
    assert round(32 * lin / 1e9, 2) == 6.44
    assert weights(gpt3) == lin                                      # decode of one token: MACs = weights


def test_attention_shapes():
    pre = zoo.get("gpt2_small_prefill", batch=2, seq_len=128)
    qk = pre.einsum("qk")
    assert qk.ranks == {"b": 2, "h": 12, "m": 128, "n": 128, "e": 64}
    assert str(qk) == "T_qk[b,h,m,n] += T_q[b,h,m,e] * T_k[b,h,n,e]"
    dec = zoo.get("gpt2_small_decode", batch=2, seq_len=128)
    qk, av = dec.einsum("qk"), dec.einsum("av")
    assert qk.ranks["m"] == 1 and qk.ranks["n"] == 128
    assert {t.name for t in qk.inputs} == {"T_q", "K_cache"} and {t.name for t in av.inputs} == {"T_softmax", "V_cache"}
    assert dec.einsum("k").ranks["t"] == 1
    llama = zoo.get("llama3_8b_prefill", seq_len=256)
    qk = llama.einsum("qk")
    assert qk.ranks == {"b": 1, "g": 8, "h": 4, "m": 256, "n": 256, "e": 128}
    assert qk.tensor_size("T_k_rope") * 4 == qk.tensor_size("T_q_rope")   # 8 KV heads serve 32 query heads
    assert qk.tensor_size("T_qk") == 32 * 256 * 256
    assert llama.einsum("k").tensor_size("W_k") == 1024 * 4096
    ops = {e.op for e in llama.einsums}
    assert {"rmsnorm", "rope", "softmax", "silu", "mul", "add"} <= ops


def test_resnet50_v1_and_v15_differ_only_in_stride_placement(nets):
    v1, v15 = nets["resnet50_v1"], nets["resnet50_v1.5"]
    assert v1.einsum("layer2_0_conv1").ranks["p"] == 28 and v15.einsum("layer2_0_conv1").ranks["p"] == 56
    assert v1.einsum("layer2_0_conv2").ranks["p"] == 28 and v15.einsum("layer2_0_conv2").ranks["p"] == 28
    assert "p*2+r" in str(v1.einsum("layer2_0_conv1")) and "p*2+r-1" in str(v15.einsum("layer2_0_conv2"))
    assert [e.name for e in v1.einsums] == [e.name for e in v15.einsums]
    assert weights(v1) == weights(v15)


def test_conv_builder_shapes():
    x = L.Act("T_x", (2, 32, 56, 56))
    e = L.conv("c", x, 64, 3, stride=2, padding=1)
    assert str(e) == "T_c[n,m,p,q] += T_x[n,c,p*2+r-1,q*2+s-1] * W_c[m,c,r,s]"
    assert L.output_act(e).shape == (2, 64, 28, 28)
    assert e.tensor_size("T_x") == 2 * 32 * 57 * 57            # rows -1..55: the top padding row and all 56 rows
    d = L.conv("d", x, 32, 3, padding=2, dilation=2)
    assert "p+r*2-2" in str(d) and L.output_act(d).shape == (2, 32, 56, 56)
    dw = L.depthwise_conv("dw", x, 3, padding=1)
    assert str(dw) == "T_dw[n,g,p,q] += T_x[n,g,p+r-1,q+s-1] * W_dw[g,r,s]"
    assert dw.macs == 2 * 32 * 56 * 56 * 9 and dw.tensor_size("W_dw") == 32 * 9
    g = L.conv("g", x, 64, 1, groups=4)
    assert str(g) == "T_g[n,g*16+m,p,q] += T_x[n,g*8+c,p+r,q+s] * W_g[g*16+m,c,r,s]"
    assert g.macs == 2 * 64 * 8 * 56 * 56 and L.output_act(g).shape == (2, 64, 56, 56)
    same = L.conv("s", L.Act("T_y", (1, 4, 10)), 8, 4, padding="same")
    assert L.output_act(same).shape == (1, 8, 10)
    with pytest.raises(SpecError, match="groups"):
        L.conv("bad", x, 63, 3, groups=2)
    with pytest.raises(SpecError, match="does not fit"):
        L.conv("bad", L.Act("T_z", (1, 3, 4, 4)), 8, 7)


def test_lab3_conv2_table():
    """Course Lab 3 conv2 (C4 M8 5x5 28x28 N50, stride 1, no padding): counts and MACs/(W+I+O) = 60.4."""
    e = L.conv("conv2", L.Act("T_x", (50, 4, 32, 32)), 8, 5)
    row = A.einsum_table(__import__("einloop").Workload("lab3", (e,)), total=False).loc["conv2"]
    assert (row.macs, row.weight_elements, row.input_elements, row.output_elements) == (31_360_000, 800, 204_800,
                                                                                      313_600)
    assert round(row.operational_intensity, 1) == 60.4             # 8-bit: bytes = elements


def _coordinate_range(idx, ranks):
    lo = idx.offset + sum(min(0, c * (ranks[r] - 1)) for r, c in idx.terms)
    hi = idx.offset + sum(max(0, c * (ranks[r] - 1)) for r, c in idx.terms)
    return lo, hi


def test_every_zoo_network_chains_by_name(nets):
    for name, net in nets.items():
        produced: dict[str, tuple[int, ...]] = {}
        for e in net.einsums:
            for t in e.inputs:
                if t.name.startswith(L.ACT_PREFIX) and t.name != "T_input" and t.name != "T_rope":
                    assert t.name in produced, f"{name}: {e.name} reads {t.name} before it is written"
                    ext = produced[t.name]
                    assert len(t.indices) == len(ext), f"{name}: {e.name} reads {t.name} with another rank count"
                    for idx, size in zip(t.indices, ext):
                        lo, hi = _coordinate_range(idx, e.ranks)
                        pad = -min(0, lo)
                        assert pad <= 3 and hi <= size - 1 + pad, f"{name}: {e.name} reads {t.name} out of range"
                        if e.op in ("add", "relu", "relu6", "gelu", "silu", "batchnorm", "layernorm", "softmax"):
                            assert (lo, hi) == (0, size - 1), f"{name}: {e.name} elementwise range"
            assert e.output.name not in produced, f"{name}: {e.output.name} written twice"
            produced[e.output.name] = e.output.extents(e.ranks)
        consumed = {t.name for e in net.einsums for t in e.inputs}
        dangling = [t for t in produced if t not in consumed]
        last = net.einsums[-1].output.name
        assert all(t == last or t.endswith(("T_k", "T_v", "T_k_rope")) for t in dangling), f"{name}: unused {dangling}"


def test_non_mac_ops_are_recorded(nets):
    r50 = nets["resnet50_v1.5"]
    ops = {e.op for e in r50.einsums}
    assert {"mac", "batchnorm", "relu", "maxpool", "add", "avgpool"} == ops
    bn = r50.einsum("bn1")
    assert bn.macs == 0 and bn.tensor_size("T_conv1") == 64 * 112 * 112 and bn.tensor_size("W_bn1_scale") == 64
    pool = r50.einsum("maxpool")
    assert L.output_act(pool).shape == (1, 64, 56, 56)
    assert pool.tensor_size("T_relu") == 64 * 113 * 113             # rows -1..111: one padding row and column
    assert r50.einsum("avgpool").tensor_size("T_avgpool") == 2048
    bert = zoo.get("bert_base_layer", seq_len=64)
    sm = bert.einsum("softmax")
    assert sm.op == "softmax" and sm.macs == 0 and sm.tensor_size("T_qk") == 12 * 64 * 64
    assert "=" in str(sm) and "+=" not in str(sm)


def test_batch_and_sequence_scaling():
    for name in ("alexnet", "resnet18", "mobilenet_v2"):
        assert zoo.get(name, batch=4).macs == 4 * zoo.get(name).macs
    a, b = zoo.get("bert_base_layer", seq_len=128), zoo.get("bert_base_layer", seq_len=256)
    assert b.einsum("qk").macs == 4 * a.einsum("qk").macs and b.einsum("fc").macs == 2 * a.einsum("fc").macs
    two = zoo.get("gpt2_small_prefill", seq_len=32, blocks=2)
    assert len(two.einsums) == 2 * len(zoo.get("gpt2_small_prefill", seq_len=32).einsums)
    assert two.einsum("h1_ln_1").inputs[0].name == "T_h0_add_2"
    assert zoo.get("vgg16", bits=16).einsum("conv1_1").tensor_bytes("W_conv1_1") == 2 * 1728


def test_zoo_errors():
    assert {"alexnet", "vgg16", "resnet50_v1", "resnet50_v1.5", "mobilenet_v1", "mobilenet_v2", "bert_base_layer",
            "gpt2_small_prefill", "gpt2_small_decode", "gpt3_6.7b_prefill", "gpt3_6.7b_decode",
            "llama3_8b_prefill", "llama3_8b_decode"} <= set(zoo.names())
    assert zoo.get("resnet50").name == "resnet50_v1.5"
    with pytest.raises(SpecError, match="did you mean resnet50"):
        zoo.get("resnet5O")
    with pytest.raises(SpecError, match="seq_len applies to transformer"):
        zoo.get("vgg16", seq_len=128)
    with pytest.raises(SpecError, match="batch must be a positive integer"):
        zoo.get("vgg16", batch=0)
    with pytest.raises(SpecError, match="seq_len"):
        zoo.get("bert_base_layer", seq_len=-1)


# ---- analysis ------------------------------------------------------------------------------------
def test_einsum_table_and_totals(nets):
    net = nets["lab1_mnist"]
    df = A.einsum_table(net)
    assert list(df.index[:-1]) == [e.name for e in net.einsums] and df.index[-1] == "total"
    assert df.loc["total", "macs"] == net.macs == 338_112
    assert df.loc["total", "weight_elements"] == 103_812
    for e in net.einsums:
        row = df.loc[e.name]
        assert row.bytes == sum(e.tensor_bytes(t.name) for t in e.tensors)
        assert row.operational_intensity == pytest.approx(e.operational_intensity)
    tot = A.totals(net)
    assert tot.macs == 338_112 and tot.weights == 103_812
    assert tot.traffic_layerwise_bytes == df.loc["total", "bytes"]
    # fused: only the image (read once, its projection includes conv1's 2-pixel padding: 32x32), the weights
    # and the 10 logits move
    assert tot.traffic_fused_bytes == 32 * 32 + 103_812 + 10
    assert tot.operational_intensity_fused == pytest.approx(338_112 / (32 * 32 + 103_812 + 10))
    tt = A.tensor_table(net)
    assert set(tt.role) == {"input", "weight", "output"}
    assert tt[tt.tensor == "W_fc1"].elements.iloc[0] == 392 * 256


def test_bits_change_bytes_not_elements():
    e8 = zoo.get("lab1_mnist", bits=8)
    e16 = zoo.get("lab1_mnist", bits=16)
    d8, d16 = A.einsum_table(e8), A.einsum_table(e16)
    assert (d16.bytes == 2 * d8.bytes).all()
    assert (d16.input_elements == d8.input_elements).all()


def test_roofline_table(nets):
    net = nets["alexnet"]
    roof = A.roofline(net, peak_macs_per_cycle=256, clock_hz=1e9, bandwidth_bytes_per_cycle=32)
    t = roof.table
    assert roof.ridge == 8.0
    for name, row in t.iterrows():
        assert row.attainable_macs_per_cycle == pytest.approx(min(256, 32 * row.operational_intensity))
        assert row.bound == ("compute" if row.operational_intensity >= 8 else "memory")
        assert row.min_cycles == pytest.approx(max(row.macs / 256, row.bytes / 32))
    assert t.loc["conv1", "bound"] == "compute" and t.loc["fc6", "bound"] == "memory"
    assert t.loc["fc6", "operational_intensity"] < 1.0                   # batch-1 FC: about one MAC per weight byte
    assert t.loc["conv1_relu", "attainable_macs_per_cycle"] == 0
    assert roof.total.macs == net.macs
    assert roof.peak_macs_per_s == 256e9
    with pytest.raises(SpecError, match="bandwidth"):
        A.roofline(net, 256, 1e9, 0)


def test_roofline_plot(tmp_path):
    from einloop.report.roofline import plot_roofline
    roof = A.roofline(zoo.get("lab1_mnist", batch=8), 64, 5e8, 16)
    png, svg = tmp_path / "roof.png", tmp_path / "sub" / "roof.svg"
    fig = plot_roofline(roof, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_roofline(roof, svg, labels=True)
    assert "<svg" in svg.read_text()[:2000]
    assert len(fig.axes[0].collections) >= 1                        # the layer points
    with pytest.raises(SpecError, match="suffix|use one of"):
        plot_roofline(roof, tmp_path / "roof.txt")


def test_core_imports_without_torch_or_onnx():
    code = (
        "import sys\n"
        "sys.modules['torch'] = None; sys.modules['onnx'] = None\n"
        "from einloop.errors import SpecError\n"
        "from einloop.workloads import zoo, analysis, layers\n"
        "import einloop.report.roofline\n"
        "from einloop.workloads.torch_import import from_torch\n"
        "from einloop.workloads.onnx_import import from_onnx\n"
        "assert zoo.get('alexnet').macs == 724406816\n"
        "for f, hint in ((lambda: from_torch(None, None), 'pip install einloop[torch]'),\n"
        "                (lambda: from_onnx('x.onnx'), 'pip install einloop[onnx]')):\n"
        "    try:\n"
        "        f()\n"
        "    except SpecError as e:\n"
        "        assert hint in str(e), e\n"
        "    else:\n"
        "        raise AssertionError('no error')\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
