"""What every request and response body shares: requests reject unknown fields (no mass assignment) and never
echo rejected input in their errors (it may be a phone number); the error body of every 4xx/5xx."""

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-:.]{1,128}$")]


Locale = Literal["en", "de"]


class Request(BaseModel):
    model_config = ConfigDict(
        defer_build=True, extra="forbid", frozen=True, hide_input_in_errors=True, str_strip_whitespace=True
    )


class Response(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)


class FieldError(Response):
    loc: list[str | int]
    type: str
    msg: str


class ErrorBody(Response):
    code: str
    message: str
    errors: list[FieldError] | None = None


class ContextAccepted(Response):
    id: str
    reevaluating_cases: list[str] = Field(default_factory=list, description="Pending cases re-opened for evaluation.")
