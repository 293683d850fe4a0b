"""Limits relative to an Einsum's bounds (ZigZag-style ``min(32, k)``): a small integer expression
grammar parsed here, never ``eval``.

    expr    := term (("+" | "-") term)*
    term    := atom (("*" | "//") atom)*
    atom    := INTEGER | RANK | ("min" | "max") "(" expr ("," expr)* ")" | "(" expr ")"

A rank name stands for that rank's bound in the Einsum being mapped, so one constraints file fits
every layer (and Einsums whose ranks differ).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from einloop.errors import SpecError

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*(),]))")
GRAMMAR = "integers, rank names (their bounds), + - * //, parentheses, min(a, b, ...), max(a, b, ...)"


@dataclass(frozen=True)
class Limit:
    """A parsed limit: its text, its tree (nested tuples), and where it was written (for errors)."""

    text: str
    tree: tuple
    file: str = ""
    field: str = ""

    def ranks(self) -> set[str]:
        """Rank names the limit refers to."""
        out: set[str] = set()

        def walk(node):
            if node[0] == "rank":
                out.add(node[1])
            for child in node[1:]:
                if isinstance(child, tuple):
                    walk(child)
        walk(self.tree)
        return out

    def value(self, bounds: dict[str, int]) -> int:
        """The limit for an Einsum with these rank bounds; a SpecError if a rank is unknown or the
        result is not a positive integer."""
        missing = sorted(self.ranks() - set(bounds))
        if missing:
            raise SpecError(f"{self.text!r} names unknown rank(s) {', '.join(missing)}; ranks: {', '.join(bounds)}",
                            file=self.file, field=self.field)
        result = _evaluate(self.tree, bounds, self)
        if result < 1:
            raise SpecError(f"{self.text!r} is {result} for ranks {bounds}; a factor limit must be at least 1",
                            file=self.file, field=self.field)
        return result


def _evaluate(node: tuple, bounds: dict[str, int], limit: Limit) -> int:
    kind = node[0]
    if kind == "int":
        return node[1]
    if kind == "rank":
        return bounds[node[1]]
    values = [_evaluate(n, bounds, limit) for n in node[1:]]
    if kind == "min":
        return min(values)
    if kind == "max":
        return max(values)
    a, b = values
    if kind == "//" and b == 0:
        raise SpecError(f"{limit.text!r} divides by zero", file=limit.file, field=limit.field)
    return {"+": a + b, "-": a - b, "*": a * b, "//": a // b if b else 0}[kind]


class _Parser:
    """Recursive descent over the tokens of one limit."""

    def __init__(self, text: str, file: str, field: str):
        self.text, self.file, self.field = text, file, field
        self.tokens: list[tuple[str, object]] = []
        pos = 0
        while pos < len(text.rstrip()):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self.error(f"unexpected {text[pos:].strip()[:10]!r}")
            number, name, op = m.groups()
            self.tokens.append(("int", int(number)) if number else ("name", name) if name else ("op", op))
            pos = m.end()
        self.i = 0

    def error(self, msg: str) -> SpecError:
        return SpecError(f"cannot read limit {self.text!r}: {msg}; allowed: {GRAMMAR}", file=self.file, field=self.field)

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", None)

    def take(self, op: str) -> None:
        if self.peek() != ("op", op):
            raise self.error(f"expected {op!r}")
        self.i += 1

    def expr(self) -> tuple:
        node = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            self.i += 1
            node = (self.tokens[self.i - 1][1], node, self.term())
        return node

    def term(self) -> tuple:
        node = self.atom()
        while self.peek() in (("op", "*"), ("op", "//")):
            self.i += 1
            node = (self.tokens[self.i - 1][1], node, self.atom())
        return node

    def atom(self) -> tuple:
        kind, value = self.peek()
        self.i += 1
        if kind == "int":
            return ("int", value)
        if kind == "name" and value in ("min", "max"):
            self.take("(")
            args = [self.expr()]
            while self.peek() == ("op", ","):
                self.i += 1
                args.append(self.expr())
            self.take(")")
            return (value, *args)
        if kind == "name":
            return ("rank", value)
        if (kind, value) == ("op", "("):
            node = self.expr()
            self.take(")")
            return node
        raise self.error("expected a number, a rank, min(...), max(...) or '('" if kind != "end" else "it ends early")


def parse_limit(text: str, file: str = "", field: str = "") -> Limit:
    """Parse one limit; a SpecError naming the file and field if it is not in the grammar."""
    p = _Parser(str(text), file, field)
    if not p.tokens:
        raise p.error("it is empty")
    tree = p.expr()
    if p.i != len(p.tokens):
        raise p.error(f"unexpected {p.tokens[p.i][1]!r}")
    return Limit(str(text), tree, file, field)
