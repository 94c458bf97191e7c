// The analyst console (DESIGN §11): wires the parts to the public API and keeps the
// view in the URL.

import { Api, ApiError, forgetKey, storedKey, storeKey } from "./api.js";
import { EventDetail } from "./detail.js";
import { byId, clear, el, formatCount } from "./dom.js";
import { QueryEditor } from "./editor.js";
import { Exporter } from "./exporter.js";
import { Histogram } from "./histogram.js";
import { LiveFeed } from "./live.js";
import { addMatcher } from "./query.js";
import { COLUMNS, columnLabel, ResultsTable } from "./results.js";
import { FieldSidebar, TOP_FIELDS, TOP_K } from "./sidebar.js";
import { DEFAULT_COLUMNS, sameSearch, searchOfView, viewFromSearch } from "./state.js";
import {
  PRESETS, apiTime, chooseStep, describeSpan, formatTime, isRelative, resolveTime, toRfc3339,
} from "./time.js";
import { ValueCache } from "./values.js";

const PAGE_SIZE = 500;

let api = null;
let me = null;
let view = viewFromSearch(location.search);
let fields = []; // [{name, detail}] for completion
let run = null; // the search shown: {view, startText, endText, startMs, endMs, total, last, ranAt}
let searchAborter = null;
let liveCount = 0;
let searchesDone = 0; // body[data-searches-done]: tests wait on it, people never see it

const values = new ValueCache({
  api: () => api,
  namespace: () => view.ns,
  window: () => (run ? { start_time: run.startText, end_time: run.endText } : {}),
});

const editor = new QueryEditor(byId("editor"), {
  fields: () => fields,
  values: (field, prefix, onUpdate) => values.lookup(field, prefix, onUpdate),
});
const histogram = new Histogram(byId("histogram"), {
  zone: () => view.tz,
  onZoom: (startMs, endMs) => {
    byId("time-start").value = formatTime(startMs, view.tz);
    byId("time-end").value = formatTime(endMs, view.tz);
    syncPreset();
    search({ push: true });
  },
});
const table = new ResultsTable(byId("results"), {
  zone: () => view.tz,
  onOpen: (event) => openEvent(event),
});
const detail = new EventDetail(byId("event-detail"), {
  api: () => api,
  namespace: () => view.ns,
  zone: () => view.tz,
  permalink: (event) => permalink(event),
  onOpen: (event) => openEvent(event),
  onClose: () => {
    table.select("");
    view = { ...view, event: "" };
    history.replaceState(null, "", searchOfView(view));
  },
});
const sidebar = new FieldSidebar(byId("field-sidebar"), {
  columns: () => view.cols,
  onFilter: (field, op, value) => {
    editor.value = addMatcher(editor.value, field, op, value);
    search({ push: true });
  },
  onColumn: (field) => toggleColumn(field),
  loadValues: (field) => values.fetchTop(field, 10, run ? run.view.q : ""),
});
const exporter = new Exporter(byId("export-progress"), {
  api: () => api,
  onError: (error) => handleError(error),
});
const live = new LiveFeed({
  api: () => api,
  onEvents: (events) => {
    const fresh = events.filter((e) => !table.has(e.id));
    liveCount += fresh.length;
    table.prepend([...fresh].reverse());
    renderSummary();
  },
  onState: (state) => {
    const button = byId("live-toggle");
    button.setAttribute("aria-pressed", state === "on" ? "true" : "false");
    button.dataset.state = state;
    button.querySelector(".live-label").textContent = state === "paused" ? "Paused" : "Live";
    button.title = {
      on: "Following new events; click to pause",
      paused: "Paused; click to resume where it stopped",
      off: "Follow new events as they arrive",
    }[state];
  },
  onError: (error) => {
    if (error instanceof ApiError && error.status === 401) handleError(error);
    else showBanner(`Live: ${error.message}`, "error");
  },
});

// ---- sign-in -----------------------------------------------------------------------

function showSignIn(message = "") {
  byId("app").hidden = true;
  byId("signin").hidden = false;
  byId("signin-error").textContent = message;
  byId("key-input").focus();
}

