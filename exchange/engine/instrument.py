"""Instruments, firms, accounts and API keys as the engine holds them, and the decimal edge of
prices.

An instrument is a standardized lot: a grade of a commodity, delivered at a place in a period.
Inside the engine its prices are integers in price units of 10**-price_decimals (currency per
unit of the commodity) and must be multiples of `tick_size`; quantities are whole lots.
Notional is money: integer micro-units (10**-6) of the venue's one currency, so that limits mean
the same on every instrument; `qty` lots at `price` are `price * qty * notional_scale`, exactly,
which is why an instrument has at most NOTIONAL_DECIMALS price decimals.

Every integer the engine computes stays inside 64 bits, by these bounds (docs/engine.md,
"Bounds"): each instrument has a price range [min_price, max_price] (explicit, or by default
one tick up to the highest price at which max_qty lots stay within MAX_ORDER_NOTIONAL), so any
one order is worth at most MAX_ORDER_NOTIONAL at any price it may trade at; and a firm's day
notional (what it traded today plus what rests, each lot at the most it may trade at) may not
pass FIRM_NOTIONAL_CAPACITY, so its net bought notional, open buy notional and credit exposure
are each below 2**63.
`parse_price` and `format_price` are the only conversions between those integers and the
decimal strings that clients see: exact, never through floats, and strict about precision.
"""

from __future__ import annotations

import re

from exchange.engine.commands import AddInstrument, IssueKey
from exchange.engine.enums import TradingState, members

INT64_MAX = 2**63 - 1
NOTIONAL_DECIMALS = 6  # notional is in 10**-6 of the currency; also the most price decimals
MAX_ORDER_NOTIONAL = 10**18  # one order, at the most it may trade at (10**12 of the currency)
FIRM_NOTIONAL_CAPACITY = 2 * 10**18  # a firm's traded-today plus resting notional, at most
# So: |net bought| <= capacity, |open buy| <= capacity, and a credit exposure (open buy + net
# bought + one order) <= 2 * capacity + MAX_ORDER_NOTIONAL = 5 * 10**18 < INT64_MAX.
KEY_ROLES = ("trader", "operator", "auditor")
_STATES = members(TradingState)


class Instrument:
    __slots__ = (
        "band",
        "band_ticks",
        "max_price",
        "max_qty",
        "min_price",
        "min_qty",
        "notional_scale",
        "reference_price",
        "spec",
        "state",
        "symbol",
        "tick_size",
        "volatility",
    )

    def __init__(self, spec: AddInstrument, price_range: tuple[int, int] | None = None) -> None:
        """An instrument listed by a validated spec; `price_range` is its spec_price_range,
        if the caller has it already (the validation found it)."""
        self.spec = spec
        self.symbol = spec.symbol
        self.tick_size = spec.tick_size
        self.min_qty = spec.min_qty
        self.max_qty = spec.max_qty
        self.state = _STATES[spec.state]  # validated: a TradingState value
        if price_range is None:
            price_range = spec_price_range(spec)
        if price_range is None:  # validation lets none through
            raise ValueError(f"{spec.symbol}: no price range")
        self.min_price, self.max_price = price_range
        # money per price unit per lot, in 10**-6 of the currency: an integer by the rule above
        self.notional_scale = notional_scale(spec.lot_size, spec.price_decimals)
        self.set_band(spec.reference_price, spec.band_ticks)
        # (dynamic_ticks, static_ticks, call_us) of SetVolatilityBands, or None: no interruptions
        self.volatility: tuple[int | None, int | None, int] | None = None

    def set_band(self, reference_price: int | None, band_ticks: int | None) -> None:
        """Set the price band (validated: the reference is in range and on a tick). Its edges
        are kept inside the price range, so they are in range however wide the band."""
        self.reference_price = reference_price
        self.band_ticks = band_ticks
        self.band = None
        if reference_price is not None and band_ticks is not None:
            width = band_ticks * self.tick_size
            self.band = (max(reference_price - width, self.min_price),
                         min(reference_price + width, self.max_price))

    def notional(self, price: int, qty: int) -> int:
        """The money `qty` lots at `price` are worth, in 10**-6 of the currency (exact)."""
        return price * qty * self.notional_scale

    def band_limits(self) -> tuple[int, int] | None:
        """(lowest, highest) price allowed by the band, or None when there is no band."""
        return self.band

    def trading_range(self) -> tuple[int, int]:
        """(lowest, highest) price an order may trade at now: the band, else the range."""
        return self.band or (self.min_price, self.max_price)

    def worst_notional(self, price: int | None, qty: int, opposite_best: int | None) -> int:
        """The most `qty` lots of an order may be worth at any price it may trade at: a limit
        order trades at its own price or, on entry, at opposite levels between the best one
        and its price; a market order anywhere in the trading range. O(1)."""
        if price is None:
            low, high = self.trading_range()
            most = max(abs(low), abs(high))
        elif opposite_best is None:
            most = abs(price)
        else:
            most = max(abs(price), abs(opposite_best))
        return most * qty * self.notional_scale

    def band_width(self, ticks: int) -> int:
        """A volatility band's half width in price units: at most the price range's width
        (wider bites nowhere more), so the edges stay 64-bit numbers."""
        return min(ticks * self.tick_size, self.max_price - self.min_price)

    def static_band(self) -> tuple[int, int] | None:
        """(lowest, highest) price a continuous trade may have around the reference price
        before it interrupts trading, or None (no static band or no reference)."""
        if self.volatility is None or self.volatility[1] is None or self.reference_price is None:
            return None
        width = self.band_width(self.volatility[1])
        return self.reference_price - width, self.reference_price + width

    def canonical(self) -> tuple:
        # the volatility settings only once set, so digests from before them stay the same
        base = (tuple(self.spec), int(self.state), self.reference_price, self.band_ticks)
        return base if self.volatility is None else (*base, self.volatility)


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


