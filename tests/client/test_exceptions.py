"""The exception tree: classes, one-line messages, pickling."""

from __future__ import annotations

import pickle

import pytest

import juspay_accounts as ja
from juspay_accounts import exceptions


def test_tree() -> None:
    """All errors are JuspayErrors; status classes are APIErrors; timeouts are connection errors."""
    for cls in (
        ja.BadRequestError,
        ja.AuthenticationError,
        ja.PermissionDeniedError,
        ja.NotFoundError,
        ja.RateLimitError,
        ja.ServerError,
    ):
        assert issubclass(cls, ja.APIError)
    assert issubclass(ja.APITimeoutError, ja.APIConnectionError)
    for root in (ja.APIError, ja.APIConnectionError, ja.ResponseValidationError):
        assert issubclass(root, ja.JuspayError)
    assert ja.exceptions is exceptions


@pytest.mark.parametrize(
    "exc",
    [
        ja.NotFoundError(status=404, error_code="object_not_found", request_id="r1", body="{}"),
        ja.RateLimitError(status=429, retry_after=3.0),
        ja.BadRequestError(status=400, fields=(ja.ErrorField(name="f", reason="bad"),)),
        ja.APIConnectionError("refused", request_id=None),
        ja.ResponseValidationError("bad", status=200, errors=("x @ $",), request_id="r2"),
        ja.APIError(status=418, headers={"X-Teapot": "yes"}, message="short and stout"),
        ja.APITimeoutError("slow"),
        ja.APICertificateError("untrusted"),
        ja.PaginationError("loops", customer_id="cst_1", offset=20, request_id="r3"),
        ja.InvalidInputError("blank id"),
        ja.ClientClosedError("closed"),
        ja.RateLimitStoreError("not sent: Redis is gone"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_pickle_round_trip(exc: ja.JuspayError) -> None:
    """Every error of the tree survives pickling (process pools) with all its fields.

    One mechanism for all: the class, its args and its attributes (attempts included).
    """
    exc.attempts = 3
    copy = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
    assert type(exc) is type(copy)
    assert str(exc) == str(copy)
    assert exc.request_id == copy.request_id
    assert vars(exc) == vars(copy)
    assert 3 == copy.attempts
    assert exc.args == copy.args


def test_message_is_one_line_with_hint() -> None:
    """str() is one line: status, codes, message, request id, then what to do."""
    exc = ja.ServerError(status=503, body="<html>\n<b>down</b>\n</html>", request_id="r9")
    text = str(exc)
    assert "\n" not in text
    assert text.startswith("HTTP 503: body: <html> <b>down</b> </html> (request id r9) - ")
    assert "retrying later usually works" in text


def test_plain_api_error_has_no_hint() -> None:
    """A plain APIError ends with the message and request id, nothing generic."""
    assert "HTTP 418" == str(ja.APIError(status=418))