async function signIn(key) {
  const candidate = new Api(key);
  try {
    me = await candidate.me();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      forgetKey();
      showSignIn(error.status === 401 ? "This key is not valid (unknown, revoked or expired)."
        : error.message);
    } else {
      showSignIn(`Cannot reach the service: ${error.message}`);
    }
    return;
  }
  api = candidate;
  storeKey(key);
  byId("key-input").value = "";
  byId("signin").hidden = true;
  byId("app").hidden = false;
  byId("whoami").textContent = `${me.name || me.id} · ${me.role}`;
  byId("whoami").title = `key ${me.id}`;
  fillNamespaces();
  applyView();
  loadFields();
  await search({ push: false });
  if (view.event) openEventById(view.event);
}

function fillNamespaces() {
  const select = byId("namespace-select");
  const names = [...(me.namespaces || [])];
  if (view.ns && !names.includes(view.ns) && me.all_namespaces) names.push(view.ns);
  clear(select).append(...names.map((n) => el("option", { value: n, text: n })));
  if (!view.ns || !names.includes(view.ns)) view = { ...view, ns: names[0] || "" };
  select.value = view.ns;
  if (!names.length) showBanner("This key has no namespace to read.", "error");
}

// ---- the view and the controls -----------------------------------------------------

function applyView() {
  byId("namespace-select").value = view.ns;
  editor.value = view.q;
  byId("time-start").value = view.from;
  byId("time-end").value = view.to;
  for (const button of document.querySelectorAll(".segmented .seg")) {
    button.classList.toggle("on", button.dataset.tz === view.tz);
    button.setAttribute("aria-pressed", button.dataset.tz === view.tz ? "true" : "false");
  }
  syncPreset();
  table.setColumns(view.cols);
  fillColumnsMenu();
}

function readControls() {
  return {
    ns: byId("namespace-select").value,
    q: editor.value,
    from: byId("time-start").value.trim() || "now-15m",
    to: byId("time-end").value.trim() || "now",
    tz: view.tz,
    cols: [...view.cols],
    event: "",
  };
}

function syncPreset() {
  const select = byId("time-preset");
  const from = byId("time-start").value.trim();
  const to = byId("time-end").value.trim();
  const preset = to === "now" && PRESETS.find(([value]) => value === from);
  select.value = preset ? from : "custom";
}

function fillPresets() {
  const select = byId("time-preset");
  select.append(...PRESETS.map(([value, label]) => el("option", { value, text: label })),
    el("option", { value: "custom", text: "Custom range" }));
}

function setZone(tz) {
  if (tz === view.tz) return;
  for (const id of ["time-start", "time-end"]) {
    const input = byId(id);
    const text = input.value.trim();
    if (text && !isRelative(text)) {
      try {
        input.value = formatTime(resolveTime(text, view.tz), tz);
      } catch {
        // Leave a value that does not parse as the user wrote it; the search says why.
      }
    }
  }
  view = { ...view, tz, from: byId("time-start").value.trim(), to: byId("time-end").value.trim() };
  history.pushState(null, "", searchOfView(view));
  applyZone();
}

function applyZone() {
  for (const button of document.querySelectorAll(".segmented .seg")) {
    button.classList.toggle("on", button.dataset.tz === view.tz);
    button.setAttribute("aria-pressed", button.dataset.tz === view.tz ? "true" : "false");
  }
  table.redraw();
  histogram.draw();
  if (detail.event) detail.show(detail.event);
  renderSummary();
}

// ---- columns -----------------------------------------------------------------------

function columnChoices() {
  const names = [...Object.keys(COLUMNS)];
  for (const f of fields) if (f.kind === "field" && !names.includes(f.name)) names.push(f.name);
  for (const c of view.cols) if (!names.includes(c)) names.push(c);
  return names;
}

function fillColumnsMenu() {
  const menu = byId("columns-menu");
  clear(menu).append(el("div", { class: "menu-title", text: "Columns" }));
  for (const name of columnChoices()) {
    const box = el("input", { type: "checkbox", value: name });
    box.checked = view.cols.includes(name);
    box.addEventListener("change", () => toggleColumn(name));
    menu.append(el("label", { class: "menu-item" }, box, el("span", { text: columnLabel(name) })));
  }
  menu.append(el("button", { class: "btn btn-small btn-quiet", type: "button", text: "Reset",
    on: { click: () => setColumns([...DEFAULT_COLUMNS]) } }));
}

function toggleColumn(name) {
  const cols = view.cols.includes(name) ? view.cols.filter((c) => c !== name) : [...view.cols, name];
  setColumns(cols.length ? cols : ["time"]);
}