def notional_scale(lot_size: int, price_decimals: int) -> int:
    """Money (10**-6 of the currency) per price unit per lot."""
    return lot_size * 10 ** (NOTIONAL_DECIMALS - price_decimals)


def spec_price_range(spec: AddInstrument) -> tuple[int, int] | None:
    """The instrument's price range [min_price, max_price], or None if its spec allows none.

    Defaults: min_price one tick (prices are positive unless the spec says otherwise);
    max_price the highest tick at which max_qty lots are worth at most MAX_ORDER_NOTIONAL.
    Given bounds must be on a tick, ordered, and keep max_qty lots within MAX_ORDER_NOTIONAL
    at either end. Assumes the spec's other fields are valid (validation.instrument_spec).
    """
    tick = spec.tick_size
    per_price_unit = spec.max_qty * notional_scale(spec.lot_size, spec.price_decimals)
    low = tick if spec.min_price is None else spec.min_price
    high = spec.max_price
    if high is None:
        high = MAX_ORDER_NOTIONAL // per_price_unit // tick * tick
    if low % tick or high % tick or low > high:
        return None
    if max(abs(low), abs(high)) * per_price_unit > MAX_ORDER_NOTIONAL:
        return None
    return low, high


# One canonical spelling per value: ASCII digits, no leading zeros ("0.5", not "00.5"), a sign
# only for a negative value ("-0" is no price), no "+", exponent, spaces or bare point.
_DECIMAL = re.compile(r"(-?)(0|[1-9][0-9]{0,18})(?:\.([0-9]+))?", re.ASCII)


def parse_price(text: str, decimals: int) -> int:
    """Price units for a decimal string: "101.25" at 2 decimals -> 10125.

    Exact, never through floats. Fewer fractional digits than `decimals` are the same value
    ("209" and "209.5" at 2 decimals are 20900 and 20950); more are an error, even zeros
    ("1.000" at 2), never a rounding. Raises ValueError for anything but the canonical
    spelling: leading zeros ("01"), a negative zero ("-0", "-0.00"), "+", exponents, NaN,
    infinities, spaces, non-ASCII digits; and for values beyond 64 bits.
    """
    if type(decimals) is not int or not 0 <= decimals <= NOTIONAL_DECIMALS:
        raise ValueError(f"{decimals!r} price decimals: 0 to {NOTIONAL_DECIMALS}")
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
    if sign and not units:
        raise ValueError(f"price {text!r} is a negative zero")
    return -units if sign else units


def format_price(units: int, decimals: int) -> str:
    """The decimal string for price units, with exactly `decimals` fractional digits."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    if decimals == 0:
        return sign + digits
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


_LOTS = re.compile(r"0|[1-9][0-9]{0,17}", re.ASCII)


def parse_qty(text: str) -> int:
    """Whole lots from a string of ASCII digits without leading zeros ("20", not "020");
    ValueError for anything else."""
    if not isinstance(text, str) or _LOTS.fullmatch(text) is None:
        raise ValueError(f"not a whole number of lots: {text!r}")
    return int(text)


# Firms and accounts are compiled (risk.pyx: the core reads their fields as struct members);
# named here beside the instruments, where readers of the engine's state look for them.
from exchange.engine.risk import Account, Firm

__all__ = ["Account", "ApiKey", "Firm", "Instrument"]
