"""Parse Einsum strings such as ``O[n,m,p,q] += I[n,c,p*2+r,q*2+s] * W[m,c,r,s]``.

A small tokenizer and recursive-descent parser (no ``eval``): each tensor index is an
affine expression ``sum(coefficient * rank) + constant`` with integer coefficients.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from einloop.errors import SpecError
from einloop.spec.limits import shorten

_MAX_DIGITS = 12

_TOKEN = re.compile(r"\s*(?:(?P<int>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\+=|[\[\],*+\-=]))")


@dataclass(frozen=True)
class AffineIndex:
    """One tensor coordinate: ``sum(coef * rank) + offset``; terms sorted by rank name."""

    terms: tuple[tuple[str, int], ...]
    offset: int = 0

    @property
    def ranks(self) -> tuple[str, ...]:
        return tuple(r for r, _ in self.terms)

    def coefficient(self, rank: str) -> int:
        return dict(self.terms).get(rank, 0)

    def __str__(self) -> str:
        parts = [r if c == 1 else f"{r}*{c}" for r, c in self.terms]
        if self.offset:
            parts.append(str(self.offset))
        return "+".join(parts).replace("+-", "-") or "0"


@dataclass(frozen=True)
class TensorAccess:
    """A tensor name with its affine indices, as written in the Einsum."""

    tensor: str
    indices: tuple[AffineIndex, ...]


@dataclass(frozen=True)
class ParsedEinsum:
    output: TensorAccess
    inputs: tuple[TensorAccess, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SpecError(f"unexpected character {text[pos:].lstrip()[:1]!r} at column {pos + 1} in {shorten(text)}; "
                            "allowed: tensor names, [ ], rank names, integers, + - * , and '=' or '+='")
        kind = m.lastgroup
        if kind == "int" and len(m.group(kind)) > _MAX_DIGITS:
            raise SpecError(f"integer of {len(m.group(kind))} digits at column {pos + 1} in {shorten(text)}; "
                            f"index coefficients and offsets have at most {_MAX_DIGITS} digits")
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text, self.toks, self.i = text, _tokens(text), 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            want = value or kind
            got = shorten(tok[1]) if tok else "end of text"
            raise SpecError(f"expected {want!r} but found {got} in Einsum {shorten(self.text)}")
        self.i += 1
        return tok[1]

    def access(self) -> TensorAccess:
        name = self.take("name")
        self.take("op", "[")
        indices = [self.affine()]
        while self.peek() == ("op", ","):
            self.take("op", ",")
            indices.append(self.affine())
        self.take("op", "]")
        return TensorAccess(name, tuple(indices))

    def affine(self) -> AffineIndex:
        coefs: dict[str, int] = {}
        offset, sign = 0, 1
        if self.peek() == ("op", "-"):
            self.take("op", "-")
            sign = -1
        while True:
            rank, value = self.term()
            if rank is None:
                offset += sign * value
            else:
                coefs[rank] = coefs.get(rank, 0) + sign * value
            tok = self.peek()
            if tok in (("op", "+"), ("op", "-")):
                self.i += 1
                sign = 1 if tok[1] == "+" else -1
                continue
            break
        terms = tuple(sorted((r, c) for r, c in coefs.items() if c != 0))
        return AffineIndex(terms, offset)

    def term(self) -> tuple[str | None, int]:
        """`rank`, `rank*int`, `int*rank` or `int`."""
        tok = self.peek()
        if tok and tok[0] == "int":
            value = int(self.take("int"))
            if self.peek() == ("op", "*"):
                self.take("op", "*")
                return self.take("name"), value
            return None, value
        rank = self.take("name")
        if self.peek() == ("op", "*"):
            self.take("op", "*")
            return rank, int(self.take("int"))
        return rank, 1


def parse_einsum(text: str) -> ParsedEinsum:
    """Parse ``Out[...] += A[...] * B[...] * ...`` (``=`` is accepted too)."""
    p = _Parser(text)
    out = p.access()
    tok = p.peek()
    if tok not in (("op", "+="), ("op", "=")):
        raise SpecError(f"expected '+=' after the output tensor in Einsum {shorten(text)}")
    p.i += 1
    inputs = [p.access()]
    while p.peek() == ("op", "*"):
        p.take("op", "*")
        inputs.append(p.access())
    if p.peek() is not None:
        raise SpecError(f"unexpected {shorten(p.peek()[1])} after the last operand in Einsum {shorten(text)}")
    names = [out.tensor] + [a.tensor for a in inputs]
    if len(set(names)) != len(names):
        raise SpecError(f"a tensor appears twice in Einsum {shorten(text)}")
    return ParsedEinsum(out, tuple(inputs))
