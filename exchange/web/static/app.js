// The live market page: a client of the venue's websocket API (docs/protocol.md), like any other.
// No build step, no libraries: one connection to the host the page came from, JSON subprotocol.
//
// State flows one way: pushes and answers update plain objects (market, book, me), which mark the
// screen dirty; one animation frame redraws what is dirty. Prices stay the venue's decimal
// strings; comparisons and spreads use BigInt price units (the string without its point), so
// nothing is ever rounded. The book is checked against every message's CRC32 checksum and
// subscribed again on a gap or a mismatch, as the protocol asks.
"use strict";

const SUBPROTOCOL = "exchange.json.v1";
const LADDER_DEPTH = 12;
const BOOK_DEPTH = 50; // the levels a side the page follows (ladder and depth chart)
const TAPE_ROWS = 60;
const LIST_SHOWN = 300;
const RECONNECT_MS = 2000;
const TICKER_MS = 15000;
const INTERVAL_S = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400 };

// -- helpers ---------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "data") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

/** Price units of a wire price ("210.25" at 2 decimals -> 21025n): exact, no floats. */
function units(px) {
  return BigInt(px.replace(".", ""));
}

function formatUnits(value, decimals) {
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  if (decimals > 0) digits = digits.slice(0, -decimals) + "." + digits.slice(-decimals);
  return (negative ? "-" : "") + digits;
}

function clock(tsUs, withDate = false) {
  const text = new Date(Number(tsUs) / 1000).toISOString();
  return withDate ? text.slice(0, 23).replace("T", " ") : text.slice(11, 23);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** zlib's CRC32 of an ASCII string (the book checksum, docs/protocol.md). */
function crc32(text) {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// -- the connection --------------------------------------------------------------------------

class Venue {
  /** One websocket to the venue: request(op, args) -> result (or throws {code, msg}). */
  constructor(url, onPush, onState) {
    this.url = url;
    this.onPush = onPush;
    this.onState = onState;
    this.nextId = 1;
    this.waiting = new Map();
    this.ws = null;
  }

  open() {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.url, [SUBPROTOCOL]);
      this.ws = ws;
      ws.onopen = () => { this.onState("open"); resolve(); };
      ws.onmessage = (event) => this.receive(JSON.parse(event.data));
      ws.onclose = (event) => {
        for (const { reject } of this.waiting.values()) reject({ code: "CLOSED", msg: event.reason });
        this.waiting.clear();
        this.onState("closed", event.code, event.reason);
        resolve();
      };
    });
  }

  get isOpen() { return this.ws !== null && this.ws.readyState === WebSocket.OPEN; }

  receive(message) {
    if (message.ch !== undefined) { this.onPush(message); return; }
    const pending = this.waiting.get(message.id);
    if (pending === undefined) return;
    this.waiting.delete(message.id);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(message.error);
  }

  request(op, args = {}) {
    if (!this.isOpen) return Promise.reject({ code: "CLOSED", msg: "not connected" });
    const id = `w${this.nextId++}`;
    const clean = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== null && v !== undefined && v !== ""));
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ op, id, args: clean }));
    });
  }
}

// -- the book --------------------------------------------------------------------------------

class Book {
  /** One instrument's book from snapshot + deltas; `synced` false after a gap or bad checksum. */
  constructor(sym) {
    this.sym = sym;
    this.bids = new Map(); // px -> qty (wire strings)
    this.asks = new Map();
    this.seq = null;
    this.checked = 0;
  }

  get synced() { return this.seq !== null; }

  apply(message) {
    if (message.type === "snapshot") {
      this.bids = new Map(message.bids);
      this.asks = new Map(message.asks);
    } else if (message.type === "delta") {
      if (this.seq === null) return true; // the snapshot will cover it
      if (message.first_seq !== this.seq + 1) { this.seq = null; return false; }
      for (const [side, px, qty] of message.changes) {
        const levels = side === "bid" ? this.bids : this.asks;
        if (qty === "0") levels.delete(px); else levels.set(px, qty);
      }
    } else {
      return true;
    }
    this.seq = message.seq;
    if (this.checksum() !== message.checksum) { this.seq = null; return false; }
    this.checked += 1;
    return true;
  }

  /** [[px, qty], ...] best first. */
  levels(isBid, depth = Infinity) {
    const entries = [...(isBid ? this.bids : this.asks).entries()];
    entries.sort((a, b) => {
      const d = units(a[0]) - units(b[0]);
      return (d < 0n ? -1 : d > 0n ? 1 : 0) * (isBid ? -1 : 1);
    });
    return entries.slice(0, depth);
  }

