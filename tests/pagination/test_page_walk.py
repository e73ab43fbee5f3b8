"""The walk's rules on their own, with no server: exact errors, what they carry, what is logged."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

import juspay_accounts as ja
from juspay_accounts._config import positive_int_or_none
from juspay_accounts._pagination import PageWalk


def account(account_id: str) -> ja.CustomerAccount:
    """A minimal account."""
    return ja.CustomerAccount(
        customer_account_id=account_id,
        customer_id="c",
        account_details=ja.AccountDetails(vpa="x@y"),
        validation_status=ja.ValidationStatus.ACTIVE,
        date_created=dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
    )


def page(ids: list[str], offset: int, total: int, request_id: str | None = None) -> ja.AccountPage:
    """A page of minimal accounts."""
    return ja.AccountPage(
        accounts=tuple(account(i) for i in ids),
        offset=offset,
        count=len(ids),
        total=total,
        request_id=request_id,
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings logged so far, as text."""
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("value", [None, 1, 2, 10**9])
def test_positive_int_or_none_accepts_none_and_whole_numbers_from_one(value: int | None) -> None:
    """None and any int of at least 1 (1 included) come back unchanged."""
    assert value == positive_int_or_none(value, "page_size")


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0, ValueError, "page_size must be at least 1, got 0"),
        (-3, ValueError, "page_size must be at least 1, got -3"),
        (2.0, TypeError, "page_size must be an int or None, got float"),
        ("5", TypeError, "page_size must be an int or None, got str"),
        (True, TypeError, "page_size must be an int or None, got bool"),
    ],
)
def test_positive_int_or_none_refuses_with_a_message_naming_the_argument(
    value: object, error: type[Exception], message: str
) -> None:
    """A bad bound is refused with the argument's name, the rule and the value."""
    with pytest.raises(error) as info:
        positive_int_or_none(value, "page_size")  # type: ignore[arg-type]
    assert message == str(info.value)


@pytest.mark.parametrize("name", ["page_size", "max_pages"])
def test_walk_checks_its_bounds_by_name(name: str) -> None:
    """PageWalk.checked (a walk for a caller's limits) refuses a bad one, naming which."""
    with pytest.raises(ValueError, match=f"^{name} must be at least 1, got 0$"):
        PageWalk.checked("c", **{name: 0})
    with pytest.raises(TypeError, match=f"^{name} must be an int or None, got str$"):
        PageWalk.checked("c", **{name: "2"})  # type: ignore[arg-type]


def test_walk_keeps_its_settings() -> None:
    """The customer, page size and page bound are what the walk was given."""
    walk = PageWalk("cst_9", page_size=25, max_pages=4)
    assert ("cst_9", 25, 4, 0) == (walk.customer_id, walk.page_size, walk.max_pages, walk.pages)


def test_more_than_max_pages_is_refused_with_where_it_stood() -> None:
    """The page after max_pages raises PaginationError with the customer, offset and total."""
    walk = PageWalk("cst_9", page_size=2, max_pages=2)
    walk.accept(page(["a", "b"], 0, 9))
    assert 2 == walk.next_offset()
    walk.accept(page(["c", "d"], 2, 9))
    with pytest.raises(ja.PaginationError) as info:
        walk.next_offset()
    assert "customer cst_9: more than max_pages=2 pages (at offset 4 of 9)" == info.value.args[0]
    assert ("cst_9", 4, None) == (info.value.customer_id, info.value.offset, info.value.request_id)


def test_a_page_at_another_offset_is_refused() -> None:
    """A page at another offset than asked raises, carrying customer, offset and request id."""
    walk = PageWalk("cst_9", page_size=2)
    walk.accept(page(["a", "b"], 0, 4))
    with pytest.raises(ja.PaginationError) as info:
        walk.accept(page(["a", "b"], 0, 4, request_id="req_7"))
    assert (
        "customer cst_9: asked for offset 2, got a page at offset 0: the server seems to "
        "ignore offset"
    ) == info.value.args[0]
    assert ("cst_9", 2, "req_7") == (
        info.value.customer_id,
        info.value.offset,
        info.value.request_id,
    )


