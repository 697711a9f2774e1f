"""An order at an extreme price is refused with a code and the venue goes on trading (the field
report: one such order once stopped the venue, and again after every restart); an operator
may open an instrument to zero and negative prices with an explicit price range."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.client import ExchangeError
from tests.gateway.conftest import WHEAT, open_venue


async def test_an_order_at_the_largest_price_is_refused_and_the_venue_goes_on(
        tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    async with open_venue(path) as venue:
        buyer = await venue.client("AGRO-1")
        seller = await venue.client("MILL-1")
        for client, side in ((seller, "SELL"), (buyer, "BUY")):
            with pytest.raises(ExchangeError) as refused:
                await client.new_order(WHEAT, side, "100", "92233720368547758.00")
            assert refused.value.code == "PRICE_OUT_OF_RANGE"
        await seller.new_order(WHEAT, "SELL", "5", "210.00")
        await buyer.new_order(WHEAT, "BUY", "5", "210.00", cl_ord_id="b1")
        status = await buyer.order_status(cl_ord_id="b1", account="AGRO-1")
        assert status["ord_status"] == "FILLED"
    async with open_venue(path) as again:  # and it restarts
        client = await again.client("AGRO-1")
        await client.new_order(WHEAT, "BUY", "1", "200.00")


async def test_an_operator_allows_negative_prices_with_an_explicit_range(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await venue.client("operator")
        await admin.request(
            "add_instrument", sym="POWER-X", commodity="power", grade="base", location="DE",
            delivery_period="2027-01", unit="MWh", lot_size="1", tick="0.01",
            price_decimals="2", min_px="-500.00", max_px="3000.00")
        listed = await admin.request("list_instruments")
        view = next(i for i in listed["instruments"] if i["sym"] == "POWER-X")
        assert (view["min_px"], view["max_px"]) == ("-500.00", "3000.00")
        trader = await venue.client("AGRO-1")
        await trader.new_order("POWER-X", "SELL", "5", "-12.50")
        with pytest.raises(ExchangeError) as refused:
            await trader.new_order("POWER-X", "SELL", "5", "-500.01")
        assert refused.value.code == "PRICE_OUT_OF_RANGE"
        with pytest.raises(ExchangeError) as bad_spec:
            await admin.request(
                "add_instrument", sym="POWER-Y", commodity="power", grade="base",
                location="DE", delivery_period="2027-01", unit="MWh", lot_size="1",
                tick="0.01", price_decimals="2", max_px="92233720368547758.00")
        assert bad_spec.value.code == "INVALID_INSTRUMENT_SPEC"


async def test_an_absurd_number_of_price_decimals_is_a_bad_request(tmp_path: Path) -> None:
    # it once made the gateway pad a price with 10**11 zeros
    async with open_venue(tmp_path / "l.db") as venue:
        admin = await venue.client("operator")
        with pytest.raises(ExchangeError) as refused:
            await admin.request(
                "add_instrument", sym="ODD-1", commodity="c", grade="g", location="l",
                delivery_period="p", unit="t", lot_size="1", tick="1",
                price_decimals="99999999999")
        assert refused.value.code == "BAD_REQUEST"
        assert (await admin.request("list_instruments"))["instruments"]