  checksum() {
    const side = (isBid) => this.levels(isBid, 10).map(([px, qty]) => `${px}:${qty}`).join(",");
    return crc32(`${side(false)}|${side(true)}`);
  }
}

// -- page state ------------------------------------------------------------------------------

const page = {
  venue: null,
  key: null,          // the pasted API key, kept in memory only (never stored)
  me: null,           // logon result
  specs: new Map(),   // sym -> instrument (those the page has seen)
  listed: [],         // the symbols the list shows (a big venue: the server's search answer)
  bigVenue: false,    // more instruments than one page: search on the server
  searchDue: null,
  sym: null,          // the instrument shown
  book: null,
  bbo: null,
  trades: [],         // the shown instrument's trades, newest first
  candles: null,      // {interval, list, asOfTrade} from the venue's `candles` op, or null
  ticker: null,       // the venue's 24 h `ticker` for the shown instrument
  tickerDue: null,
  lastPx: new Map(),
  orders: new Map(),  // own open orders by order_id
  fills: [],          // own fills, newest first
  execSeq: 0,
  dirty: new Set(),
};

function mark(...parts) {
  const idle = page.dirty.size === 0;
  parts.forEach((part) => page.dirty.add(part));
  if (idle) requestAnimationFrame(draw);
}

function notice(text) {
  const box = $("notice");
  box.hidden = !text;
  box.textContent = text || "";
}

function orderMessage(text, kind = "") {
  const line = $("order-message");
  line.textContent = text;
  line.className = kind || "muted";
}

// -- talking to the venue --------------------------------------------------------------------

/** The API: where the page came from, or the port the venue names when the page is served
 *  on a port of its own (`exchange serve --http-port`), on the same host. */
function wsUrl() {
  const apiPort = document.querySelector('meta[name="exchange-api-port"]')?.content;
  const host = apiPort ? `${location.hostname}:${apiPort}` : location.host;
  return `${location.protocol === "https:" ? "wss" : "ws"}://${host}/`;
}

async function connect() {
  page.venue = new Venue(wsUrl(), onPush, onConnection);
  await page.venue.open();
  if (!page.venue.isOpen) return;
  if (page.key) await logon(page.key, true);
  else await loadMarket();
}

function onConnection(state, code, reason) {
  const badge = $("connection");
  if (state === "open") {
    badge.textContent = "connected";
    badge.className = "badge ok";
    return;
  }
  badge.textContent = `disconnected (${code}${reason ? " " + reason : ""})`;
  badge.className = "badge bad";
  page.book = null;
  mark("book");
  if (code === 1008 && reason === "API key revoked") {
    page.key = null;
    page.me = null;
    notice("Your API key was revoked: paste another to go on.");
  }
  setTimeout(connect, RECONNECT_MS);
}

async function loadMarket() {
  let listed;
  try {
    listed = await page.venue.request("instruments");
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") {
      notice("This venue shows its market after a logon: paste an API key above.");
      return;
    }
    throw error;
  }
  notice("");
  page.specs = new Map(listed.instruments.map((spec) => [spec.sym, spec]));
  page.listed = listed.instruments.map((spec) => spec.sym);
  page.bigVenue = listed.next_cursor !== null && listed.next_cursor !== undefined;
  mark("list");
  const wanted = page.sym && page.specs.has(page.sym) ? page.sym : listed.instruments[0]?.sym;
  if (wanted) await show(wanted, true);
}

async function logon(key, again = false) {
  try {
    page.me = await page.venue.request("logon", { api_key: key });
  } catch (error) {
    page.me = null;
    notice(`Logon refused: ${error.msg || error.code}`);
    mark("who");
    return;
  }
  page.key = key;
  notice("");
  mark("who", "orders", "fills");
  await loadMarket();
  if (page.me.role === "trader") {
    if (!again) { page.orders.clear(); page.fills = []; page.execSeq = 0; }
    // every report from the account's first (or from the last one seen, after a reconnect)
    await page.venue.request("subscribe", { ch: "exec", resume_from_exec_seq: page.execSeq });
  }
}

