"""The request URL, assembled from the base URL's parts, is the URL its text says."""

from __future__ import annotations

import pytest
import yarl

from juspay_accounts import _config, _request

BASES = [
    "https://api.juspay.in",
    "https://sandbox.juspay.in/",
    "http://127.0.0.1:8080/white/label/",
    "http://[::1]:8080",
    "https://x.example/a%20b/",
    "HTTPS://API.Juspay.IN:443/v1",
]
IDS = ["cst_1", "a/b", "..", ".", "ü ñ", "%41", "a?b#c", "a+b&c=d", "日本"]


@pytest.mark.parametrize("base_url", BASES)
@pytest.mark.parametrize(("offset", "count"), [(None, None), (0, None), (5, 10), (None, 3)])
def test_url_is_its_text(base_url: str, offset: int | None, count: int | None) -> None:
    """Scheme, authority, path prefix, the encoded id and the query all match the text form."""
    settings = _config.make_settings(api_key="k", base_url=base_url, user_agent="u")
    for customer_id in IDS:
        request = _request.build_list_request(settings, customer_id, offset=offset, count=count)
        query = "&".join(
            ([f"offset={offset}"] if offset is not None else [])
            + ([f"count={count}"] if count is not None else [])
        )
        text = (
            f"{settings.base_url}/customers/{_request._path_segment(customer_id)}"
            f"/customer-accounts/list{'?' + query if query else ''}"
        )
        expected = yarl.URL(text, encoded=True)
        assert text == str(request.url)
        assert expected == request.url
        assert (expected.host, expected.port, expected.raw_path, expected.raw_query_string) == (
            request.url.host,
            request.url.port,
            request.url.raw_path,
            request.url.raw_query_string,
        )
