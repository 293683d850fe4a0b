"""Timeloop v0.4 input as the exercises ship it (``input/`` folders), not only timeloopfe's processed file:
containers that carry a spatial mesh, constraints written inside architecture nodes, Jinja templates.

Conversions, as timeloopfe makes them:
* A ``!Container`` with ``spatial: {meshX, meshY}`` is where a fanout starts. timeloopfe gives it a
  dummy storage level of the container's name above its mesh; so does this module, so mapping and
  constraint directives may target the container (``target: PE, type: spatial``).
* A node's ``constraints: {spatial: ..., temporal: ..., dataspace: {keep, bypass}}`` become
  ``architecture_constraints`` targets on that node (a container's spatial constraint targets its dummy).
* Templates (``*.jinja``, ``*.jinja2``, ``*.j2``) are rendered in ``jinja2.sandbox.SandboxedEnvironment``
  with only the variables given; timeloopfe's own template functions (``include``, ``cwd``, ...) are not
  provided, so a template that calls them is refused with a message naming the function.
"""
from __future__ import annotations

from pathlib import Path

from einloop.errors import SpecError

TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")
_KINDS = {"spatial": "spatial", "temporal": "temporal", "dataspace": "bypass"}


def _mesh_size(node: dict) -> int:
    sp = node.get("spatial") if isinstance(node.get("spatial"), dict) else {}
    size = 1
    for key in ("meshX", "meshY"):
        value = sp.get(key, 1)
        size *= value if isinstance(value, int) and not isinstance(value, bool) else 1
    return size


def _with_dummies(nodes: list, targets: list, alias: dict[str, str], first: bool) -> list:
    """The node list with a dummy level before each spatial container (named as timeloopfe names it,
    ``inter_<container>_spatial``); node constraints collected in ``targets``, container names in ``alias``."""
    out = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            out.append(node)
            continue
        tag = node.get("_tag", "Component" if "class" in node else "Container")
        name = node.get("name")
        if tag in ("Container", "Hierarchical") and _mesh_size(node) > 1 and not (first and i == 0):
            alias[str(name)] = f"inter_{name}_spatial"
            out.append({"_tag": "Component", "name": alias[str(name)], "class": "dummy_storage",
                        "attributes": {"depth": 1, "width": 1, "datawidth": 1}})
        for kind, spec in (node.get("constraints") or {}).items() if isinstance(node.get("constraints"), dict) else ():
            if kind not in _KINDS:
                raise SpecError(f"unknown constraint kind {kind!r} on {name}; allowed: {', '.join(_KINDS)}",
                                field=f"architecture.nodes[{name}].constraints.{kind}")
            if isinstance(spec, dict) and spec:
                targets.append({"target": alias.get(str(name), name), "type": _KINDS[kind], **spec})
        if isinstance(node.get("nodes"), list):
            node = {**node, "nodes": _with_dummies(node["nodes"], targets, alias, False)}
        out.append({k: v for k, v in node.items() if k != "constraints"})
    return out


def unfold_containers(doc: dict, origin: dict[str, str]) -> dict:
    """A nested (``nodes:``) v0.4 architecture with its spatial containers made dummy levels and its
    node constraints moved to ``architecture_constraints``; other documents are returned unchanged."""
    arch = doc.get("architecture")
    if not isinstance(arch, dict) or not isinstance(arch.get("nodes"), list):
        return doc
    targets: list = []
    alias: dict[str, str] = {}
    nodes = _with_dummies(arch["nodes"], targets, alias, True)
    out = {**doc, "architecture": {**arch, "nodes": nodes}}
    for key in ("mapping", "architecture_constraints", "mapspace_constraints"):
        out[key] = _retargeted(out.get(key), alias)
    out = {k: v for k, v in out.items() if v is not None or k in doc}
    if targets:
        section = doc.get("architecture_constraints")
        given = section.get("targets", []) if isinstance(section, dict) else section or []
        if not isinstance(given, list):
            raise SpecError("expected a list of targets", file=origin.get("architecture_constraints"),
                            field="architecture_constraints.targets")
        out["architecture_constraints"] = {"version": "0.4", "targets": [*given, *targets]}
        origin.setdefault("architecture_constraints", origin.get("architecture", ""))
    return out


def _retargeted(section, alias: dict[str, str]):
    """Directives that target a spatial container target its dummy level instead."""
    if isinstance(section, dict) and isinstance(section.get("targets"), list):
        return {**section, "targets": _retargeted(section["targets"], alias)}
    if not isinstance(section, list):
        return section
    return [{**d, "target": alias[d["target"]]} if isinstance(d, dict) and isinstance(d.get("target"), str)
            and d["target"] in alias else d for d in section]


def render_template(text: str, path: str | Path, variables: dict | None = None) -> str:
    """A Jinja template rendered in a sandbox (no file, module or attribute access beyond plain data)."""
    try:
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment
    except ImportError:   # pragma: no cover - jinja2 is a dependency of the test extras
        raise SpecError("a Jinja template needs the jinja2 package (pip install 'einloop[timeloop]')",
                        file=str(path)) from None
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        return env.from_string(text).render(**(variables or {}))
    except jinja2.UndefinedError as err:
        name = str(err.message or err).split("'")[1] if "'" in str(err.message or err) else str(err)
        raise SpecError(f"the template uses {name!r}, which is not defined: einloop renders templates with no "
                        "variables and without timeloopfe's functions (include, cwd, path_exists, ...); render it "
                        "with timeloopfe, or pass the files it includes", file=str(path)) from None
    except jinja2.exceptions.SecurityError as err:
        raise SpecError(f"the template was refused by the sandbox: {err}", file=str(path)) from None
    except jinja2.TemplateError as err:
        line = getattr(err, "lineno", None)
        raise SpecError(f"broken Jinja template{f' at line {line}' if line else ''}: {err}", file=str(path)) from None