async function show(sym, resubscribe = false) {
  const venue = page.venue;
  if (page.sym && page.sym !== sym && venue.isOpen) {
    for (const ch of ["book", "trades", "bbo"]) venue.request("unsubscribe", { ch, sym: page.sym, depth: ch === "book" ? BOOK_DEPTH : undefined }).catch(() => {});
  }
  if (page.sym !== sym) { page.trades = []; page.bbo = null; page.candles = null; page.ticker = null; }
  page.sym = sym;
  page.book = new Book(sym);
  const spec = page.specs.get(sym);
  if (spec && !$("order-px").value) $("order-px").value = spec.reference_px || "";
  mark("list", "title", "book", "tape", "candles", "orders");
  if (!resubscribe && !venue.isOpen) return;
  for (const ch of ["book", "trades", "bbo"]) {
    try {
      await venue.request("subscribe", ch === "book" ? { ch, sym, depth: BOOK_DEPTH } : { ch, sym });
    } catch (error) {
      notice(`subscribe ${ch}: ${error.code} ${error.msg || ""}`);
    }
  }
  await Promise.all([loadRecentTrades(sym), loadCandles(sym), loadTicker(sym)]);
}

/** The latest trades from the venue's history (public), under the live ones already seen. */
async function loadRecentTrades(sym) {
  try {
    const recent = await page.venue.request("trades_history", { sym, limit: 100 });
    if (page.sym !== sym) return;
    const seen = new Set(page.trades.map((t) => t.trade_id));
    const older = recent.trades.filter((t) => !t.busted && !seen.has(t.trade_id)).reverse();
    page.trades = [...page.trades, ...older].sort((p, q) => Number(q.trade_id) - Number(p.trade_id));
    if (page.trades.length) page.lastPx.set(sym, page.lastPx.get(sym) || page.trades[0].px);
    mark("tape", "title");
  } catch (error) {
    if (error.code !== "UNKNOWN_OP") throw error; // an older venue: live trades only
  }
}

/** Candles from the venue; trades pushed after its answer are added on the page. */
async function loadCandles(sym) {
  const interval = $("candle-interval").value;
  try {
    const answer = await page.venue.request("candles", { sym, interval, limit: 60 });
    if (page.sym !== sym) return;
    // every trade pushed so far was durable, so the venue's candles hold it already
    const asOfTrade = Math.max(0, ...page.trades.map((t) => Number(t.trade_id)));
    page.candles = { interval, asOfTrade, list: answer.candles.map((c) => ({
      start: c.start_us / 1e6, open: Number(c.open), high: Number(c.high), low: Number(c.low),
      close: Number(c.close), volume: Number(c.volume) })) };
  } catch (error) {
    if (error.code !== "UNKNOWN_OP") throw error;
    page.candles = null;
  }
  mark("candles");
}

async function loadTicker(sym) {
  try {
    const ticker = await page.venue.request("ticker", { sym });
    if (page.sym === sym) { page.ticker = ticker; mark("title"); }
  } catch (error) {
    if (error.code !== "UNKNOWN_OP" && error.code !== "RATE_LIMITED") throw error;
  }
}

function onPush(message) {
  switch (message.ch) {
    case "book":
      if (!page.book || message.sym !== page.book.sym) return;
      if (message.type === "resync_required" || !page.book.apply(message)) {
        page.book = new Book(message.sym);
        page.venue.request("subscribe", { ch: "book", sym: message.sym, depth: BOOK_DEPTH }).catch(() => {});
      }
      mark("book");
      break;
    case "trades":
      for (const trade of message.trades) {
        page.lastPx.set(message.sym, trade.px);
        if (message.sym === page.sym) page.trades.unshift(trade);
      }
      page.trades.length = Math.min(page.trades.length, 5000);
      mark("tape", "candles", "title");
      if (message.sym === page.sym && !page.tickerDue) { // the 24 h figures, once the burst is over
        page.tickerDue = setTimeout(() => { page.tickerDue = null; loadTicker(page.sym); }, 500);
      }
      break;
    case "bbo":
      if (message.sym === page.sym) { page.bbo = message; mark("title"); }
      break;
    case "exec":
      onReport(message);
      break;
    default:
      break; // heartbeat and channels this page does not know: ignored, as the protocol asks
  }
}

const TERMINAL = new Set(["FILLED", "CANCELED", "REJECTED", "EXPIRED"]);

