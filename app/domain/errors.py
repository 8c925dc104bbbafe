"""Domain errors: values at the edges. The web layer maps each to one HTTP answer."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """Bad input; ``field`` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class BadRequest(DomainError):
    """Bad input whose message stands on its own (e.g. "invalid channel identifier: x")."""


class LimitReached(DomainError):
    """The account may not have more of something (checks over the check limit)."""
