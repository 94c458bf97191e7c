// The results table: one row per event (`result-row`, `data-event-id`), the columns
// the user chose, values as text.

import { clear, displayText, el, valueAt } from "./dom.js";
import { formatEventTime } from "./time.js";

function joined(...parts) {
  return parts.filter((p) => p !== undefined && p !== null && p !== "").map(String).join(" · ");
}

/** Built-in columns that combine fields; any other column is a field path. */
export const COLUMNS = {
  time: { label: "Time", cell: (e, zone) => formatEventTime(e.time, zone), cls: "col-time" },
  actor: {
    label: "Actor",
    cell: (e) => displayText(valueAt(e, "actor.name") || valueAt(e, "actor.id")),
    title: (e) => joined(valueAt(e, "actor.id"), valueAt(e, "actor.type")),
  },
  action: { label: "Action", cell: (e) => displayText(e.action), cls: "col-action" },
  target: {
    label: "Target",
    cell: (e) => joined(valueAt(e, "target.kind"),
      valueAt(e, "target.name") || valueAt(e, "target.id")),
    title: (e) => joined(valueAt(e, "target.id"), valueAt(e, "target.additional_id")),
  },
  outcome: { label: "Outcome", cell: (e) => displayText(e.outcome), cls: "col-outcome" },
  source_ip: { label: "Source IP", cell: (e) => displayText(e.source_ip), cls: "col-mono" },
};

export function columnLabel(name) {
  return COLUMNS[name] ? COLUMNS[name].label : name;
}

export class ResultsTable {
  /** onOpen(event) is called when a row is chosen. */
  constructor(table, { onOpen, zone }) {
    this.table = table;
    this.head = table.tHead;
    this.body = table.tBodies[0];
    this.onOpen = onOpen;
    this.zone = zone;
    this.columns = [];
    this.events = new Map();
    this.selected = "";
    this.body.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-event-id]");
      if (row) this.onOpen(this.events.get(row.dataset.eventId));
    });
    this.body.addEventListener("keydown", (event) => {
      const row = event.target.closest("tr[data-event-id]");
      if (row && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.onOpen(this.events.get(row.dataset.eventId));
      }
    });
  }

  setColumns(columns) {
    this.columns = columns;
    clear(this.head).append(el("tr", {}, columns.map((c) => el("th", {
      text: columnLabel(c), class: COLUMNS[c]?.cls || "", scope: "col" }))));
  }

  /** Drop every row. */
  reset() {
    this.events.clear();
    clear(this.body);
  }

  get size() {
    return this.events.size;
  }

  has(id) {
    return this.events.has(id);
  }

  row(event, fresh = false) {
    const cells = this.columns.map((name) => {
      const column = COLUMNS[name];
      const text = column ? column.cell(event, this.zone()) : displayText(valueAt(event, name));
      const cls = [column?.cls || "", name === "outcome" ? `outcome-${text}` : ""].join(" ").trim();
      return el("td", { class: cls || null, title: column?.title ? column.title(event) || null : null },
        name === "outcome" && text ? el("span", { class: "badge", text }) : text);
    });
    return el("tr", {
      testid: "result-row", dataset: { eventId: event.id }, tabindex: "0",
      class: [event.id === this.selected ? "selected" : "", fresh ? "fresh" : ""].join(" ").trim() || null,
    }, cells);
  }

  /** Append events below the rows shown (those already shown are skipped). */
  append(events) {
    const fragment = document.createDocumentFragment();
    for (const event of events) {
      if (this.events.has(event.id)) continue;
      this.events.set(event.id, event);
      fragment.append(this.row(event));
    }
    this.body.append(fragment);
  }

  /** Put events (newest first) above the rows shown, marked as fresh. */
  prepend(events) {
    const fragment = document.createDocumentFragment();
    for (const event of events) {
      if (this.events.has(event.id)) continue;
      this.events.set(event.id, event);
      fragment.append(this.row(event, true));
    }
    this.body.prepend(fragment);
  }

  /** Redraw every row (after a column or time zone change). */
  redraw() {
    const events = [...this.events.values()];
    clear(this.body);
    this.events.clear();
    this.append(events);
  }

  select(id) {
    this.selected = id || "";
    for (const row of this.body.querySelectorAll("tr.selected")) row.classList.remove("selected");
    if (id) {
      const row = [...this.body.rows].find((r) => r.dataset.eventId === id);
      if (row) row.classList.add("selected");
    }
  }
}
