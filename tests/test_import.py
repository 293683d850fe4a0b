"""PyTorch and ONNX import: models written with torch.nn give the zoo's Einsums.

Skipped without torch (and the ONNX part without onnx): the core suite does not need them.
"""
from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from einloop.errors import SpecError
from einloop.workloads import layers as L
from einloop.workloads import zoo
from einloop.workloads.torch_import import from_torch


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False); self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False); self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False); self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)

class ResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False); self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True); self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = 64
        for i, (w, n) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3)), start=1):
            blocks = []
            for j in range(n):
                s = 2 if i > 1 and j == 0 else 1
                ds = nn.Sequential(nn.Conv2d(cin, w * 4, 1, stride=s, bias=False), nn.BatchNorm2d(w * 4)) if (s != 1 or cin != w * 4) else None
                blocks.append(Bottleneck(cin, w, s, ds)); cin = w * 4
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1)); self.fc = nn.Linear(2048, 1000)
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hid = cin * t
        layers = []
        if t != 1:
            layers += [nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
                   nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout
    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)

class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        feats = [nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True))]
        cin = 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
            for i in range(n):
                feats.append(InvertedResidual(cin, c, s if i == 0 else 1, t)); cin = c
        feats.append(nn.Sequential(nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True)))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))
    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))

class Block(nn.Module):
    """GPT-2-style pre-LN block with separate q/k/v projections and SDPA."""
    def __init__(self, d=64, h=4, ff=256, kv_heads=None):
        super().__init__()
        self.h, self.e, self.kvh = h, d // h, kv_heads or h
        self.ln_1 = nn.LayerNorm(d); self.ln_2 = nn.LayerNorm(d)
        self.q = nn.Linear(d, d); self.k = nn.Linear(d, self.kvh * self.e); self.v = nn.Linear(d, self.kvh * self.e)
        self.proj = nn.Linear(d, d); self.fc = nn.Linear(d, ff); self.fc2 = nn.Linear(ff, d)
    def forward(self, x):
        B, T, C = x.shape
        y = self.ln_1(x)
        q = self.q(y).view(B, T, self.h, self.e).transpose(1, 2)
        k = self.k(y).view(B, T, self.kvh, self.e).transpose(1, 2)
        v = self.v(y).view(B, T, self.kvh, self.e).transpose(1, 2)
        if self.kvh != self.h:
            r = self.h // self.kvh
            k = k[:, :, None].expand(B, self.kvh, r, T, self.e).reshape(B, self.h, T, self.e)
            v = v[:, :, None].expand(B, self.kvh, r, T, self.e).reshape(B, self.h, T, self.e)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        o = o.transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.proj(o)
        return x + self.fc2(F.gelu(self.fc(self.ln_2(x))))


