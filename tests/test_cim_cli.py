"""python -m einloop.report.cim_cli: reports, JSON, measured values, mapping by the mapper, bad input."""
import json
from pathlib import Path

import numpy as np
import pytest

from einloop.report.cim_cli import main

CIM = Path(__file__).resolve().parents[1] / "examples" / "cim"


def test_json_report(capsys):
    assert main([str(CIM / "sinangil_jssc21.yaml"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["computes"] == 256 * 1024 and d["cycles"] == 256
    assert d["clock_hz"] == pytest.approx(1 / 5.4995e-9)
    assert d["tops_per_watt"] == pytest.approx(262.7, abs=0.1) and d["tops"] == pytest.approx(0.3724, rel=1e-3)
    assert d["counts"]["adc_conversions"] == 4096 and d["energy_by_part"]["adc"] == pytest.approx(4096 * 0.20981)


def test_measured_values(tmp_path, capsys):
    """All-zero inputs: no DAC or cell energy, the ADCs only (3.357 pJ per activation, 610 TOPS/W)."""
    np.save(tmp_path / "x.npy", np.zeros(100, dtype=np.int64))
    np.save(tmp_path / "w.npy", np.arange(16))
    assert main([str(CIM / "sinangil_jssc21.yaml"), "--json", "--inputs", str(tmp_path / "x.npy"),
                 "--weights", str(tmp_path / "w.npy")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["energy_by_part"]["dac"] == 0 and d["energy"] == pytest.approx(256 * 3.357, rel=1e-4)
    assert d["values"]["weight_level"] == pytest.approx(0.5)


def test_maps_when_there_is_no_mapping(tmp_path, capsys):
    wl = tmp_path / "wl.yaml"
    wl.write_text("workload:\n  bits: 4\n  einsums:\n    - name: fc\n      einsum: 'O[m] += X[c] * F[m,c]'\n"
                  "      ranks: {m: 16, c: 64}\n")
    assert main([str(CIM / "sinangil_tiled.yaml"), str(wl)]) == 0
    out = capsys.readouterr().out
    assert "computes 1,024" in out and "ADC 16" in out


@pytest.mark.parametrize("args,message", [
    (["nope.yaml"], "file not found"),
    ([str(CIM / "sinangil_tiled.yaml")], "needs a workload"),
    ([str(CIM / "sinangil_jssc21.yaml"), "--inputs", "x.npy"], "give both"),
    ([str(CIM / "sinangil_jssc21.yaml"), "--inputs", "x.npy", "--weights", "y.npy"], "cannot read"),
])
def test_bad_input_exits_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
