"""The data path takes no detours: each value is checked once and each request built once."""

from __future__ import annotations

from typing import TYPE_CHECKING, ParamSpec, TypeVar

import yarl

from juspay_accounts import _config, _request

if TYPE_CHECKING:
    from collections.abc import Callable


PAGES = 4
P = ParamSpec("P")
R = TypeVar("R")


def counting(calls: list[str], function: Callable[P, R]) -> Callable[P, R]:
    """``function``, noting each call in ``calls``."""

    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        calls.append(function.__name__)
        return function(*args, **kwargs)

    return counted


def test_the_request_url_is_a_ready_encoded_yarl_url() -> None:
    """The request carries a yarl.URL marked encoded, so no attempt parses a string again."""
    settings = _config.make_settings(api_key="k", base_url="https://h", user_agent="ua")
    request = _request.build_list_request(settings, "a/b", offset=2, count=3)
    assert isinstance(request.url, yarl.URL)
    assert "/customers/a%2Fb/customer-accounts/list" == request.url.raw_path
    assert "offset=2&count=3" == request.url.raw_query_string
