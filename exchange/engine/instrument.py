"""Instruments, firms, accounts and API keys as the engine holds them, and the decimal edge of
prices.

An instrument is a standardized lot: a grade of a commodity, delivered at a place in a period.
Inside the engine its prices are integers in price units of 10**-price_decimals (currency per
unit of the commodity) and must be multiples of `tick_size`; quantities are whole lots.
Notional is money: integer micro-units (10**-6) of the venue's one currency, so that limits mean
the same on every instrument; `qty` lots at `price` are `price * qty * notional_scale`, exactly,
which is why an instrument has at most NOTIONAL_DECIMALS price decimals.
`parse_price` and `format_price` are the only conversions between those integers and the
decimal strings that clients see: exact, never through floats, and strict about precision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from exchange.engine.commands import AddAccount, AddInstrument, IssueKey
from exchange.engine.enums import TradingState, members

if TYPE_CHECKING:
    from exchange.engine.book import Order

INT64_MAX = 2**63 - 1
NOTIONAL_DECIMALS = 6  # notional is in 10**-6 of the currency; also the most price decimals
KEY_ROLES = ("trader", "operator", "auditor")
_STATES = members(TradingState)


class Instrument:
    __slots__ = (
        "band_ticks",
        "max_qty",
        "min_qty",
        "notional_scale",
        "reference_price",
        "spec",
        "state",
        "symbol",
        "tick_size",
    )

    def __init__(self, spec: AddInstrument) -> None:
        self.spec = spec
        self.symbol = spec.symbol
        self.tick_size = spec.tick_size
        self.min_qty = spec.min_qty
        self.max_qty = spec.max_qty
        self.state = _STATES[spec.state]  # validated: a TradingState value
        self.reference_price = spec.reference_price
        self.band_ticks = spec.band_ticks
        if not 0 <= spec.price_decimals <= NOTIONAL_DECIMALS:  # validation lets none through
            raise ValueError(f"{spec.symbol}: {spec.price_decimals} price decimals")
        # money per price unit per lot, in 10**-6 of the currency: an integer by the rule above
        self.notional_scale = spec.lot_size * 10 ** (NOTIONAL_DECIMALS - spec.price_decimals)

    def notional(self, price: int, qty: int) -> int:
        """The money `qty` lots at `price` are worth, in 10**-6 of the currency (exact)."""
        return price * qty * self.notional_scale

    def band_limits(self) -> tuple[int, int] | None:
        """(lowest, highest) price allowed by the band, or None when there is no band."""
        if self.reference_price is None or self.band_ticks is None:
            return None
        width = self.band_ticks * self.tick_size
        return self.reference_price - width, self.reference_price + width

    def canonical(self) -> tuple:
        return (tuple(self.spec), int(self.state), self.reference_price, self.band_ticks)


class Account:
    """A trading account of a firm, its limits, and its live orders (in no particular order)."""

    __slots__ = (
        "account",
        "blocked",
        "firm",
        "live_cl_ord_ids",
        "max_open_orders",
        "max_order_notional",
        "max_order_qty",
        "open_orders",
    )

    def __init__(self, spec: AddAccount) -> None:
        self.account = spec.account
        self.firm = spec.firm
        self.max_order_qty = spec.max_order_qty
        self.max_order_notional = spec.max_order_notional
        self.max_open_orders = spec.max_open_orders
        self.open_orders: dict[int, Order] = {}
        self.live_cl_ord_ids: dict[str, int] = {}  # cl_ord_id -> order_id
        self.blocked = False  # kill switch

    def canonical(self) -> tuple:
        return (self.account, self.firm, self.max_order_qty, self.max_order_notional,
                self.max_open_orders, self.blocked)


class ApiKey:
    """An API key the gateway accepts while it is not revoked: who it speaks for, and the salted
    hash of its secret (never the secret)."""

    __slots__ = ("account", "key_id", "revoked", "role", "salt", "secret_hash")

    def __init__(self, spec: IssueKey) -> None:
        self.key_id = spec.key_id
        self.role = spec.role
        self.account = spec.account  # a trader key's account; None for other roles
        self.salt = spec.salt
        self.secret_hash = spec.secret_hash
        self.revoked = False

    def canonical(self) -> tuple:
        return (self.key_id, self.role, self.account, self.salt, self.secret_hash, self.revoked)


class Firm:
    """A member firm: its accounts, credit limit, kill switch, and the day's net bought notional
    (bought minus sold since the trading day started). Notionals and the credit limit are in
    10**-6 of the currency, over all instruments."""

    __slots__ = ("accounts", "blocked", "credit_limit", "name", "net_bought")

    def __init__(self, name: str) -> None:
        self.name = name
        self.accounts: list[Account] = []
        self.credit_limit: int | None = None
        self.net_bought = 0
        self.blocked = False

    def open_buy_notional(self, instruments: Mapping[str, Instrument]) -> int:
        """Sum of the notional of the leaves of the firm's resting buy orders, each at its own
        instrument's scale. O(its open orders)."""
        return sum(
            # resting orders are limit orders: their price is never None
            (order.price or 0) * order.leaves * instruments[order.symbol].notional_scale
            for account in self.accounts
            for order in account.open_orders.values()
            if order.side == 1
        )

    def canonical(self) -> tuple:
        return (self.name, self.credit_limit, self.net_bought, self.blocked)


_DECIMAL = re.compile(r"(-?)(\d{1,19})(?:\.(\d+))?", re.ASCII)


def parse_price(text: str, decimals: int) -> int:
    """Price units for a decimal string: "101.25" at 2 decimals -> 10125.

    Raises ValueError for anything but a plain decimal (ASCII digits only: no exponent, NaN, infinity, spaces or
    '+') and for more fractional digits than `decimals`, even zeros: "1.000" at 2 is an error,
    not a rounding.
    """
    match = _DECIMAL.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a decimal price: {text!r}")
    sign, whole, fraction = match.groups()
    fraction = fraction or ""
    if len(fraction) > decimals:
        raise ValueError(f"price {text!r} has more than {decimals} decimals")
    units = int(whole + fraction.ljust(decimals, "0"))
    if units > INT64_MAX:
        raise ValueError(f"price {text!r} is out of range")
    return -units if sign else units


def format_price(units: int, decimals: int) -> str:
    """The decimal string for price units, with exactly `decimals` fractional digits."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    if decimals == 0:
        return sign + digits
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


_LOTS = re.compile(r"\d{1,18}", re.ASCII)


def parse_qty(text: str) -> int:
    """Whole lots from a decimal string of digits ("20"); ValueError for anything else."""
    if not isinstance(text, str) or _LOTS.fullmatch(text) is None:
        raise ValueError(f"not a whole number of lots: {text!r}")
    return int(text)
