"""Frozen, slotted models built cheaply: a building subclass filled, then given its class.

Decoding builds thousands of accounts; attrs' frozen ``__init__`` stores through each
slot's descriptor with ``object.__setattr__``. A subclass with no slots of its own and
``object``'s ``__setattr__``/``__delattr__`` takes plain attribute stores (CPython's direct
slot stores) and then becomes the real model (``obj.__class__ = model``): the same objects,
for a fraction of the instructions. :func:`check_sets_fields` reads each builder's code so
that a field added to a model and forgotten in its builder fails loudly at once.
"""

from __future__ import annotations

import dis
import functools
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from juspay_accounts._models import AccountPage, CustomerAccount, freeze_headers

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["building_class", "check_sets_fields", "page_builder"]

_M = TypeVar("_M")


@functools.cache
def building_class(model: type[_M]) -> type[_M]:
    """A subclass of the frozen, slotted attrs ``model`` that a hook can fill, then hand on.

    It adds no slots (``__slots__ = ()``) and takes back ``object``'s ``__setattr__`` and
    ``__delattr__`` (attrs overrides both to freeze the model), so a hook makes one with
    ``object.__new__``, fills it with plain attribute stores (which CPython runs as direct
    slot stores) and then gives it its real class with ``obj.__class__ = model``: CPython
    allows the assignment because the two layouts are the same. What the hook hands on is
    then an ordinary ``model``: the same type, equality, hash, repr, frozen, weak-referenceable
    and picklable. It skips attrs' ``__init__``, which is sound only while the models have no
    validators, converters, factories or ``on_setattr`` hooks for it to apply
    (``tests/response/test_models.py`` checks that), and every hook says which fields it
    sets (:func:`check_sets_fields`). 16.5k fewer instructions per two-account page than
    storing through the slots' descriptors (perf change 11 in docs/performance-notes.md).
    """
    building = type(
        f"_Building{model.__name__}",
        (model,),
        {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": __name__,
        },
    )
    if building.__basicsize__ != model.__basicsize__:
        msg = f"{model.__name__} cannot be built by a subclass: the layouts differ"
        raise TypeError(msg)
    return building


def check_sets_fields(build: Callable[..., object], *models: type) -> None:
    """Refuse a builder that does not store exactly the fields of ``models``, and classes.

    ``build`` is a function whose every attribute store fills one of the ``models`` it
    builds (made from :func:`building_class`), each ending with ``obj.__class__ = model``.
    Its code is read when the hook is made, so a field added to a model and forgotten in its
    builder fails the first decode loudly, instead of leaving a slot unset (an
    ``AttributeError`` later, far from the cause); so does a builder that never gives back
    the real class. (A store on the wrong one of several objects raises at once: a slotted
    object has no room for another model's field.)

    Raises:
        TypeError: ``build`` stores another set of names than the fields of ``models``
            and ``__class__``.
    """
    stored = {
        instruction.argval
        for instruction in dis.get_instructions(build)
        if instruction.opname == "STORE_ATTR"
    }
    fields = {field.name for model in models for field in attrs.fields(model)} | {"__class__"}
    if stored != fields:
        missing = ", ".join(sorted(fields - stored)) or "none"
        extra = ", ".join(sorted(stored - fields)) or "none"
        names = ", ".join(model.__name__ for model in models)
        msg = (
            f"{build.__qualname__} must set exactly the fields of {names}: "
            f"not set: {missing}; not fields: {extra}"
        )
        raise TypeError(msg)


@functools.cache
def page_builder() -> Callable[
    [tuple[CustomerAccount, ...], int, int, int, Mapping[str, str]], AccountPage
]:
    """``make(accounts, offset, count, total, headers)``: an :class:`AccountPage`, fast.

    Built through :func:`building_class`, as :func:`_fast_account_hook` builds accounts;
    made once. Its ``headers`` are frozen here, as the converter of its ``__init__`` would,
    and its ``request_id`` read from them. The ``__init__`` costs 14k instructions per page
    (perf change 5 in docs/performance-notes.md); ``tests/response/test_models.py`` checks
    both make equal pages.
    """
    new: Callable[[type], Any] = object.__new__  # Any: the builder stores into it
    building = building_class(AccountPage)

    def make(
        accounts: tuple[CustomerAccount, ...],
        offset: int,
        count: int,
        total: int,
        headers: Mapping[str, str],
    ) -> AccountPage:
        page = new(building)
        page.accounts = accounts
        page.offset = offset
        page.count = count
        page.total = total
        frozen = freeze_headers(headers)
        page.request_id = frozen.get("x-request-id")
        page.headers = frozen
        page.__class__ = AccountPage
        made: AccountPage = page
        return made

    check_sets_fields(make, AccountPage)
    return make
