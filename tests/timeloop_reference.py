"""Read a Timeloop output folder's expected numbers: ``stats.txt`` (every printed statistic, per level
and data space) and, where present, ``map+stats.xml`` (the same numbers at full precision: per data
space energies and the arithmetic energy), so a test can compare einloop with Timeloop.

A test helper, not part of einloop: Timeloop's outputs are facts to check against.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
PEER = REFERENCE / "timeloop-peer-cases"
CASES = REFERENCE / "timeloop-cases"

_LEVEL = re.compile(r"^=== (.+) ===$")
_KEY = re.compile(r"^\s+([^:]+?)\s*:\s*(.*)$")
_TENSOR = re.compile(r"^    (\w+):\s*$")


@dataclass
class ReferenceLevel:
    """One level of Timeloop's printout: its specs, its stats and, for storage, per data space stats."""

    name: str
    specs: dict[str, object] = field(default_factory=dict)
    stats: dict[str, object] = field(default_factory=dict)
    tensors: dict[str, dict[str, object]] = field(default_factory=dict)
    loops: list[str] = field(default_factory=list)

    @property
    def is_compute(self) -> bool:
        return "Computes (total)" in self.stats


@dataclass
class Reference:
    """Everything one Timeloop output folder states about its run."""

    folder: Path
    date: str
    levels: dict[str, ReferenceLevel]
    summary: dict[str, object]
    xml_energy: dict[str, dict[str, float]] | None   # level -> data space -> total energy (pJ), full precision
    xml_compute_energy: float | None

    @property
    def stride_rule(self) -> str:
        """Timeloop builds from 2025 on follow the 2025 stride rule (commit a12fff5, January 2025)."""
        return "2025" if self.date >= "2025" else "2024"

    def tensor_energy(self, level: str, tensor: str) -> float:
        """Total energy (pJ) of one data space at one level, at the best precision available."""
        if self.xml_energy is not None and tensor in self.xml_energy.get(level, {}):
            return self.xml_energy[level][tensor]
        return float(self.levels[level].tensors[tensor]["Energy (total)"])

    def printed_total(self) -> tuple[float, float]:
        """(total energy in pJ as the summary prints it: energy per compute x computes, its rounding)."""
        unit, computes = self.summary["per compute unit (pJ)"], self.summary["Computes"]
        return self.summary["Total per compute"] * unit * computes, 0.005 * unit * computes

    def total_energy(self) -> tuple[float, float]:
        """(total energy in pJ, its uncertainty from printed rounding): every data space's energy, every
        level's leakage and the arithmetic energy."""
        total, slack = 0.0, 0.0
        for lv in self.levels.values():
            if lv.is_compute:
                exact = self.xml_compute_energy is not None
                total += self.xml_compute_energy if exact else float(lv.stats["Energy (total)"])
                slack += 0 if exact else 0.005
                continue
            total += float(lv.specs.get("Leakage energy (total)", 0.0))
            slack += 0.005
            for t in lv.tensors:
                total += self.tensor_energy(lv.name, t)
                slack += 0 if self.xml_energy is not None else 0.005
        return total, slack


def _value(text: str):
    text = text.strip()
    m = re.fullmatch(r"(-?[\d.]+(?:e[+-]?\d+)?)(?:\s*(?:pJ|um\^2|%|words/cycle|\(.*\)))?", text)
    if not m:
        return text
    v = float(m.group(1))
    return int(v) if re.fullmatch(r"-?\d+", m.group(1)) else v


