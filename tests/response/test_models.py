"""The models: frozen, slotted, and safe to build through their slots."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import pickle
import weakref
from typing import Any

import attrs
import pytest

import juspay_accounts as ja
from juspay_accounts import _converter
from juspay_accounts._builders import building_class, check_sets_fields, page_builder
from juspay_accounts._converter import SMALL_AMOUNTS, _fast_account_hook

MODELS = (ja.AccountPage, ja.CustomerAccount, ja.AccountDetails, ja.BankAccount)


@pytest.mark.parametrize("model", MODELS)
def test_models_are_frozen_and_slotted(model: type) -> None:
    """Every model is an immutable, slotted attrs class."""
    assert attrs.has(model)
    assert "__slots__" in model.__dict__
    instance = _example(model)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        instance.x = 1  # type: ignore[attr-defined]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(instance, attrs.fields(model)[0].name, None)


@pytest.mark.parametrize("model", MODELS)
def test_building_without_init_is_sound(model: type) -> None:
    """The fast decoder skips __init__: it may apply nothing, and the subclass adds no slot."""
    for field in attrs.fields(model):
        if model is ja.AccountPage and field.name == "headers":
            continue  # the page builder freezes the headers itself (test below)
        assert field.validator is None, field.name
        assert field.converter is None, field.name
        assert not isinstance(field.default, attrs.Factory), field.name  # type: ignore[arg-type]
        assert field.on_setattr in (None, attrs.setters.NO_OP), field.name
    building = building_class(model)
    assert model in building.__bases__
    assert () == building.__dict__["__slots__"]
    assert model.__basicsize__ == building.__basicsize__


def _decoded_account() -> ja.CustomerAccount:
    """An account as the fast decoder builds it, from the bank-account example."""
    made = _example(ja.CustomerAccount)
    assert isinstance(made, ja.CustomerAccount)
    raw = {
        "customer_account_id": made.customer_account_id,
        "customer_id": made.customer_id,
        "account_details": {
            "bank_account": {
                "account": "026291800001191",
                "name": "n",
                "ifsc": "i",
                "juspay_bank_code": 12,
            }
        },
        "validation_status": "ACTIVE",
        "date_created": "2023-06-06T00:00:00Z",
        "currency": "INR",
        "validation_amount": "1.00",
    }
    return _fast_account_hook()(raw, ja.CustomerAccount)


def _decoded(model: type) -> object:
    """A ``model`` as the decoder hands it out (built by a subclass, then given its class)."""
    account = _decoded_account()
    details = account.account_details
    return {
        ja.CustomerAccount: account,
        ja.AccountDetails: details,
        ja.BankAccount: details.bank_account,
        ja.AccountPage: page_builder()((account,), 0, 1, 1, {}),
    }[model]


@pytest.mark.parametrize("model", MODELS)
def test_decoded_models_are_the_real_class(model: type) -> None:
    """What the decoder builds is the model itself: same type, ==, hash and repr as __init__'s."""
    made, built = _example(model), _decoded(model)
    assert model is type(built)
    assert model is built.__class__
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)
    for field in attrs.fields(model):  # type: ignore[arg-type]  # every slot was set
        assert getattr(made, field.name) == getattr(built, field.name), field.name


