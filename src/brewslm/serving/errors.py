"""Errors in OpenAI's shape: every failure the server answers is one JSON object, never a traceback.

    {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens", "code": "..."}}

The official ``openai`` client reads this shape into its exceptions (``BadRequestError``,
``AuthenticationError``, ``NotFoundError``...). Status codes follow one rule:

- 400: the request is well-formed JSON of the right shape but asks for something this server will
  not do (``max_tokens`` above the limit, an endpoint the model's task does not serve, a tool
  message without content) - and malformed JSON: an empty body, a syntax error, and ``NaN`` or
  ``Infinity`` (Python's parser takes them, JSON and OpenAI's clients do not);
- 401: a missing or wrong API key; 404: an unknown model or path; 405: a wrong method;
- 413: a body above the size limit;
- 422: valid JSON that violates the request schema (a missing field, a wrong type); ``param``
  names the field as OpenAI does (``messages[0].role``);
- 503: the server is starting or shutting down; 504: the request took longer than its timeout;
- 500: a bug: the message says so without details; the traceback goes to the server log only.

``ApiError`` is what routes raise. ``error_for(exc)`` is the one table from any exception to its
answer (an unknown model id: 404 ``model_not_found``; a ``BrewError`` - bad input caught below
the routes, such as a prompt longer than the context: 400; anything else: a logged 500); plain
responses (``ApiRoute``, the route class that catches what an endpoint raises) and streams (an
error event) both use it. ``install_error_handlers(app)`` adds FastAPI's validation errors
(``validation_error``) and Starlette's HTTP errors (unknown path, wrong method).
``ErrorResponse`` is the shape as a model, for the OpenAPI schema (``error_responses``).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from brewslm.errors import BrewError
from brewslm.serving.engine import EngineStopped
from brewslm.serving.served import ModelNotFound
from brewslm.serving.upstream import UpstreamError, UpstreamUnavailable

logger = logging.getLogger("brewslm.serving")

INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout_error"


class ApiError(Exception):
    """A request the server refuses, answered with ``status`` and an OpenAI error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = " ".join(str(message).split())  # one line
        self.type = type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type=self.type, code=self.code, param=self.param)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """Every error's body (``error_body``), as the OpenAPI schema documents it."""

    error: ErrorDetail


