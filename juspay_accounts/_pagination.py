"""Walking ``offset``/``count``/``total``: the rules, with no I/O.

:class:`PageWalk` decides what to ask for next and checks each page that comes back, so
the rules that keep a walk finite and free of duplicates are tested without a server. The
fetcher (:mod:`._fetcher`) only sends what the walk asks for.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import attrs

from juspay_accounts._config import positive_int_or_none
from juspay_accounts.exceptions import PaginationError

if TYPE_CHECKING:
    from juspay_accounts._models import AccountPage

__all__ = ["DEFAULT_MAX_PAGES", "MAX_REWALKS", "PageWalk"]

_LOG: Final = logging.getLogger("juspay_accounts")


DEFAULT_MAX_PAGES: Final = 1000
"""The most pages one customer's walk fetches unless told otherwise (``None``: no bound).

A customer has a handful of accounts, so this is far beyond any real walk (a thousand
accounts at ``page_size=1``), yet it stops a server that keeps inventing pages.
"""

MAX_REWALKS: Final = 3
"""How many times one walk starts again from offset 0 because ``total`` shrank."""


class PageWalk:
    """The state of one customer's walk through its pages.

    Use: ``while (offset := walk.next_offset()) is not None``, fetch the page at
    ``offset`` with ``count=walk.page_size``, then ``page = walk.accept(page)`` yields the
    page with accounts already seen removed.

    The walk starts at offset 0. Each next offset is the previous one plus the accounts
    actually received, because a server may return fewer than asked. It ends when the
    offset reaches ``total`` or a page comes back empty. It refuses (with
    :class:`PaginationError`) a page at another offset than asked, a page of only
    already-seen accounts while ``total`` stands still, and more than ``max_pages`` pages.

    If ``total`` grows, the walk goes on against the new total (an account inserted
    before the offset only pushes seen ones forward). If it shrinks, an account before the
    offset may have been deleted, so that later ones moved back past the offset unseen:
    the walk starts again from offset 0, skipping what it has already returned, so that
    no account present for the whole walk is missed. After :data:`MAX_REWALKS` such
    restarts it raises :class:`PaginationError` rather than return a list with holes.

    ``page_size`` and ``max_pages`` are trusted: :meth:`checked` checks a caller's.
    """

    __slots__ = (
        "_done",
        "_offset",
        "_pages",
        "_rewalk_until",
        "_rewalks",
        "_seen",
        "_total",
        "customer_id",
        "max_pages",
        "page_size",
    )

    def __init__(
        self,
        customer_id: str,
        *,
        page_size: int | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
    ) -> None:
        """Start a walk for ``customer_id``."""
        self.customer_id = customer_id
        self.page_size = page_size
        self.max_pages = max_pages
        self._offset = 0
        self._pages = 0
        self._total: int | None = None
        self._seen: set[str] = set()
        self._done = False
        self._rewalks = 0
        # While re-walking, offsets below this one hold accounts already returned.
        self._rewalk_until = 0

    @classmethod
    def checked(
        cls,
        customer_id: str,
        *,
        page_size: int | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
    ) -> PageWalk:
        """A walk for limits as a caller passed them: checked here, trusted from then on."""
        return cls(
            customer_id,
            page_size=positive_int_or_none(page_size, "page_size"),
            max_pages=positive_int_or_none(max_pages, "max_pages"),
        )

    @property
    def pages(self) -> int:
        """How many pages have been accepted."""
        return self._pages

    def next_offset(self) -> int | None:
        """The offset to ask for next, or ``None`` when the walk is complete.

        Raises:
            PaginationError: the walk needs more than ``max_pages`` pages.
        """
        if self._done:
            return None
        if self.max_pages is not None and self._pages >= self.max_pages:
            msg = (
                f"customer {self.customer_id}: more than max_pages={self.max_pages} pages "
                f"(at offset {self._offset} of {self._total})"
            )
            raise PaginationError(msg, customer_id=self.customer_id, offset=self._offset)
        return self._offset

    def accept(self, page: AccountPage) -> AccountPage:
        """Check the page fetched at :meth:`next_offset`; return it without seen accounts.

        Raises:
            PaginationError: the page does not move the walk forward, or ``total`` kept
                shrinking.
        """
        asked = self._offset
        if page.offset != asked:
            msg = (
                f"customer {self.customer_id}: asked for offset {asked}, got a page at "
                f"offset {page.offset}: the server seems to ignore offset"
            )
            raise PaginationError(
                msg, customer_id=self.customer_id, offset=asked, request_id=page.request_id
            )
        previous = self._total
        total_changed = previous is not None and page.total != previous
        shrank = previous is not None and page.total < previous
        if total_changed:
            _LOG.warning(
                "customer %s: total changed from %d to %d during the walk; %s, skipping "
                "accounts already returned",
                self.customer_id,
                previous,
                page.total,
                "walking again from offset 0 so that no account is missed"
                if shrank
                else "going on against the new total",
            )
        self._total = page.total
        self._pages += 1
        seen = self._seen
        fresh = []
        for account in page.accounts:
            if account.customer_account_id not in seen:
                seen.add(account.customer_account_id)
                fresh.append(account)
        rewalking = asked < self._rewalk_until
        if page.accounts and not fresh and not total_changed and not rewalking:
            msg = (
                f"customer {self.customer_id}: the page at offset {asked} holds only accounts "
                "already returned: the server seems to ignore offset"
            )
            raise PaginationError(
                msg, customer_id=self.customer_id, offset=asked, request_id=page.request_id
            )
        self._offset = asked + len(page.accounts)
        if shrank:
            self._start_again(asked, page)
        else:
            self._done = self._ends_here(asked, page)
        if len(fresh) == len(page.accounts):
            return page
        return attrs.evolve(page, accounts=tuple(fresh))

    def _ends_here(self, asked: int, page: AccountPage) -> bool:
        """Whether the walk is complete after ``page``, fetched at ``asked``."""
        if page.accounts:
            return self._offset >= page.total
        if asked < page.total:
            _LOG.warning(
                "customer %s: empty page at offset %d before total %d; ending the walk",
                self.customer_id,
                asked,
                page.total,
            )
        return True

    def _start_again(self, asked: int, page: AccountPage) -> None:
        """``total`` shrank: go back to offset 0, or give up after MAX_REWALKS restarts."""
        if self._rewalks >= MAX_REWALKS:
            msg = (
                f"customer {self.customer_id}: total kept shrinking during the walk "
                f"({MAX_REWALKS + 1} times, now {page.total}): accounts are being deleted "
                "faster than they can be listed, so the list could have holes; retry later"
            )
            raise PaginationError(
                msg, customer_id=self.customer_id, offset=asked, request_id=page.request_id
            )
        self._rewalks += 1
        self._rewalk_until = max(self._rewalk_until, self._offset)
        self._offset = 0