function setColumns(cols) {
  view = { ...view, cols };
  history.pushState(null, "", searchOfView(view));
  table.setColumns(cols);
  table.redraw();
  sidebar.refreshColumns();
  fillColumnsMenu();
}

// ---- fields (completion, sidebar) --------------------------------------------------

async function loadFields() {
  const ns = view.ns;
  try {
    const answer = await api.fields(ns);
    if (ns !== view.ns) return;
    const entries = [];
    const browsable = [];
    for (const f of answer.fields || []) {
      if (f.type === "object") continue;
      entries.push({ name: f.name, detail: f.type, kind: "field" });
      for (const alias of f.aliases || []) {
        entries.push({ name: alias, detail: `→ ${f.name}`, kind: "alias" });
      }
      // One value per event (id) or per namespace: nothing to learn from their top values.
      const listable = f.aggregatable ?? (f.type === "keyword" || f.type === "ip");
      if (listable && f.name !== "id" && f.name !== "namespace") browsable.push(f.name);
    }
    for (const label of answer.labels || []) {
      const name = label.startsWith("labels.") ? label : `labels.${label}`;
      entries.push({ name, detail: "label", kind: "field" });
      browsable.push(name);
    }
    fields = entries;
    sidebar.showFields(browsable);
    fillColumnsMenu();
  } catch (error) {
    handleError(error);
  }
}

// ---- search ------------------------------------------------------------------------

function windowOf(v) {
  const now = Date.now();
  const start = apiTime(v.from, v.tz, now);
  const end = apiTime(v.to, v.tz, now);
  if (start.ms > end.ms) throw new Error("The start time is after the end time.");
  return { start, end, now };
}

/** Run the search the controls describe; push: a new history entry when the view changed. */
async function search({ push }) {
  const next = readControls();
  let window;
  try {
    window = windowOf(next);
  } catch (error) {
    showQueryError(error.message);
    return;
  }
  // A search the user starts closes the open event; one replayed from the URL keeps it.
  const shown = { ...next, event: push ? "" : view.event };
  if (push && !sameSearch(next, view)) history.pushState(null, "", searchOfView(shown));
  else history.replaceState(null, "", searchOfView(shown));
  const changedScope = next.ns !== view.ns;
  view = shown;
  if (changedScope) {
    loadFields();
    values.clear();
  }
  if (push && detail.isOpen) detail.close();
  await execute(window);
}

async function execute(window) {
  searchAborter?.abort();
  searchAborter = new AbortController();
  const signal = searchAborter.signal;
  const body = { query: view.q, start_time: window.start.text, end_time: window.end.text };
  run = { view, startText: body.start_time, endText: body.end_time, startMs: window.start.ms,
    endMs: window.end.ms, total: null, last: null, took: null, ranAt: toRfc3339(window.now) };
  const step = chooseStep(window.end.ms - window.start.ms);
  liveCount = 0;
  renderSummary();
  values.clear();
  clearQueryError();
  hideBanner();
  table.reset();
  byId("load-more").hidden = true;
  byId("results-empty").hidden = true;
  document.body.classList.add("searching");
  sidebar.showLoading();
  sidebar.collapseAll();
  restartLive();

  const started = run;
  const page = api.search(view.ns, { ...body, limit: PAGE_SIZE, sort: "DESCENDING" }, signal);
  const counts = api.aggregate(view.ns, { ...body,
    aggs: { histogram: { date_aggregation: { step: step.step } } } }, signal);
  const tops = api.aggregate(view.ns, { ...body, aggs: Object.fromEntries(TOP_FIELDS.map(
    (field) => [field, { field_aggregation: { field, topk: TOP_K } }])) }, signal);

  const shown = page.then((answer) => {
    if (run !== started) return;
    run.total = answer.total_hits;
    run.took = answer.took_ms;
    // Live mode starts where this answer was made, on the service's clock (its Date header
    // has whole seconds: one second earlier, and the table drops what it already shows).
    if (api.serverTime !== null) run.ranAt = toRfc3339(api.serverTime - 1000);
    run.last = answer.events.at(-1) || null;
    table.append(answer.events);
    byId("load-more").hidden = answer.events.length < PAGE_SIZE || table.size >= run.total;
    const empty = byId("results-empty");
    empty.hidden = answer.events.length > 0;
    empty.textContent = "No events match this query in this time range.";
    renderSummary();
  });
  const drawn = counts.then((answer) => {
    if (run !== started) return;
    histogram.show({ startMs: run.startMs, endMs: run.endMs, stepMs: step.ms,
      buckets: answer.aggs.histogram.buckets });
  });
  const listed = tops.then((answer) => {
    if (run !== started) return;
    const buckets = Object.fromEntries(TOP_FIELDS.map((f) => [f, answer.aggs[f]?.buckets || []]));
    sidebar.showTop(buckets, answer.total_hits);
  });
  const results = await Promise.allSettled([shown, drawn, listed]);
  if (run !== started) return;
  document.body.classList.remove("searching");
  sidebar.doneLoading();
  searchesDone += 1;
  document.body.dataset.searchesDone = String(searchesDone);
  const failure = results.find((r) => r.status === "rejected");
  if (failure) {
    if (failure.reason?.name === "AbortError") return;
    // Nothing of a failed search stays on screen as if it were its answer.
    histogram.show(null);
    sidebar.showTop({}, 0);
    run.failed = true;
    renderSummary();
    handleError(failure.reason);
  }
}

