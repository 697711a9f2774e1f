"""The operators' ops: reference data, trading states, firms and accounts, limits, API keys, kill
switches, busts, and read-only views of books, orders, trades and the venue's health.

Every op that changes the venue becomes one engine command sent through the engine task like an
order (`Venue.submit`): it is sequenced, recorded in the ledger with the origin
`operator:<key_id>`, and answered only after its batch is durable; a command the engine refuses
is recorded too (CommandRejected) and answered with the engine's reason. Arguments are checked
and converted here first (decimal strings to integers, as for orders), so nothing malformed
reaches the engine. Money (account notional limits, credit limits, a firm's net bought and open
buy notional) travels as decimal strings of the venue currency with up to NOTIONAL_DECIMALS
places ("2000000.00"), converted exactly to the engine's 10**-6 units. Reads are query jobs,
answered from the engine task's state after the batch in flight is durable; `list_trades`
reads the ledger's trade table; `stats` reads counters.

Modules: `base` (the op shape, sending commands and queries, arguments, logon),
`instruments`, `phases` (trading phases and daily schedules), `accounts`, `controls` (API keys, kill switches, the trading day, busts) and
`views`; this one names the ops.

A bulk listing arrives in chunks (a frame is at most `max_frame_bytes`): `import_instruments`
with `more: true` stages rows on the session under the client's `import_id`, and the last chunk
commits all of them as one `ImportInstruments` command, which the engine takes all or none. A
bad row discards the whole import (later chunks of it are refused), so a partial listing can
never be committed. Staged rows die with the session.

Access: every op here is for the operator role (ops.receive checks it), and `logon` refuses an
operator key from outside `GatewayConfig.operator_networks` (loopback by default).
"""

from __future__ import annotations

from exchange.gateway import protocol
from exchange.gateway.operators.accounts import (
    add_account,
    list_accounts,
    list_firms,
    set_account_limits,
    set_credit_limit,
    show_account,
    show_firm,
)
from exchange.gateway.operators.base import Op, logon
from exchange.gateway.operators.controls import (
    bust_trade,
    issue_key,
    list_keys,
    revoke_key,
    set_kill_switch,
    start_trading_day,
)
from exchange.gateway.operators.instruments import (
    INSTRUMENT_FIELDS,
    add_instrument,
    import_instruments,
    list_instruments,
    set_price_band,
    show_instrument,
)
from exchange.gateway.operators.phases import (
    SCHEDULE_FIELDS,
    set_phase,
    set_schedule,
    set_volatility_bands,
    show_schedule,
)
from exchange.gateway.operators.views import book, list_orders, list_trades, stats

fields = protocol.fields
LIMITS = ("max_order_qty", "max_order_notional", "max_open_orders")

ADMIN_OPS: dict[str, Op] = {
    "logon": Op(logon, None, fields=fields("api_key", "cancel_on_disconnect")),
    "add_instrument": Op(add_instrument, fields=fields(*INSTRUMENT_FIELDS, "state")),
    "import_instruments": Op(import_instruments,
                             fields=fields("import_id", "rows", "more", "total")),
    "list_instruments": Op(list_instruments, fields=fields(
        "commodity", "location", "period", "state", "limit", "cursor")),
    "show_instrument": Op(show_instrument, fields=fields("sym")),
    "set_price_band": Op(set_price_band,
                         fields=fields("sym", "reference_px", "band_ticks", "clear")),
    "set_phase": Op(set_phase, fields=fields("sym", "phase")),
    "set_schedule": Op(set_schedule, fields=fields("sym", *SCHEDULE_FIELDS, "clear")),
    "show_schedule": Op(show_schedule, fields=fields("sym")),
    "set_volatility_bands": Op(set_volatility_bands, fields=fields(
        "sym", "dynamic_ticks", "static_ticks", "call_ms")),
    "add_account": Op(add_account, fields=fields("account", "firm", *LIMITS)),
    "set_account_limits": Op(set_account_limits, fields=fields("account", *LIMITS)),
    "set_credit_limit": Op(set_credit_limit, fields=fields("firm", "credit_limit")),
    "list_firms": Op(list_firms),
    "show_firm": Op(show_firm, fields=fields("firm")),
    "list_accounts": Op(list_accounts, fields=fields("firm")),
    "show_account": Op(show_account, fields=fields("account")),
    "set_kill_switch": Op(set_kill_switch, fields=fields("scope", "name", "engaged")),
    "bust_trade": Op(bust_trade, fields=fields("trade_id", "reason")),
    "start_trading_day": Op(start_trading_day),
    "issue_key": Op(issue_key, fields=fields("role", "account")),
    "revoke_key": Op(revoke_key, fields=fields("key_id")),
    "list_keys": Op(list_keys),
    "book": Op(book, fields=fields("sym", "depth")),
    "list_orders": Op(list_orders, fields=fields("account", "firm", "sym", "closed", "limit")),
    "list_trades": Op(list_trades, fields=fields("sym", "since_us", "limit", "cursor")),
    "stats": Op(stats),
}