def test_a_page_of_only_seen_accounts_is_refused() -> None:
    """A page repeating only accounts already returned, total unchanged, raises with its ids."""
    walk = PageWalk("cst_9", page_size=2)
    walk.accept(page(["a", "b"], 0, 4))
    with pytest.raises(ja.PaginationError) as info:
        walk.accept(page(["a", "b"], 2, 4, request_id="req_8"))
    assert (
        "customer cst_9: the page at offset 2 holds only accounts already returned: the "
        "server seems to ignore offset"
    ) == info.value.args[0]
    assert ("cst_9", 2, "req_8") == (
        info.value.customer_id,
        info.value.offset,
        info.value.request_id,
    )


def test_a_changed_total_is_logged_and_followed(caplog: pytest.LogCaptureFixture) -> None:
    """A new total logs one warning naming the customer and both totals; the walk goes on."""
    caplog.set_level(logging.WARNING, logger="juspay_accounts")
    walk = PageWalk("cst_9", page_size=2)
    walk.accept(page(["a", "b"], 0, 4))
    fresh = walk.accept(page(["b", "c"], 2, 6))
    assert ["c"] == [a.customer_account_id for a in fresh.accounts]
    expected = (
        "customer cst_9: total changed from 4 to 6 during the walk; going on against the new "
        "total, skipping accounts already returned"
    )
    assert [expected] == warnings_of(caplog)
    assert 4 == walk.next_offset()


def test_an_empty_page_before_total_is_logged_and_ends_the_walk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An empty page short of total ends the walk with a warning naming where it stopped."""
    caplog.set_level(logging.WARNING, logger="juspay_accounts")
    walk = PageWalk("cst_9", page_size=2)
    walk.accept(page(["a", "b"], 0, 5))
    assert () == walk.accept(page([], 2, 5)).accounts
    assert walk.next_offset() is None
    assert ["customer cst_9: empty page at offset 2 before total 5; ending the walk"] == (
        warnings_of(caplog)
    )


def test_an_empty_page_at_total_ends_the_walk_quietly(caplog: pytest.LogCaptureFixture) -> None:
    """A customer with no accounts: one empty page at offset 0 of 0 ends the walk, unlogged."""
    caplog.set_level(logging.WARNING, logger="juspay_accounts")
    walk = PageWalk("cst_9", page_size=2)
    walk.accept(page([], 0, 0))
    assert walk.next_offset() is None
    assert [] == warnings_of(caplog)


def test_a_page_without_repeats_comes_back_as_it_is() -> None:
    """A page with nothing already seen is returned itself, not a copy."""
    walk = PageWalk("cst_9")
    first = page(["a", "b"], 0, 2)
    assert first is walk.accept(first)
    assert walk.next_offset() is None


def test_past_the_rewalked_offsets_a_page_of_old_accounts_is_refused() -> None:
    """Re-walking excuses old accounts only below where the walk had got to, not from there."""
    walk = PageWalk("c", page_size=2)
    walk.accept(page(["a", "b"], 0, 6))
    walk.accept(page(["c", "d"], 2, 5))  # total shrank: walk again from 0, up to offset 4
    assert 0 == walk.next_offset()
    walk.accept(page(["a", "b"], 0, 5))
    walk.accept(page(["c", "d"], 2, 5))
    assert 4 == walk.next_offset()
    with pytest.raises(ja.PaginationError) as refused:
        walk.accept(page(["a", "b"], 4, 5))
    assert (
        "customer c: the page at offset 4 holds only accounts already returned: the server "
        "seems to ignore offset"
    ) == refused.value.args[0]
    assert 4 == refused.value.offset