async function loadMore() {
  if (!run || !run.last) return;
  const started = run;
  const button = byId("load-more");
  button.disabled = true;
  try {
    const answer = await api.search(view.ns, {
      query: run.view.q, start_time: run.startText, end_time: run.endText, limit: PAGE_SIZE,
      sort: "DESCENDING", search_after: true,
      // The event's own time text keeps its nanoseconds (a JSON number would not).
      sort_values: { last_timestamp: run.last.time, last_doc_id: run.last.id },
    }, searchAborter?.signal);
    if (run !== started) return;
    run.last = answer.events.at(-1) || run.last;
    table.append(answer.events);
    button.hidden = answer.events.length < PAGE_SIZE || table.size - liveCount >= run.total;
    renderSummary();
  } catch (error) {
    if (error.name !== "AbortError") handleError(error);
  } finally {
    button.disabled = false;
  }
}

function renderSummary() {
  const box = clear(byId("summary"));
  if (run && run.failed) {
    box.append(el("span", { class: "muted", text: "The search failed; nothing to show." }));
    return;
  }
  if (!run || run.total === null) {
    box.append(el("span", { class: "muted", text: "Searching…" }));
    return;
  }
  const loaded = table.size - liveCount;
  box.append(
    el("strong", { class: "summary-total",
      text: `${formatCount(run.total)} event${run.total === 1 ? "" : "s"}` }),
    el("span", { class: "muted", text: ` · ${formatCount(loaded)} shown` }),
    liveCount ? el("span", { class: "live-count", text: ` · ${formatCount(liveCount)} new (live)` }) : "",
    el("span", { class: "muted summary-window",
      text: ` · ${formatTime(run.startMs, view.tz)} → ${formatTime(run.endMs, view.tz)} `
        + `${view.tz === "utc" ? "UTC" : "local"} (${describeSpan(run.endMs - run.startMs)})` }),
    run.took !== null ? el("span", { class: "muted", text: ` · ${run.took} ms` }) : "",
  );
}

// ---- errors --------------------------------------------------------------------------

function queryErrorText(body) {
  const message = String(body.message || "invalid query").replace(/\s*\(line \d+, column \d+\)$/, "");
  const where = body.line ? `Line ${body.line}, column ${body.column}: ` : "";
  const hint = body.suggestions && body.suggestions.length
    ? ` Did you mean ${body.suggestions.join(", ")}?` : "";
  return `${where}${message}${hint}`;
}

function showQueryError(text) {
  const box = byId("query-error");
  box.textContent = text;
  box.hidden = false;
}

function clearQueryError() {
  byId("query-error").hidden = true;
  byId("query-error").textContent = "";
  editor.clearError();
}

function handleError(error) {
  if (!(error instanceof ApiError)) {
    showBanner(error.message || String(error), "error");
    return;
  }
  if (error.status === 401) {
    forgetKey();
    live.reset();
    showSignIn("The key is no longer valid; sign in again.");
    return;
  }
  if (error.body.code === "invalid_query") {
    showQueryError(queryErrorText(error.body));
    if (error.body.line) editor.setError(error.body.line, error.body.column);
    return;
  }
  const retry = error.status === 429 || error.status === 503 ? " Try again in a moment." : "";
  showBanner(`${error.message}${retry}`, "error");
}

function showBanner(text, kind = "info") {
  const banner = byId("banner");
  banner.dataset.kind = kind;
  clear(banner).append(el("span", { text }), el("button", { class: "btn btn-quiet btn-small",
    type: "button", text: "Dismiss", on: { click: hideBanner } }));
  banner.hidden = false;
}

