"""One error type for every bad input: it names the file, the field and what is allowed."""
from __future__ import annotations


class SpecError(Exception):
    """A user spec is wrong. The CLI prints `str(err)` and exits with code 2."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file, self.field, self.message = file, field, message
        super().__init__(self._text())

    def _text(self) -> str:
        where = ": ".join(p for p in (self.file, self.field) if p)
        return f"{where}: {self.message}" if where else self.message

    def within(self, *, file: str | None = None, field: str | None = None) -> "SpecError":
        """The same error, located in `file` and under the parent `field`."""
        joined = ".".join(p for p in (field, self.field) if p) or None
        return SpecError(self.message, file=self.file or file, field=joined)