function onReport(report) {
  page.execSeq = Math.max(page.execSeq, report.exec_seq);
  if (report.order_id !== null) {
    if (TERMINAL.has(report.ord_status)) page.orders.delete(report.order_id);
    else page.orders.set(report.order_id, report);
  }
  if (report.exec_type === "TRADE") page.fills.unshift(report);
  if (report.exec_type === "TRADE_CANCEL") {
    const fill = page.fills.find((f) => f.trade_id === report.trade_id);
    if (fill) fill.busted = true;
  }
  mark("orders", "fills", "book");
}

// -- actions from the page -------------------------------------------------------------------

async function placeOrder(event) {
  event.preventDefault();
  const spec = page.specs.get(page.sym);
  if (!spec || !page.me) return;
  const market = $("order-type").value === "MARKET";
  const tif = market ? ($("order-tif").value === "FOK" ? "FOK" : "IOC") : $("order-tif").value;
  const args = {
    cl_ord_id: `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    sym: spec.sym,
    side: document.querySelector("input[name=side]:checked").value,
    qty: $("order-qty").value.trim(),
    ord_type: market ? "MARKET" : "LIMIT",
    px: market ? null : $("order-px").value.trim(),
    tif,
    post_only: $("order-post-only").checked || null,
    display_qty: $("order-display").value.trim() || null,
  };
  if (tif === "GTD") {
    const minutes = Number($("order-expire").value);
    args.expire_at_us = (Date.now() + Math.round(minutes * 60000)) * 1000;
  }
  orderMessage("sending…");
  try {
    const order = await page.venue.request("new_order", args);
    orderMessage(`#${order.order_id} ${order.side} ${order.order_qty} @ ${order.px ?? "MKT"}: ` +
                 `${order.ord_status}, filled ${order.cum_qty}`, "ok");
  } catch (error) {
    orderMessage(`${error.code}: ${error.msg || ""}`, "error");
  }
}

async function cancelOrder(orderId) {
  try {
    const order = await page.venue.request("cancel_order", { order_id: orderId });
    orderMessage(`#${order.order_id} ${order.ord_status}`, "ok");
  } catch (error) {
    orderMessage(`cancel #${orderId}: ${error.code}: ${error.msg || ""}`, "error");
  }
}

async function cancelAll() {
  try {
    const result = await page.venue.request("mass_cancel", { sym: page.sym });
    orderMessage(`canceled ${result.count} orders on ${page.sym}`, "ok");
  } catch (error) {
    orderMessage(`${error.code}: ${error.msg || ""}`, "error");
  }
}

// -- drawing ---------------------------------------------------------------------------------

function draw() {
  const parts = page.dirty;
  page.dirty = new Set();
  if (parts.has("who")) drawWho();
  if (parts.has("list")) drawList();
  if (parts.has("title")) drawTitle();
  if (parts.has("book")) { drawLadder(); drawDepth(); drawTitle(); }
  if (parts.has("tape")) drawTape();
  if (parts.has("candles")) drawCandles();
  if (parts.has("orders")) drawOrders();
  if (parts.has("fills")) drawFills();
}

function drawWho() {
  const me = page.me;
  $("who").textContent = me ? `${me.role}${me.account ? " " + me.account : ""}${me.firm ? " (" + me.firm + ")" : ""}` : "";
  $("account").textContent = me && me.account ? `as ${me.account}` : "";
  const trader = Boolean(me && me.role === "trader");
  $("order-submit").disabled = !trader;
  $("cancel-all").disabled = !trader;
  if (!trader) orderMessage(me ? `a ${me.role} key: order entry needs a trader key` : "log on with a trader key to trade");
  else orderMessage("ready");
}

function matches(spec, words) {
  const text = `${spec.sym} ${spec.commodity} ${spec.grade} ${spec.location} ${spec.delivery_period}`.toLowerCase();
  return words.every((word) => text.includes(word));
}

/** A big venue's list comes from the server's `instruments` search, one page of it. */
async function searchVenue() {
  const search = $("search").value.trim();
  const answer = await page.venue.request("instruments", { search, limit: LIST_SHOWN });
  for (const spec of answer.instruments) page.specs.set(spec.sym, spec);
  page.listed = answer.instruments.map((spec) => spec.sym);
  page.moreListed = answer.next_cursor !== null;
  mark("list");
}

function onSearch() {
  if (!page.bigVenue) { mark("list"); return; }
  clearTimeout(page.searchDue);
  page.searchDue = setTimeout(() => searchVenue().catch((error) => notice(`search: ${error.code}`)), 250);
}