ERROR_DESCRIPTIONS = {
    400: "Malformed JSON, or a request this server will not do (the message says which field)",
    401: "A missing or wrong API key (when the server has one)",
    404: "An unknown model id or path",
    413: "A body above the server's max_request_bytes",
    422: "JSON that does not fit the request schema (param names the field)",
    500: "A server failure (the details are in the server log)",
    503: "The server is starting or stopping",
    504: "The request ran past the server's request_timeout_s",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses, each with the error model."""
    return {status: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


API_ERRORS = error_responses(401, 500)
"""What any API route may answer instead of its result."""
BODY_ERRORS = error_responses(400, 401, 404, 413, 422, 500, 503, 504)
"""What a route that takes a JSON body and runs a model may answer instead of its result."""


def error_body(
    message: str, *, type: str = INVALID_REQUEST, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def unprocessable(message: str, *, param: str | None = None) -> ApiError:
    return ApiError(422, message, param=param, code="invalid_request")


def unauthorized() -> ApiError:
    return ApiError(
        401,
        "missing or invalid API key: send it as 'Authorization: Bearer <key>'",
        type=AUTHENTICATION,
        code="invalid_api_key",
        headers={"WWW-Authenticate": "Bearer"},
    )


def not_found(message: str, *, code: str | None = None, param: str | None = None) -> ApiError:
    return ApiError(404, message, code=code, param=param)


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"request body is larger than {limit} bytes; send less (the server's max_request_bytes)",
        code="request_too_large",
    )


def timed_out(seconds: float) -> ApiError:
    return ApiError(
        504,
        f"the request did not finish within {seconds:g} s (the server's request_timeout_s); "
        "ask for fewer tokens or retry",
        type=TIMEOUT,
        code="timeout",
    )


def unavailable(message: str) -> ApiError:
    return ApiError(503, message, type=SERVER_ERROR, code="unavailable")


def internal_error() -> ApiError:
    return ApiError(
        500,
        "the server failed on this request; the error is in the server log",
        type=SERVER_ERROR,
        code="internal_error",
    )


def error_for(exc: BaseException) -> ApiError:
    """The answer to an exception from a route or a stream: the one table both use."""

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ModelNotFound):
        return not_found(str(exc), code="model_not_found", param="model")
    if isinstance(exc, (EngineStopped, UpstreamUnavailable)):
        return unavailable(str(exc))
    if isinstance(exc, UpstreamError):  # the other engine failed this request: a bad gateway, not bad input
        return ApiError(502, str(exc), type=SERVER_ERROR, code="upstream_error")
    if isinstance(exc, BrewError):  # bad input caught below the routes (a prompt too long, a bad schema)
        return bad_request(str(exc))
    logger.error("unhandled error: %s", exc, exc_info=exc)
    return internal_error()


def field_path(loc: Sequence[Any]) -> str:
    """A place in the body as OpenAI's clients name it: ``messages[0].role``."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


NOT_AN_OBJECT = frozenset({"model_attributes_type", "model_type", "dict_type"})
"""Pydantic's error types for a body that is not a JSON object."""


def _common_prefix(locs: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    prefix: list[Any] = []
    for parts in zip(*locs):
        if any(part != parts[0] for part in parts):
            break
        prefix.append(parts[0])
    return tuple(prefix)


def validation_error(exc: RequestValidationError) -> ApiError:
    """Malformed JSON -> 400; JSON that does not fit the request schema -> 422, naming the field."""
    errors = exc.errors()
    first = errors[0] if errors else {"msg": "invalid request", "loc": ()}
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return ApiError(
            400, f"the request body is not valid JSON{': ' + str(detail) if detail else ''}", code="invalid_json"
        )
    loc = tuple(first.get("loc", ()))
    # a value that fits no form of a union fails once per form (messages[0].content.str, ...
    # .content.list[TextPart]...): name the field they share, not pydantic's form tags
    shared = _common_prefix([tuple(e.get("loc", ())) for e in errors])
    where = field_path(shared if len(shared) > 1 and len(loc) == len(shared) + 1 else loc)
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    if first.get("type") == "missing":
        text = f"field '{where}' is required" if where else "a request body is required"
    elif not where and first.get("type") in NOT_AN_OBJECT:  # a form post, null, text/plain...
        text = "the request body must be a JSON object, sent with 'Content-Type: application/json'"
    else:  # a field, or a rule across fields (where is empty)
        text = f"field '{where}': {message}" if where else message
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return unprocessable(text + more, param=where or None)


def _http_error(exc: StarletteHTTPException) -> ApiError:
    if exc.status_code == 404:
        return not_found("no such endpoint; see GET /v1/models and the server's documentation", code="unknown_url")
    if exc.status_code == 405:
        return ApiError(405, "this endpoint does not accept that HTTP method", code="method_not_allowed")
    return ApiError(exc.status_code, str(exc.detail), type=SERVER_ERROR if exc.status_code >= 500 else INVALID_REQUEST)


def install_error_handlers(app: FastAPI) -> None:
    async def on_error(request: Request, exc: Exception) -> Response:
        # ApiRoute answers what endpoints raise; this catches what middleware or routing raises
        return error_for(exc).response()

    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        return validation_error(exc).response()

    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        error = _http_error(exc)
        error.headers.update(exc.headers or {})
        return error.response()

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ApiError, on_error)
    app.add_exception_handler(BrewError, on_error)
    app.add_exception_handler(Exception, on_error)


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value (send a number or null)")


class StrictJsonRequest(Request):
    """A request whose JSON body is read as JSON is specified: ``NaN``, ``Infinity`` and
    ``-Infinity`` - which Python's parser accepts - fail like any other syntax error."""

    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            body = await self.body()
            try:
                self._strict_json = json.loads(body, parse_constant=_no_constant)
            except _NotJson as exc:
                # FastAPI answers a JSONDecodeError as malformed JSON (``json_invalid``): 400
                raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace"), 0) from None
        return self._strict_json


class ApiRoute(APIRoute):
    """A route whose exceptions are answered right where they happen (``error_for``): an
    unexpected one becomes a logged 500 in the error shape - Starlette's last-resort handler
    would answer too, but then re-raise it into the server log as a crash. Its body is read
    strictly (``StrictJsonRequest``), and an empty one is malformed JSON (400), not a missing
    field: to an OpenAI client "no JSON" is a bad request, whatever the schema says."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        takes_body = bool(self.dependant.body_params)

        async def guarded(request: Request) -> Response:
            request = StrictJsonRequest(request.scope, request.receive)
            try:
                if takes_body and not await request.body():
                    return ApiError(
                        400,
                        "the request body is empty; send a JSON object with 'Content-Type: application/json'",
                        code="invalid_json",
                    ).response()
                return await handler(request)
            except (RequestValidationError, StarletteHTTPException):
                raise  # answered by their handlers (400/422, 404/405)
            except Exception as exc:
                return error_for(exc).response()

        return guarded


__all__ = [
    "API_ERRORS",
    "ApiError",
    "ApiRoute",
    "BODY_ERRORS",
    "ERROR_DESCRIPTIONS",
    "ErrorDetail",
    "ErrorResponse",
    "StrictJsonRequest",
    "bad_request",
    "error_body",
    "error_for",
    "error_responses",
    "field_path",
    "install_error_handlers",
    "internal_error",
    "not_found",
    "timed_out",
    "too_large",
    "unauthorized",
    "unprocessable",
    "unavailable",
    "validation_error",
]