class ConvZoo(nn.Module):
    """conv1d with dilation, 'same' padding, grouped and depthwise (multiplier 2) conv2d, ceil-mode pooling."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(4, 8, 3, dilation=2, padding=2)
        self.c2 = nn.Conv2d(8, 16, 3, padding="same", groups=4)
        self.dw = nn.Conv2d(16, 32, 5, stride=2, padding=2, groups=16)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)

    def forward(self, x):
        y = self.c1(x)                              # [N, 8, 64]
        y = y.view(y.shape[0], 8, 8, 8)
        y = self.pool(F.relu(self.dw(self.c2(y))))
        return torch.sigmoid(y.mean(dim=(2, 3)))


class ManualAttention(nn.Module):
    """Attention written with matmul, bmm, scale, masked softmax and a fused qkv projection split in three."""

    def __init__(self, d=32, h=4):
        super().__init__()
        self.h, self.qkv = h, nn.Linear(d, 3 * d)
        self.register_buffer("mask", torch.ones(8, 8).tril() == 0)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.reshape(B, T, self.h, C // self.h).permute(0, 2, 1, 3)
        k = k.reshape(B, T, self.h, C // self.h).permute(0, 2, 3, 1)
        s = (q @ k) * (C // self.h) ** -0.5
        p = s.masked_fill(self.mask, float("-inf")).softmax(dim=-1)
        v = v.reshape(B, T, self.h, C // self.h).transpose(1, 2).reshape(B * self.h, T, C // self.h)
        o = torch.bmm(p.reshape(B * self.h, T, T), v)
        return o.reshape(B, self.h, T, C // self.h)


def mac_signature(e):
    """Rank bounds and the size of every tensor: the shape of a MAC layer, whatever its tensors are called."""
    return e.ranks, sorted(e.tensor_size(t.name) for t in e.tensors)


def macs_only(w):
    return [e for e in w.einsums if e.op == "mac"]


@pytest.fixture(scope="module")
def resnet50():
    torch.manual_seed(0)
    return ResNet50().eval()


@pytest.fixture(scope="module")
def image():
    return torch.randn(1, 3, 224, 224)


def test_resnet50_matches_zoo(resnet50, image):
    w = from_torch(resnet50, image, bits=8)
    z = zoo.get("resnet50_v1.5")
    ours, theirs = macs_only(w), macs_only(z)
    assert [e.name for e in ours] == [e.name for e in theirs]          # torchvision's layer names in both
    for a, b in zip(ours, theirs):
        assert mac_signature(a) == mac_signature(b), a.name
        assert str(a).split("+=")[0].replace(a.output.name, "O") == str(b).split("+=")[0].replace(b.output.name, "O")
    assert w.macs == z.macs == 4_089_184_256
    assert L.weight_count(w.einsums) == L.weight_count(z.einsums) == 25_502_912
    ops = {e.op for e in w.einsums}
    assert {"batchnorm", "relu", "maxpool", "add", "avgpool"} <= ops
    assert str(w.einsum("fc")) == "T_fc[n,m] += T_avgpool[n,c,0,0] * W_fc[m,c]"   # the flatten is a view
    assert str(w.einsum("conv1")) == "T_conv1[n,m,p,q] += T_x[n,c,p*2+r-3,q*2+s-3] * W_conv1[m,c,r,s]"


def test_bits_follow_dtype(resnet50, image):
    small = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    w = from_torch(small, torch.randn(1, 3, 8, 8))
    assert {t.bits for e in w.einsums for t in e.tensors} == {32}
    w = from_torch(small.half(), torch.randn(1, 3, 8, 8).half())
    assert {t.bits for e in w.einsums for t in e.tensors} == {16}


def test_mobilenet_v2_matches_zoo():
    torch.manual_seed(0)
    w = from_torch(MobileNetV2(), torch.randn(1, 3, 224, 224), bits=8)
    z = zoo.get("mobilenet_v2")
    ours, theirs = macs_only(w), macs_only(z)
    assert len(ours) == len(theirs) == 53
    for a, b in zip(ours, theirs):
        assert mac_signature(a) == mac_signature(b), (a.name, b.name)
    depthwise = [e for e in ours if "g" in e.ranks]
    assert len(depthwise) == 17 and all("c" not in e.ranks and "m" not in e.ranks for e in depthwise)
    assert w.macs == z.macs and L.weight_count(w.einsums) == L.weight_count(z.einsums) == 3_469_760
    assert sum(e.op == "relu6" for e in w.einsums) == sum(e.op == "relu6" for e in z.einsums)


def test_transformer_block():
    torch.manual_seed(0)
    B, T, D, H, FF = 2, 16, 64, 4, 256
    w = from_torch(Block(D, H, FF), torch.randn(B, T, D))
    names = [e.name for e in macs_only(w)]
    assert names == ["q", "k", "v", "scaled_dot_product_attention_qk", "scaled_dot_product_attention", "proj",
                     "fc", "fc2"]
    qk, av = w.einsum("scaled_dot_product_attention_qk"), w.einsum("scaled_dot_product_attention")
    assert qk.ranks == {"b": B, "h": H, "m": T, "n": T, "e": D // H}
    # heads are read straight from the projections: view + transpose add no Einsum
    assert str(qk) == ("T_scaled_dot_product_attention_qk[b,h,m,n] += T_q[b,m,h*16+e] * T_k[b,n,h*16+e]")
    assert str(w.einsum("proj")) == "T_proj[b,t,m] += T_scaled_dot_product_attention[b,c0,t,c1] * W_proj[m,c0*16+c1]"
    assert qk.macs == av.macs == B * H * T * T * (D // H)
    assert w.macs == B * T * (4 * D * D + 2 * D * FF) + 2 * B * H * T * T * (D // H)
    assert [e.op for e in w.einsums if e.op != "mac"] == ["layernorm", "softmax", "add", "layernorm", "gelu", "add"]
    # the same Einsum shapes as the zoo's GPT-style block with these dimensions
    z = zoo._transformer("t", zoo._Dims(D, H, D // H, FF), "gpt", False, B, T, 32, 1)
    assert sorted(e.macs for e in macs_only(w)) == sorted(e.macs for e in macs_only(z))


def test_grouped_query_attention_from_expand():
    torch.manual_seed(0)
    w = from_torch(Block(64, 4, 128, kv_heads=2), torch.randn(1, 8, 64))
    qk = w.einsum("scaled_dot_product_attention_qk")
    assert qk.ranks == {"b": 1, "m": 8, "n": 8, "e": 16, "h0": 2, "h1": 2}  # 2 KV groups of 2 query heads
    assert qk.tensor_size("T_k") == 8 * 32 and qk.tensor_size("T_q") == 8 * 64   # K is not repeated in memory
    assert not any(e.op == "copy" for e in w.einsums)


def test_convolution_variants():
    x = torch.randn(2, 4, 64)
    w = from_torch(ConvZoo(), x, bits=8)
    c1, c2, dw = w.einsum("c1"), w.einsum("c2"), w.einsum("dw")
    assert str(c1) == "T_c1[n,m,p] += T_x[n,c,p+r*2-2] * W_c1[m,c,r]"
    # the [N, 8, 64] sequence viewed as [N, 8, 8, 8] is read in place: row p+r-1 starts at element 8*(p+r-1)
    assert str(c2) == "T_c2[n,g*4+m,p,q] += T_c1[n,g*2+c,p*8+r*8+q+s-9] * W_c2[g*4+m,c,r,s]"
    assert c2.ranks["g"] == 4
    assert str(dw) == "T_dw[n,g*2+m,p,q] += T_c2[n,g,p*2+r-2,q*2+s-2] * W_dw[g*2+m,r,s]"
    assert dw.macs == 2 * 32 * 4 * 4 * 25
    pool = w.einsum("pool")                                       # ceil mode: 2 windows over 4 columns, not 1
    assert pool.ranks["p"] == 2 and pool.output.extents(pool.ranks) == (2, 32, 2, 2)
    mean = w.einsum("mean")
    assert mean.op == "mean" and str(mean) == "T_mean[n,c] = T_pool[n,c,p,q]"
    assert w.einsums[-1].op == "sigmoid"


def test_manual_attention_and_split():
    torch.manual_seed(0)
    w = from_torch(ManualAttention(), torch.randn(2, 8, 32))
    mm = [e for e in macs_only(w)]
    assert [e.name for e in mm] == ["qkv", "matmul", "bmm"]
    qk = w.einsum("matmul")
    assert qk.ranks == {"b": 2, "h": 4, "m": 8, "n": 8, "k": 8}
    # q and k are two slices of one tensor: the second is copied so that each Einsum names a tensor once
    copies = [e for e in w.einsums if e.op == "copy"]
    assert len(copies) == 1 and copies[0].inputs[0].name == "T_qkv"
    assert "T_qkv[b,m,h*8+k]" in str(qk)
    assert {"mul", "masked_fill", "softmax"} <= {e.op for e in w.einsums}
    assert w.einsum("bmm").macs == 2 * 4 * 8 * 8 * 8


def test_unknown_operation_warns_or_fails():
    class Cat(nn.Module):
        def forward(self, x):
            return torch.cat([x, x * 2], dim=1)

    with pytest.warns(UserWarning, match="not modelled"):
        w = from_torch(Cat(), torch.randn(2, 3))
    cat = w.einsums[-1]
    assert cat.op == "cat" and cat.macs == 0 and cat.output.extents(cat.ranks) == (2, 6)
    with pytest.raises(SpecError, match="not modelled"):
        from_torch(Cat(), torch.randn(2, 3), strict=True)
    with pytest.raises(SpecError, match="nn.Module"):
        from_torch(lambda x: x, torch.randn(2))


def test_untraceable_model_is_a_spec_error():
    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(SpecError, match="could not trace"):
        from_torch(Branchy(), torch.randn(3))


# ---- ONNX ------------------------------------------------------------------------------------------
def _export(model, x, path, dynamo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=dynamo)


def test_onnx_resnet50_matches_zoo(resnet50, image, tmp_path):
    pytest.importorskip("onnx")
    from einloop.workloads.onnx_import import from_onnx
    path = tmp_path / "resnet50.onnx"
    _export(resnet50, image, path, dynamo=False)       # the TorchScript exporter: fast, and folds BN into conv
    w = from_onnx(path, bits=8)
    z = zoo.get("resnet50_v1.5")
    ours, theirs = macs_only(w), macs_only(z)
    assert [e.name for e in ours] == [e.name for e in theirs]
    for a, b in zip(ours, theirs):
        assert mac_signature(a) == mac_signature(b), a.name
    assert w.macs == z.macs and L.weight_count(w.einsums) == 25_502_912
    assert {"relu", "maxpool", "add", "avgpool"} <= {e.op for e in w.einsums}


def test_onnx_transformer_block_matches_torch_import(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")                  # the torch.export-based exporter needs it
    from einloop.workloads.onnx_import import from_onnx
    torch.manual_seed(0)
    block, x = Block(64, 4, 128, kv_heads=2).eval(), torch.randn(2, 8, 64)
    path = tmp_path / "block.onnx"
    _export(block, x, path, dynamo=True)
    w = from_onnx(path)
    t = from_torch(block, x)
    assert sorted(e.macs for e in macs_only(w)) == sorted(e.macs for e in macs_only(t))
    assert [e.name for e in macs_only(w)][:3] == ["q", "k", "v"]
    assert sum(e.op == "layernorm" for e in w.einsums) == 2 and any(e.op == "softmax" for e in w.einsums)
    assert not any(e.name.endswith("Add") for e in w.einsums)   # linear biases are folded


def test_onnx_errors(tmp_path):
    pytest.importorskip("onnx")
    from einloop.workloads.onnx_import import from_onnx
    with pytest.raises(SpecError, match="no ONNX file"):
        from_onnx(tmp_path / "missing.onnx")
