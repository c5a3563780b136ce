"""The one error type of refused input and refused changes, whichever record it is about."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum


class Refusal(StrEnum):
    """Why a change is refused; each interface picks its answer from it (API: 422, 409, 404)."""

    INVALID = "invalid"  # the input breaks a rule
    CONFLICT = "conflict"  # the input is fine, but what is stored forbids the change
    MISSING = "missing"  # the record is not there (any more)


class DomainError(ValueError):
    """A refused input or change and why, by field: {"name": ["is required"], ...}.

    Forms show each message next to its field, the API answers with the same `fields`, the CLI
    prints one line. `field` and `message` are the first of them.
    """

    def __init__(self, fields: Mapping[str, str | Sequence[str]],
                 kind: Refusal = Refusal.INVALID) -> None:
        self.fields: dict[str, list[str]] = {
            str(name): [messages] if isinstance(messages, str) else list(messages)
            for name, messages in fields.items()
        }
        self.kind = kind
        self.field, [self.message, *_] = next(iter(self.fields.items()))
        super().__init__("; ".join(f"{name}: {', '.join(messages)}"
                                   for name, messages in self.fields.items()))

    @classmethod
    def about(cls, field: str, message: str, kind: Refusal = Refusal.INVALID) -> DomainError:
        return cls({field: message}, kind)