@pytest.mark.parametrize("model", MODELS)
def test_decoded_models_stay_frozen(model: type) -> None:
    """No field of a decoded model can be set or deleted, and no attribute added."""
    built = _decoded(model)
    name = attrs.fields(model)[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(built, name, None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        delattr(built, name)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.extra = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", MODELS)
def test_decoded_models_are_weak_referenceable_and_picklable(model: type) -> None:
    """A decoded model can be weakly referenced, pickled and copied like one made by __init__."""
    built = _decoded(model)
    assert built is weakref.ref(built)()
    unpickled = pickle.loads(pickle.dumps(built))  # noqa: S301 - our own object
    for copied in (unpickled, copy.copy(built), copy.deepcopy(built)):
        assert model is type(copied)
        assert built == copied
        assert repr(built) == repr(copied)


def test_a_field_added_to_a_model_must_be_set_by_its_builder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model with a field its fast builder does not set fails when the hook is made."""

    @attrs.frozen(kw_only=True)
    class WithMore(ja.BankAccount):
        branch: str | None = None

    monkeypatch.setattr(_converter, "BankAccount", WithMore)
    with pytest.raises(TypeError) as info:
        _fast_account_hook()
    # The builder's own name is not the point (mutmut renames it): what it must set is.
    assert str(info.value).endswith(
        "must set exactly the fields of CustomerAccount, AccountDetails, WithMore: "
        "not set: branch; not fields: none"
    )


def test_a_builder_must_give_back_the_real_class() -> None:
    """A builder storing every field but not __class__ is refused, as is a stray store."""

    def forgets_the_class(obj: Any) -> None:  # noqa: ANN401 - what a builder fills
        obj.vpa = None
        obj.bank_account = None

    with pytest.raises(TypeError, match="not set: __class__; not fields: none"):
        check_sets_fields(forgets_the_class, ja.AccountDetails)

    def stores_more(obj: Any) -> None:  # noqa: ANN401 - what a builder fills
        obj.vpa = obj.bank_account = obj.other = None
        obj.__class__ = ja.AccountDetails

    with pytest.raises(TypeError, match="not set: none; not fields: other"):
        check_sets_fields(stores_more, ja.AccountDetails)


def test_small_whole_amounts_share_one_decimal() -> None:
    """Whole amounts up to SMALL_AMOUNTS share a Decimal; beyond, each is its own, equal value."""
    hook = _fast_account_hook()
    raw = {
        "customer_account_id": "a",
        "customer_id": "c",
        "account_details": {"vpa": "x@ybl"},
        "validation_status": "ACTIVE",
        "date_created": "2023-06-06T00:00:00Z",
    }
    for amount in (0, 1, SMALL_AMOUNTS - 1, SMALL_AMOUNTS, -1, 10**11):
        first = hook(raw | {"validation_amount": amount}, ja.CustomerAccount)
        second = hook(raw | {"validation_amount": amount}, ja.CustomerAccount)
        assert decimal.Decimal(amount) == first.validation_amount
        assert type(first.validation_amount) is decimal.Decimal
        shared = first.validation_amount is second.validation_amount
        assert (0 <= amount < SMALL_AMOUNTS) == shared, amount


def test_page_builder_matches_init() -> None:
    """The decoder's page builder makes the page __init__ makes: every field, frozen headers."""
    account = _example(ja.CustomerAccount)
    answer = {"Content-Type": "application/json", "X-Request-Id": "req_7", "Link": "a"}
    built = page_builder()((account,), 5, 1, 9, answer)  # type: ignore[arg-type]
    made = ja.AccountPage(
        accounts=(account,),  # type: ignore[arg-type]
        offset=5,
        count=1,
        total=9,
        request_id="req_7",
        headers=answer,
    )
    for field in attrs.fields(ja.AccountPage):
        assert getattr(made, field.name) == getattr(built, field.name), field.name
    assert "req_7" == built.request_id
    assert "a" == built.headers["link"]  # looked up in any case
    assert type(made.headers) is type(built.headers)
    with pytest.raises(TypeError):
        built.headers["link"] = "b"  # type: ignore[index]
    assert made == built
    assert repr(made) == repr(built)
    assert ja.AccountPage is type(built)
    # What the builder applies by hand: a new converter or validator would be skipped.
    assert ["headers"] == [field.name for field in attrs.fields(ja.AccountPage) if field.converter]
    assert [] == [field.name for field in attrs.fields(ja.AccountPage) if field.validator]


def _example(model: type) -> object:
    bank = ja.BankAccount(account="026291800001191", name="n", ifsc="i", juspay_bank_code="12")
    details = ja.AccountDetails(vpa=None, bank_account=bank)
    account = ja.CustomerAccount(
        customer_account_id="banh_1",
        customer_id="c",
        account_details=details,
        validation_status=ja.ValidationStatus.ACTIVE,
        date_created=dt.datetime(2023, 6, 6, tzinfo=dt.UTC),
        currency="INR",
        validation_amount=decimal.Decimal("1.00"),
    )
    page = ja.AccountPage(accounts=(account,), offset=0, count=1, total=1)
    return {
        ja.BankAccount: bank,
        ja.AccountDetails: details,
        ja.CustomerAccount: account,
        ja.AccountPage: page,
    }[model]
