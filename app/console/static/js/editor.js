// The query editor: a textarea (the test hook `query-input`) over a highlighted copy
// of its text, completion of field names and values, and the error mark. Typing never
// waits for the network: completions come from what is cached and are refreshed when
// an answer arrives.

import { clear, el } from "./dom.js";
import {
  completionContext, fieldText, offsetOf, quoteString, regexLiteral, tokenize,
} from "./query.js";

const MAX_ITEMS = 50;

/** Items matching the prefix: exact-case starts first, then any-case starts, then contains. */
function rank(items, prefix, key) {
  if (!prefix) return items.slice(0, MAX_ITEMS);
  const needle = prefix.toLowerCase();
  const groups = [[], [], []];
  for (const item of items) {
    const text = key(item);
    if (text.startsWith(prefix)) groups[0].push(item);
    else if (text.toLowerCase().startsWith(needle)) groups[1].push(item);
    else if (text.toLowerCase().includes(needle)) groups[2].push(item);
  }
  return groups.flat().slice(0, MAX_ITEMS);
}

export class QueryEditor extends EventTarget {
  /**
   * fields(): [{name, detail}] known now.
   * values(field, prefix, onUpdate): [{value, count}] known now; calls onUpdate() when a
   * fresher answer has arrived.
   */
  constructor(container, { fields, values }) {
    super();
    this.fields = fields;
    this.values = values;
    this.error = null;
    this.items = [];
    this.active = 0;
    this.context = null;

    this.highlight = el("pre", { class: "editor-highlight", "aria-hidden": "true" });
    this.input = el("textarea", {
      class: "editor-input", testid: "query-input", rows: 1, spellcheck: "false",
      autocomplete: "off", autocapitalize: "off", "aria-label": "Query",
      placeholder: '{action="login", actor.id!="svc-backup"}   (Ctrl+Space completes)',
    });
    this.popup = el("ul", { class: "completions", role: "listbox", hidden: true });
    container.append(this.highlight, this.input, this.popup);

    this.input.addEventListener("input", () => this.onInput());
    this.input.addEventListener("keydown", (event) => this.onKeyDown(event));
    this.input.addEventListener("scroll", () => { this.highlight.scrollTop = this.input.scrollTop; });
    this.input.addEventListener("blur", () => this.close());
    this.input.addEventListener("click", () => this.close());
    this.popup.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the focus in the textarea
      const item = event.target.closest("li");
      if (item) this.accept(Number(item.dataset.index));
    });
    this.render();
  }

  get value() {
    return this.input.value;
  }

  set value(text) {
    this.input.value = text;
    this.error = null;
    this.render();
  }

  focus() {
    this.input.focus();
  }

  /** Mark an error at its 1-based line and column (code points). */
  setError(line, column) {
    this.error = line ? offsetOf(this.input.value, line, column) : null;
    this.render();
  }

  clearError() {
    if (this.error !== null) {
      this.error = null;
      this.render();
    }
  }

  onInput() {
    this.error = null;
    this.render();
    this.dispatchEvent(new Event("change"));
    this.complete(false);
  }

  onKeyDown(event) {
    const open = !this.popup.hidden;
    if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.items.length) % this.items.length;
      this.paintActive();
    } else if (open && (event.key === "Enter" || event.key === "Tab")) {
      event.preventDefault();
      this.accept(this.active);
    } else if (open && event.key === "Escape") {
      event.preventDefault();
      this.close();
    } else if (event.key === " " && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      this.complete(true);
    } else if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      this.close();
      this.dispatchEvent(new Event("run"));
    }
  }

  /** Show the completions of the caret's context (explicit: also for an empty prefix). */
  complete(explicit) {
    const pos = this.input.selectionStart;
    if (pos !== this.input.selectionEnd) return this.close();
    const context = completionContext(this.input.value, pos);
    if (!context || (!explicit && context.kind === "field" && !context.prefix
                     && !/[{,]\s*$/.test(this.input.value.slice(0, pos)))) {
      return this.close();
    }
    this.context = context;
    this.refreshItems();
  }

  refreshItems() {
    const context = this.context;
    if (!context) return;
    let items;
    if (context.kind === "field") {
      items = rank(this.fields(), context.prefix, (f) => f.name)
        .map((f) => ({ label: f.name, detail: f.detail, insert: f.name }));
    } else {
      const known = this.values(context.field, context.prefix, () => {
        if (this.context === context) this.refreshItems();
      });
      items = rank(known, context.prefix, (v) => v.value)
        .map((v) => ({ label: v.value, detail: v.count === undefined ? "" : String(v.count),
          insert: v.value }));
    }
    if (!items.length) {
      this.popup.hidden = true;
      return;
    }
    this.items = items;
    this.active = 0;
    this.paintItems();
  }

  paintItems() {
    clear(this.popup);
    this.items.forEach((item, index) => {
      this.popup.append(el("li", {
        role: "option", dataset: { index: String(index), kind: this.context.kind },
        class: "completion",
      }, el("span", { class: "completion-label", text: item.label }),
      el("span", { class: "completion-detail", text: item.detail || "" })));
    });
    const marker = this.highlight.querySelector(".caret-marker");
    if (marker) {
      this.popup.style.left = `${Math.max(0, marker.offsetLeft - this.highlight.scrollLeft)}px`;
      this.popup.style.top = `${marker.offsetTop - this.highlight.scrollTop + 22}px`;
    }
    this.popup.hidden = false;
    this.paintActive();
  }

  paintActive() {
    [...this.popup.children].forEach((node, index) => {
      node.classList.toggle("active", index === this.active);
      node.setAttribute("aria-selected", index === this.active ? "true" : "false");
      if (index === this.active) node.scrollIntoView({ block: "nearest" });
    });
  }

  close() {
    this.popup.hidden = true;
    this.context = null;
  }

  accept(index) {
    const item = this.items[index];
    const context = this.context;
    if (!item || !context) return;
    const text = this.input.value;
    let replacement;
    let caret;
    if (context.kind === "field") {
      replacement = fieldText(item.insert);
      const rest = text.slice(context.to).trimStart();
      if (!/^[=!]/.test(rest)) {
        replacement += '=""';
        caret = context.from + replacement.length - 1;
      }
    } else {
      const regex = context.op === "=~" || context.op === "!~";
      replacement = quoteString(regex ? regexLiteral(item.insert) : item.insert);
    }
    this.replaceRange(context.from, context.to, replacement);
    if (caret !== undefined) this.input.setSelectionRange(caret, caret);
    this.close();
    this.render();
    this.dispatchEvent(new Event("change"));
    if (context.kind === "field" && caret !== undefined) this.complete(true);
  }

  replaceRange(from, to, replacement) {
    this.input.focus();
    this.input.setSelectionRange(from, to);
    // insertText keeps the browser's undo history; setRangeText is the fallback.
    if (!document.execCommand || !document.execCommand("insertText", false, replacement)) {
      this.input.setRangeText(replacement, from, to, "end");
    }
  }

  /** Redraw the highlighted copy: token colours, the error mark and the caret marker. */
  render() {
    const text = this.input.value;
    const caret = this.input.selectionStart ?? text.length;
    const nodes = [];
    const push = (cls, piece) => {
      if (piece) nodes.push(cls ? el("span", { class: cls, text: piece }) : document.createTextNode(piece));
    };
    for (const token of tokenize(text)) {
      const cls = token.type === "space" ? "" : `tok-${token.type}`;
      const cuts = [token.start, token.end];
      if (caret > token.start && caret < token.end) cuts.splice(1, 0, caret);
      for (let i = 0; i < cuts.length - 1; i += 1) {
        if (cuts[i] === caret) nodes.push(el("span", { class: "caret-marker" }));
        const piece = text.slice(cuts[i], cuts[i + 1]);
        const marked = this.error !== null && this.error >= cuts[i] && this.error < cuts[i + 1];
        push(marked ? `${cls} error-mark` : cls, piece);
      }
    }
    if (caret === text.length) nodes.push(el("span", { class: "caret-marker" }));
    if (this.error !== null && this.error >= text.length) {
      nodes.push(el("span", { class: "error-mark error-mark-end", text: " " }));
    }
    nodes.push(document.createTextNode("\n"));
    this.highlight.replaceChildren(...nodes);
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
    this.highlight.style.height = this.input.style.height;
    this.highlight.scrollTop = this.input.scrollTop;
  }
}