function drawList() {
  const words = $("search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const found = page.listed.map((sym) => page.specs.get(sym)).filter((spec) => spec && matches(spec, words));
  const list = $("instrument-list");
  list.replaceChildren(...found.slice(0, LIST_SHOWN).map((spec) => el("li", {
    class: "instrument" + (spec.sym === page.sym ? " selected" : ""), data: { sym: spec.sym },
    onclick: () => show(spec.sym),
  }, el("span", { class: "sym" }, spec.sym),
     el("span", { class: "desc" }, `${spec.commodity}, ${spec.grade}, ${spec.location}, ${spec.delivery_period} · ${spec.state}`))));
  const shown = Math.min(found.length, LIST_SHOWN);
  $("instrument-count").textContent = page.bigVenue
    ? `first ${shown} found (search to narrow)` : shown < found.length ? `${shown} of ${found.length}` : `${found.length}`;
}

function drawTitle() {
  const spec = page.specs.get(page.sym);
  if (!spec) return;
  $("sym").textContent = spec.sym;
  $("state").textContent = spec.state;
  $("description").textContent = `${spec.commodity}, ${spec.grade}, ${spec.location}, ${spec.delivery_period} · lot ${spec.lot_size} ${spec.unit} · tick ${spec.tick}`;
  const book = page.book;
  const bid = book ? book.levels(true, 1)[0] : undefined;
  const ask = book ? book.levels(false, 1)[0] : undefined;
  $("bid").textContent = bid ? `${bid[0]} × ${bid[1]}` : "-";
  $("ask").textContent = ask ? `${ask[0]} × ${ask[1]}` : "-";
  if (bid && ask) {
    const spread = units(ask[0]) - units(bid[0]);
    const ticks = spread / units(spec.tick);
    $("spread").textContent = `${formatUnits(spread, spec.price_decimals)} (${ticks} ticks)`;
  } else {
    $("spread").textContent = "-";
  }
  $("last").textContent = page.lastPx.get(spec.sym) || "-";
  const day = page.ticker;
  $("day").textContent = day && day.last !== null
    ? `${day.change.startsWith("-") ? "" : "+"}${day.change} · high ${day.high} · low ${day.low} · vol ${day.volume} · vwap ${day.vwap}`
    : "-";
  $("book-status").textContent = book && book.synced ? `seq ${book.seq} · checksum ok` : "syncing…";
}

function ownAt(side, px) {
  let total = 0n;
  for (const order of page.orders.values()) {
    if (order.sym === page.sym && order.side === side && order.px === px) total += BigInt(order.leaves_qty);
  }
  return total ? total.toString() : "";
}

function ladderRow(kind, px, qty, most) {
  const bar = el("span", { class: "bar" });
  bar.style.width = `${Math.max(2, Math.round(100 * Number(qty) / most))}%`;
  const pick = () => { $("order-px").value = px; };
  const side = kind === "bid" ? "BUY" : "SELL";
  const mine = ownAt(side, px);
  const qtyCell = el("td", { class: "qty" }, bar, qty);
  const cells = kind === "bid"
    ? [el("td", { class: "mine" }, mine), qtyCell, el("td", { class: "px" }, px), el("td"), el("td")]
    : [el("td"), el("td"), el("td", { class: "px" }, px), qtyCell, el("td", { class: "mine" }, mine)];
  return el("tr", { class: kind, data: { side: kind, px, qty }, onclick: pick }, ...cells);
}

function drawLadder() {
  const body = $("ladder").tBodies[0];
  const book = page.book;
  if (!book || !book.synced) { body.replaceChildren(el("tr", {}, el("td", { colSpan: 5 }, "…"))); return; }
  const asks = book.levels(false, LADDER_DEPTH);
  const bids = book.levels(true, LADDER_DEPTH);
  const most = Math.max(1, ...asks.map(([, q]) => Number(q)), ...bids.map(([, q]) => Number(q)));
  const rows = asks.slice().reverse().map(([px, qty]) => ladderRow("ask", px, qty, most));
  rows.push(el("tr", { class: "spread" }, el("td", { colSpan: 5 }, asks.length || bids.length ? $("spread").textContent : "empty book")));
  rows.push(...bids.map(([px, qty]) => ladderRow("bid", px, qty, most)));
  body.replaceChildren(...rows);
}

function canvasContext(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.height / (canvas.dataset.ratio || 1);
  canvas.dataset.ratio = ratio;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  context.clearRect(0, 0, width, height);
  context.font = "11px system-ui, sans-serif";
  return [context, width, height];
}

function drawDepth() {
  const [ctx, width, height] = canvasContext($("depth"));
  const book = page.book;
  if (!book || !book.synced) return;
  const bids = book.levels(true, 50);
  const asks = book.levels(false, 50);
  if (!bids.length && !asks.length) { ctx.fillStyle = "#7d8896"; ctx.fillText("no orders", 10, 20); return; }
  // cumulative quantity away from the touch; numbers here only place pixels
  const cumulative = (levels) => { let sum = 0; return levels.map(([px, qty]) => [Number(px), (sum += Number(qty))]); };
  const b = cumulative(bids), a = cumulative(asks);
  const prices = [...b, ...a].map(([px]) => px);
  let low = Math.min(...prices), high = Math.max(...prices);
  const pad = Math.max((high - low) * 0.15, Number(page.specs.get(page.sym)?.tick || 1) * 4);
  low -= pad; high += pad;
  const top = Math.max(...b.map(([, q]) => q), ...a.map(([, q]) => q), 1) * 1.1;
  const left = 4, bottom = height - 16;
  const x = (px) => left + (width - 2 * left) * (px - low) / (high - low);
  const y = (q) => bottom - (bottom - 16) * q / top;
  const area = (points, edge, color) => {
    if (!points.length) return;
    ctx.beginPath();
    ctx.moveTo(x(points[0][0]), y(0));
    let level = y(0);
    for (const [px, q] of points) { ctx.lineTo(x(px), level); level = y(q); ctx.lineTo(x(px), level); }
    ctx.lineTo(x(edge), level);
    ctx.lineTo(x(edge), y(0));
    ctx.closePath();
    ctx.fillStyle = color + "33"; ctx.fill();
    ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.stroke();
  };
  area(b, low, "#3fb950");
  area(a, high, "#f85149");
  ctx.fillStyle = "#7d8896";
  const label = (text, px, toLeft) => { // the best bid's price left of its edge, the ask's right
    const w = ctx.measureText(text).width;
    ctx.fillText(text, Math.min(width - w - 2, Math.max(2, toLeft ? x(px) - w - 3 : x(px) + 3)), height - 3);
  };
  if (bids.length) label(bids[0][0], Number(bids[0][0]), true);
  if (asks.length) label(asks[0][0], Number(asks[0][0]), false);
  ctx.fillText(`${Math.max(...b.map(([, q]) => q), ...a.map(([, q]) => q))} lots`, 4, 12);
}

function drawTape() {
  const body = $("tape").tBodies[0];
  body.replaceChildren(...page.trades.slice(0, TAPE_ROWS).map((trade) => el("tr", { data: { tradeId: trade.trade_id } },
    el("td", {}, clock(trade.ts_us)), el("td", { class: `side-${trade.aggressor_side}` }, trade.aggressor_side),
    el("td", {}, trade.qty), el("td", {}, trade.px))));
}

/** OHLCV per `seconds` bucket: the venue's candles, plus the trades pushed after them (oldest first). */
function candles(trades, seconds, base) {
  const buckets = new Map((base ? base.list : []).map((c) => [c.start, { ...c }]));
  const after = base ? base.asOfTrade : 0;
  for (let i = trades.length - 1; i >= 0; i--) {
    const trade = trades[i];
    if (Number(trade.trade_id) <= after) continue;
    const start = Math.floor(Number(trade.ts_us) / 1e6 / seconds) * seconds;
    const px = Number(trade.px);
    const candle = buckets.get(start);
    if (!candle) buckets.set(start, { start, open: px, high: px, low: px, close: px, volume: Number(trade.qty) });
    else { candle.high = Math.max(candle.high, px); candle.low = Math.min(candle.low, px); candle.close = px; candle.volume += Number(trade.qty); }
  }
  return [...buckets.values()].sort((p, q) => p.start - q.start);
}

function drawCandles() {
  const [ctx, width, height] = canvasContext($("candles"));
  const interval = $("candle-interval").value;
  const base = page.candles && page.candles.interval === interval ? page.candles : null;
  const shown = candles(page.trades, INTERVAL_S[interval], base).slice(-40);
  $("candle-source").textContent = base ? "from the venue's trades (busts left out)" : "from the trades seen since this page opened";
  if (!shown.length) { ctx.fillStyle = "#7d8896"; ctx.fillText("no trades yet", 10, 20); return; }
  let low = Math.min(...shown.map((c) => c.low)), high = Math.max(...shown.map((c) => c.high));
  const tick = Number(page.specs.get(page.sym)?.tick || 1);
  if (high - low < 4 * tick) { const mid = (high + low) / 2; low = mid - 2 * tick; high = mid + 2 * tick; }
  const volumeTop = Math.max(...shown.map((c) => c.volume));
  const slot = (width - 50) / 40;
  const y = (px) => 10 + (height - 60) * (high - px) / (high - low);
  shown.forEach((c, n) => {
    const x = 45 + n * slot + slot / 2;
    const color = c.close >= c.open ? "#3fb950" : "#f85149";
    ctx.strokeStyle = color; ctx.fillStyle = color;
    ctx.beginPath(); ctx.moveTo(x, y(c.high)); ctx.lineTo(x, y(c.low)); ctx.stroke();
    const top = y(Math.max(c.open, c.close));
    ctx.fillRect(x - slot * 0.35, top, slot * 0.7, Math.max(1, y(Math.min(c.open, c.close)) - top));
    ctx.globalAlpha = 0.35;
    const bar = 36 * c.volume / volumeTop;
    ctx.fillRect(x - slot * 0.35, height - 4 - bar, slot * 0.7, bar);
    ctx.globalAlpha = 1;
  });
  ctx.fillStyle = "#7d8896";
  const decimals = page.specs.get(page.sym)?.price_decimals ?? 2;
  ctx.fillText(high.toFixed(decimals), 2, 14);
  ctx.fillText(low.toFixed(decimals), 2, height - 50);
  ctx.fillText(clock(shown[0].start * 1e6).slice(0, 5), 45, height - 44);
}

function drawOrders() {
  const body = $("orders").tBodies[0];
  const orders = [...page.orders.values()].sort((p, q) => Number(p.order_id) - Number(q.order_id));
  body.replaceChildren(...orders.map((order) => el("tr", { data: { orderId: order.order_id, sym: order.sym } },
    el("td", {}, `#${order.order_id}`), el("td", {}, order.sym), el("td", { class: `side-${order.side}` }, order.side),
    el("td", {}, order.px ?? "MKT"), el("td", {}, order.order_qty), el("td", {}, order.leaves_qty),
    el("td", {}, order.cum_qty), el("td", {}, order.tif), el("td", {}, order.ord_status),
    el("td", {}, el("button", { class: "cancel", type: "button", onclick: () => cancelOrder(order.order_id) }, "Cancel")))));
  if (!orders.length) body.replaceChildren(el("tr", {}, el("td", { colSpan: 10, class: "muted" }, page.me ? "no open orders" : "")));
}

function drawFills() {
  const body = $("fills").tBodies[0];
  body.replaceChildren(...page.fills.slice(0, 100).map((fill) => el("tr", { data: { tradeId: fill.trade_id } },
    el("td", {}, clock(fill.transact_time_us, true)), el("td", {}, fill.sym),
    el("td", { class: `side-${fill.side}` }, fill.side), el("td", {}, fill.last_qty), el("td", {}, fill.last_px),
    el("td", {}, fill.liquidity), el("td", {}, fill.busted ? `${fill.trade_id} (busted)` : fill.trade_id))));
}

// -- start -----------------------------------------------------------------------------------

function start() {
  $("logon-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    $("api-key").value = "";
    if (!key) return;
    if (page.me) { // another key: a fresh session, its own orders and fills
      page.key = key; page.me = null; page.orders.clear(); page.fills = []; page.execSeq = 0;
      page.venue.ws.close(1000, "new key");
      return;
    }
    logon(key);
  });
  $("search").addEventListener("input", onSearch);
  $("order-form").addEventListener("submit", placeOrder);
  $("cancel-all").addEventListener("click", cancelAll);
  $("order-tif").addEventListener("change", () => { $("expire-label").hidden = $("order-tif").value !== "GTD"; });
  $("candle-interval").addEventListener("change", () => { if (page.sym) loadCandles(page.sym); });
  setInterval(() => { if (page.sym && page.venue && page.venue.isOpen) loadTicker(page.sym); }, TICKER_MS);
  window.addEventListener("resize", () => mark("book", "candles"));
  mark("who", "orders");
  connect();
}

document.addEventListener("DOMContentLoaded", start);
