"""The models: frozen, slotted, and safe to build through their slots."""

from __future__ import annotations

import datetime as dt
import decimal

import attrs
import pytest

import juspay_accounts as ja
from juspay_accounts._converter import page_builder, slot_setters

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


@pytest.mark.parametrize("model", [ja.CustomerAccount, ja.AccountDetails, ja.BankAccount])
def test_slot_building_is_sound(model: type) -> None:
    """The fast decoder builds these through their slots: nothing in __init__ may be skipped."""
    for field in attrs.fields(model):
        assert field.validator is None, field.name
        assert field.converter is None, field.name
        assert not isinstance(field.default, attrs.Factory), field.name  # type: ignore[arg-type]
        assert field.on_setattr in (None, attrs.setters.NO_OP), field.name
    assert len(slot_setters(model)) == len(attrs.fields(model))


def test_slot_built_equals_init_built() -> None:
    """A model built through its slots equals, hashes and prints like one built by __init__."""
    made = _example(ja.CustomerAccount)
    built = object.__new__(ja.CustomerAccount)
    names = [field.name for field in attrs.fields(ja.CustomerAccount)]
    for setter, name in zip(slot_setters(ja.CustomerAccount), names, strict=True):
        setter(built, getattr(made, name))
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)


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
