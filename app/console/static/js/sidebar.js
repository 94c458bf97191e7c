// The field sidebar: the top values of the main fields with their counts (shown
// without a click, one aggregate request), and every other field of the namespace,
// whose values load when it is opened. A value click filters on it; Alt+click or the
// "≠" button excludes it.

import { clear, el, formatCount } from "./dom.js";

/** Fields whose top values are shown at once (one field_aggregation each). */
export const TOP_FIELDS = [
  "action", "outcome", "actor.id", "actor.name", "target.kind", "target.id", "source_ip",
  "user_agent", "actor.type",
];
export const TOP_K = 5;

export class FieldSidebar {
  /**
   * onFilter(field, op, value): add a matcher; loadValues(field): Promise of [{value,count}];
   * onColumn(field): toggle a column.
   */
  constructor(pane, { onFilter, loadValues, onColumn, columns }) {
    this.pane = pane;
    this.onFilter = onFilter;
    this.loadValues = loadValues;
    this.onColumn = onColumn;
    this.columns = columns;
    this.top = el("div", { class: "sidebar-section" });
    this.all = el("div", { class: "sidebar-section" });
    pane.append(this.top, this.all);
    pane.addEventListener("click", (event) => this.click(event));
    pane.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.matches("[data-testid=field-value]")) {
        this.click(event);
      }
    });
  }

  click(event) {
    const exclude = event.target.closest(".fv-exclude");
    const item = event.target.closest("[data-testid=field-value]");
    if (item) {
      event.preventDefault();
      const op = exclude || event.altKey ? "!=" : "=";
      this.onFilter(item.dataset.field, op, item.dataset.value);
      return;
    }
    const toggle = event.target.closest(".field-toggle");
    if (toggle) this.toggle(toggle.closest(".field-block"));
    const column = event.target.closest(".field-column");
    if (column) this.onColumn(column.dataset.field);
  }

  valueList(field, values, total) {
    if (!values.length) return el("p", { class: "muted small", text: "No values in this window." });
    const max = Math.max(1, total || 0, ...values.map((v) => v.count));
    return el("ul", { class: "value-list" }, values.map((v) => {
      const item = el("li", {
        class: "field-value", testid: "field-value", dataset: { field, value: String(v.value) },
        tabindex: "0", role: "button",
        title: `Click: ${field}="${v.value}" · Alt+click: ${field}!="${v.value}"`,
      },
      el("span", { class: "fv-bar" }),
      el("span", { class: "fv-value", text: v.value === "" ? "(empty)" : String(v.value) }),
      el("span", { class: "fv-count", text: formatCount(v.count) }),
      el("button", { class: "fv-exclude", type: "button", text: "≠",
        title: `Exclude: ${field}!="${v.value}"`, "aria-label": `Exclude ${v.value}` }));
      item.firstChild.style.width = `${Math.max(2, Math.round((v.count / max) * 100))}%`;
      return item;
    }));
  }

  header(field, opener) {
    const isColumn = this.columns().includes(field);
    return el("div", { class: "field-head" },
      opener
        ? el("button", { class: "field-toggle field-name", type: "button", text: field,
          "aria-expanded": "false" })
        : el("span", { class: "field-name", text: field }),
      el("button", { class: `field-column${isColumn ? " on" : ""}`, type: "button",
        dataset: { field }, text: isColumn ? "−col" : "+col",
        title: isColumn ? "Remove the column" : "Show as a column" }));
  }

  /** Show the top values: {field: [{key, count}]} and the total of matches. */
  showTop(buckets, total) {
    clear(this.top).append(el("h2", { class: "sidebar-title", text: "Top values" }));
    for (const field of TOP_FIELDS) {
      const values = (buckets[field] || []).map((b) => ({ value: b.key, count: b.count }));
      if (!values.length) continue;
      this.top.append(el("div", { class: "field-block", dataset: { field } },
        this.header(field, false), this.valueList(field, values, total)));
    }
    if (this.top.children.length === 1) {
      this.top.append(el("p", { class: "muted small", text: "No values to show." }));
    }
  }

  showLoading() {
    this.top.classList.add("loading");
  }

  doneLoading() {
    this.top.classList.remove("loading");
  }

  /** List the other fields of the namespace (names; values load on demand). */
  showFields(names) {
    const others = names.filter((n) => !TOP_FIELDS.includes(n));
    clear(this.all).append(el("h2", { class: "sidebar-title", text: "All fields" }));
    for (const field of others) {
      this.all.append(el("div", { class: "field-block collapsed", dataset: { field } },
        this.header(field, true)));
    }
  }

  async toggle(block) {
    const button = block.querySelector(".field-toggle");
    if (!block.classList.contains("collapsed")) {
      block.classList.add("collapsed");
      button.setAttribute("aria-expanded", "false");
      block.querySelector(".value-list, .muted, .error-text")?.remove();
      return;
    }
    block.classList.remove("collapsed");
    button.setAttribute("aria-expanded", "true");
    const holder = el("p", { class: "muted small", text: "Loading…" });
    block.append(holder);
    try {
      const values = await this.loadValues(block.dataset.field);
      holder.replaceWith(this.valueList(block.dataset.field, values.slice(0, 10), 0));
    } catch (error) {
      holder.replaceWith(el("p", { class: "error-text small", text: error.message }));
    }
  }

  /** Refresh the column buttons after the columns changed. */
  refreshColumns() {
    const columns = this.columns();
    for (const button of this.pane.querySelectorAll(".field-column")) {
      const on = columns.includes(button.dataset.field);
      button.classList.toggle("on", on);
      button.textContent = on ? "−col" : "+col";
      button.title = on ? "Remove the column" : "Show as a column";
    }
  }

  /** Collapse the opened fields (their values belong to the previous search). */
  collapseAll() {
    for (const block of this.all.querySelectorAll(".field-block:not(.collapsed)")) {
      block.classList.add("collapsed");
      block.querySelector(".field-toggle")?.setAttribute("aria-expanded", "false");
      block.querySelector(".value-list, .muted, .error-text")?.remove();
    }
  }
}
