"""Juspay's answers, as documented: the JSON envelope and each error body the fake sends."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["invalid", "json_answer", "method_not_allowed", "not_found", "unauthorized"]


def _error_body(
    *,
    status: str,
    error_code: str,
    user_message: str,
    developer_message: str,
    code: str,
    request_id: str,
    error_message: str | None = None,
    fields: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "user_message": user_message,
        "request_id": request_id,
        "href": "NA",
        "developer_message": developer_message,
        "code": code,
        "category": "USER_ERROR",
    }
    if fields is not None:
        info["fields"] = fields
    body: dict[str, Any] = {"status": status, "error_code": error_code, "error_info": info}
    if error_message is not None:
        body = {"error_message": error_message, **body}
    return body


def json_answer(status: int, request_id: str, body: Mapping[str, Any]) -> web.Response:
    """``body`` as JSON with ``status``, and the ``x-request-id`` Juspay sets on every answer."""
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={"x-request-id": request_id},
    )


def unauthorized(request_id: str) -> web.Response:
    """Juspay's 401 body for a missing or wrong API key."""
    return json_answer(
        401,
        request_id,
        _error_body(
            status="error",
            error_code="access_denied",
            user_message="Unauthorized.",
            developer_message="Invalid API Key. Please pass a valid and active api key.",
            code="UNAUTHORIZED",
            request_id=request_id,
        ),
    )


def method_not_allowed(request_id: str) -> web.Response:
    """The 405 answer to anything but ``GET`` on the list endpoint."""
    return json_answer(405, request_id, {"status": "error", "error_code": "method_not_allowed"})


def not_found(request_id: str, user_message: str, developer_message: str) -> web.Response:
    """Juspay's 404 body (the seed page's)."""
    return json_answer(
        404,
        request_id,
        _error_body(
            error_message="Cannot find what you are looking for",
            status="invalid_request_error",
            error_code="object_not_found",
            user_message=user_message,
            developer_message=developer_message,
            code="RESOURCE_NOT_FOUND",
            request_id=request_id,
        ),
    )


def invalid(
    request_id: str, field: str, reason: str, *, code: str = "INVALID_INPUT"
) -> web.Response:
    """Juspay's 400 body naming the invalid ``field`` (a header or a query parameter)."""
    return json_answer(
        400,
        request_id,
        _error_body(
            error_message=f"Wrong value in {field}",
            status="Invalid Request",
            error_code="Invalid Request",
            user_message=f"Invalid value in {field}.",
            developer_message=f"{reason} ({field})",
            code=code,
            request_id=request_id,
            fields=[{"field_name": field, "reason": reason}],
        ),
    )