function hideBanner() {
  byId("banner").hidden = true;
}

// ---- events ------------------------------------------------------------------------

function openEvent(event) {
  if (!event) return;
  detail.show(event);
  table.select(event.id);
  view = { ...view, event: event.id };
  history.replaceState(null, "", searchOfView(view));
}

async function openEventById(id) {
  try {
    openEvent(await api.event(view.ns, id));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      showBanner(`No event ${id} in namespace ${view.ns}.`, "error");
    } else handleError(error);
  }
}

function permalink(event) {
  // An absolute window keeps the link meaning the same later: the search's own when it
  // holds the event, else a quarter of an hour on each side of it.
  const at = Date.parse(event.time);
  let from;
  let to;
  if (run && at >= run.startMs && at <= run.endMs) {
    from = isRelative(run.view.from) ? formatTime(run.startMs, view.tz) : run.view.from;
    to = isRelative(run.view.to) ? formatTime(run.endMs, view.tz) : run.view.to;
  } else {
    from = formatTime(at - 900_000, view.tz);
    to = formatTime(at + 900_000, view.tz);
  }
  const link = searchOfView({ ...view, from, to, event: event.id });
  return `${location.origin}${location.pathname}${link}`;
}

// ---- live ----------------------------------------------------------------------------

function restartLive() {
  if (!live.stream) return;
  const wasOn = live.active;
  if (live.stream.namespace !== view.ns || live.stream.query !== view.q) {
    live.reset();
    if (wasOn) live.start(view.ns, view.q, run.ranAt);
  }
}

function toggleLive() {
  if (live.active) live.pause();
  else live.start(view.ns, view.q, run ? run.ranAt : toRfc3339(Date.now()));
}

// ---- wiring ------------------------------------------------------------------------

function wire() {
  fillPresets();
  byId("sign-in").addEventListener("click", () => {
    const key = byId("key-input").value.trim();
    if (key) signIn(key);
    else showSignIn("Enter an API key.");
  });
  byId("key-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") byId("sign-in").click();
  });
  byId("sign-out").addEventListener("click", () => {
    forgetKey();
    live.reset();
    location.reload();
  });
  byId("namespace-select").addEventListener("change", () => search({ push: true }));
  byId("run-query").addEventListener("click", () => search({ push: true }));
  editor.addEventListener("run", () => search({ push: true }));
  byId("time-preset").addEventListener("change", (event) => {
    if (event.target.value === "custom") {
      byId("time-start").focus();
      return;
    }
    byId("time-start").value = event.target.value;
    byId("time-end").value = "now";
    search({ push: true });
  });
  for (const id of ["time-start", "time-end"]) {
    byId(id).addEventListener("keydown", (event) => {
      if (event.key === "Enter") search({ push: true });
    });
    byId(id).addEventListener("input", syncPreset);
  }
  for (const button of document.querySelectorAll(".segmented .seg")) {
    button.addEventListener("click", () => setZone(button.dataset.tz));
  }
  byId("load-more").addEventListener("click", loadMore);
  byId("live-toggle").addEventListener("click", toggleLive);
  for (const format of ["ndjson", "csv"]) {
    byId(`export-${format}`).addEventListener("click", () => {
      if (!run) return;
      exporter.run(view.ns, { query: run.view.q, start_time: run.startText, end_time: run.endText },
        format, run.total ?? 0);
    });
  }
  const menu = byId("columns-menu");
  byId("columns-button").addEventListener("click", (event) => {
    event.stopPropagation();
    menu.hidden = !menu.hidden;
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !menu.contains(event.target)) menu.hidden = true;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && !event.target.closest("input, textarea, select")) {
      event.preventDefault();
      editor.focus();
    } else if (event.key === "Escape" && detail.isOpen && !event.target.closest("textarea")) {
      detail.close();
      table.select("");
    }
  });
  window.addEventListener("popstate", () => {
    const previous = view;
    view = viewFromSearch(location.search);
    if (!view.ns) view.ns = previous.ns;
    applyView();
    if (view.ns !== previous.ns) {
      loadFields();
      values.clear();
    }
    search({ push: false }).then(() => {
      if (view.event) openEventById(view.event);
      else detail.close();
    });
  });
}

wire();
const key = storedKey();
if (key) signIn(key);
else showSignIn();
