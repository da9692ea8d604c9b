"""The one error hierarchy of mvnoguard.

Every failure a user can cause or meet is one of these, with a stable machine ``code`` (never
renamed once released), a human ``message`` and, where it helps, the ``field`` at fault. The
CLI prints them as one line, the HTTP API renders them as one JSON shape; neither ever shows a
traceback for a user mistake.

    MvnoguardError                      code="error"            HTTP 500
    ├── InvalidInput                    code="invalid_input"    HTTP 422
    │   ├── InvalidDocument             (code from the document validator)
    │   └── DataFileError               a file that cannot be read at all
    ├── RuleViolation                   code=the rule's code    HTTP 422
    │   └── RegistrationRefused         a sign-up or lifecycle step the policy forbids
    ├── NotFound                        code="not_found"        HTTP 404
    ├── Conflict                        code="conflict"         HTTP 409
    ├── Unauthorized                    code="unauthorized"     HTTP 401
    ├── Forbidden                       code="forbidden"        HTTP 403 (a role that may not)
    ├── RateLimited                     code="rate_limited"     HTTP 429 (or "locked"; retry later)
    └── ConfigurationError              code="configuration"    HTTP 500 (a one-line fix)

Errors from libraries we wrap (SQLAlchemy, DuckDB, cryptography, file formats) are translated
into these at the adapter that calls them, with secrets such as connection strings and identity
numbers left out of the message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, TypeVar


class MvnoguardError(Exception):
    """Base of every error mvnoguard raises on purpose."""

    default_code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        """The one error shape, shared by the CLI's ``--json`` output and the HTTP API."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(MvnoguardError):
    default_code = "invalid_input"
    http_status = 422


_Choice = TypeVar("_Choice", bound=StrEnum)


def one_of(kind: type[_Choice], value: str, *, what: str, field: str, code: str) -> _Choice:
    """``value`` as a member of ``kind``; otherwise :class:`InvalidInput` listing the choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(
            f"{what} {value!r} is not one of {choices}", code=code, field=field
        ) from None


def refuse_nul(text: str, *, field: str | None) -> None:
    """:class:`InvalidInput` (``bad_value``) when ``text`` holds U+0000, which PostgreSQL
    cannot store in any text column (SQLite would): refused alike on every backend."""
    if "\x00" in text:
        raise InvalidInput(
            f"{field or 'text'} holds a NUL character (U+0000), which cannot be stored",
            code="bad_value",
            field=field,
        )


class InvalidDocument(InvalidInput):
    """An identity document that fails validation for its type."""

    default_code = "invalid_document"


class DataFileError(InvalidInput):
    """A data file that cannot be read at all (missing, unreadable, not CSV/Parquet)."""

    default_code = "unreadable_file"


class RuleViolation(MvnoguardError):
    """An action the real-name policy forbids; ``code`` names the rule."""

    default_code = "rule_violation"
    http_status = 422

    def __init__(self, message: str, *, code: str, rule: str | None = None, **kw: Any) -> None:
        super().__init__(message, code=code, **kw)
        self.rule = rule or code
        self.details.setdefault("rule", self.rule)


class RegistrationRefused(RuleViolation):
    """A sign-up, transfer or resumption refused under the policy.

    ``name_compared``: refused after the holder's name was compared with the stored one, so
    the refusal itself tells that the name was right, and the comparison must be audited.
    """

    name_compared: bool = False


class NotFound(MvnoguardError):
    default_code = "not_found"
    http_status = 404


class Conflict(MvnoguardError):
    default_code = "conflict"
    http_status = 409


class Unauthorized(MvnoguardError):
    default_code = "unauthorized"
    http_status = 401


class Forbidden(MvnoguardError):
    """The caller is known but its role may not do this (never used to hide a tenant's record:
    another tenant's record is :class:`NotFound`)."""

    default_code = "forbidden"
    http_status = 403


class RateLimited(MvnoguardError):
    """Too many attempts from one client or for one identity; the same request may succeed later.

    ``retry_after`` (seconds), when known, is sent as the HTTP ``Retry-After`` header.
    """

    default_code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ConfigurationError(MvnoguardError):
    """The environment is wrong (bad setting, unreachable database, missing key); says the fix."""

    default_code = "configuration"
    http_status = 500
