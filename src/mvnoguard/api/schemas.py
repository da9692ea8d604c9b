"""API shapes shared by every router: the one error shape and the responses that carry it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"], description="Stable machine code.")
    message: str = Field(examples=["no subscriber on 17012345678"])
    field: str | None = Field(default=None, examples=["msisdn"])
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    """Every error answer of the API, whatever its status."""

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries declaring that these statuses answer with the error shape."""
    reasons = {
        400: "Malformed request",
        401: "No, unknown or revoked API key; on citizen routes, a wrong or expired code",
        403: "The key's role may not do this",
        404: "Unknown, or another tenant's, record",
        409: "Conflicts with the current state",
        413: "Request body too large",
        422: "Invalid input, or refused by a rule",
        429: "Too many requests",
    }
    return {
        status: {"model": ErrorResponse, "description": reasons.get(status, "Error")}
        for status in statuses
    }


AUTHENTICATED_ERRORS = error_responses(401, 403, 404, 413, 422)
PUBLIC_ERRORS = error_responses(404, 413, 422, 429)