def parse_stats(text: str) -> tuple[dict[str, ReferenceLevel], dict[str, object]]:
    """Levels (by name) and the summary of a Timeloop ``stats.txt``."""
    levels: dict[str, ReferenceLevel] = {}
    cur: ReferenceLevel | None = None
    section, tensor = "", None
    summary: dict[str, object] = {}
    for line in text.splitlines():
        if line.startswith(("Networks", "Operational Intensity")):
            cur, section = None, "other"
            continue
        if line.startswith("Summary Stats"):
            cur, section = None, "summary"
            continue
        m = _LEVEL.match(line)
        if m and section not in ("other", "summary"):
            cur = levels.setdefault(m.group(1), ReferenceLevel(m.group(1)))
            section, tensor = "", None
            continue
        if section == "summary" and line.strip() in ("fJ/Compute", "pJ/Compute"):
            summary["per compute unit (pJ)"] = 1e-3 if line.strip() == "fJ/Compute" else 1.0
            section = "per compute"
            continue
        if section == "per compute":
            km = re.match(r"^\s*Total\s*=\s*(\S+)", line)
            if km:
                summary["Total per compute"] = float(km.group(1))
                section = "summary"
            continue
        if section == "summary":
            km = re.match(r"^\s*([^:=]+?)\s*[:=]\s*(.+)$", line)
            if km:
                summary[km.group(1)] = _value(km.group(2).replace("uJ", "").replace("mm^2", ""))
            continue
        if cur is None:
            continue
        stripped = line.strip()
        if stripped in ("SPECS", "STATS", "MAPPING"):
            section, tensor = stripped, None
        elif section == "MAPPING":
            if stripped.startswith("for "):
                cur.loops.append(stripped)
        elif section == "STATS" and _TENSOR.match(line):
            tensor = _TENSOR.match(line).group(1)
            cur.tensors[tensor] = {}
        elif _KEY.match(line):
            km = _KEY.match(line)
            target = cur.specs if section == "SPECS" else (cur.tensors[tensor] if tensor else cur.stats)
            target[km.group(1)] = _value(km.group(2))
    return levels, summary


def parse_xml_energy(path: Path) -> tuple[dict[str, list[float]], float]:
    """Per level the total energy (per-instance energy x utilized instances, pJ) of each kept data
    space in the workload's order (the order stats.txt prints them), and the arithmetic energy, from
    a Timeloop ``map+stats.xml``."""
    root = ET.parse(path).getroot()
    levels = root.find("engine/topology_/levels_").findall("item")
    out: dict[str, list[float]] = {}
    for lv in levels[1:]:
        px = lv.find("px")
        st = px.find("stats_")
        energy = [float(x.text) for x in st.find("energy/PerDataSpace").findall("item")]
        inst = [float(x.text) for x in st.find("utilized_instances/PerDataSpace").findall("item")]
        keep = [x.text for x in st.find("keep/PerDataSpace").findall("item")]
        out[px.find("specs_/name/t_").text] = [e * n for e, n, k in zip(energy, inst, keep) if k == "1"]
    return out, float(levels[0].find("px/energy_").text)


CASES_DATE = "2024-05-29"   # timeloop-cases/README.md: "refs generated 2024-05-29"


def _one(folder: Path, pattern: str) -> Path | None:
    found = sorted(folder.glob(pattern))
    return found[0] if found else None


def load_reference(folder: Path) -> Reference:
    """The expected numbers of one output folder: a peer folder (stats.txt, map+stats.xml,
    source.json) or a case's ``ref-output`` (timeloop-model.stats.txt, ...)."""
    stats = _one(folder, "*stats.txt")
    levels, summary = parse_stats(stats.read_text())
    source = folder / "source.json"
    date = json.loads(source.read_text()).get("date", "") if source.exists() else CASES_DATE
    xml_energy, xml_compute = None, None
    xml = _one(folder, "*map+stats.xml")
    try:
        parsed = parse_xml_energy(xml) if xml is not None else None
    except ET.ParseError:   # some public XML files are truncated: stats.txt alone then
        parsed = None
    if parsed is not None:
        energy, xml_compute = parsed
        xml_energy = {}
        for name, per in energy.items():
            printed = list(levels[name].tensors) if name in levels else []
            if len(printed) != len(per):
                raise ValueError(f"{xml}: level {name} keeps {len(per)} data spaces, stats.txt prints {printed}")
            xml_energy[name] = dict(zip(printed, per))
    return Reference(folder, date, levels, summary, xml_energy, xml_compute)


def input_files(folder: Path) -> list[Path]:
    """The input of record: a peer folder's processed input, chosen mapping, ERT and ART; a case's
    ``ref-output`` files (see einloop.api.timeloop_files)."""
    if (folder / "input.yaml").exists():
        return [folder / n for n in ("input.yaml", "map.yaml", "ERT.yaml", "ART.yaml") if (folder / n).exists()]
    from einloop.api import timeloop_files
    return timeloop_files(folder)


def dense_folders() -> list[Path]:
    """Every dense output folder: peer folders whose README row says dense, and the timeloop-cases
    whose name is not sparse_* (tl06 has no mapping of record)."""
    out = []
    readme = PEER / "README.md"
    if readme.exists():
        for line in readme.read_text().splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 4 and cells[3] == "dense":
                out.append(PEER / cells[0])
    if CASES.is_dir():
        for case in sorted(CASES.iterdir()):
            if case.is_dir() and not case.name.startswith("sparse_") and (case / "ref-output").is_dir():
                out.append(case / "ref-output")
    return out
