// Export of every match (not only the rows shown): the service's streamed export read
// with the Authorization header, progress counted as it arrives, saved as a file.

import { clear, el, formatBytes, formatCount } from "./dom.js";

/** Counts records in a stream of NDJSON or CSV text (CSV: newlines inside quotes skipped). */
class RecordCounter {
  constructor(format) {
    this.csv = format === "csv";
    this.inQuotes = false;
    this.records = 0;
  }

  feed(text) {
    if (!this.csv) {
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.records += 1;
      return;
    }
    for (let i = 0; i < text.length; i += 1) {
      const c = text.charCodeAt(i);
      if (c === 34) this.inQuotes = !this.inQuotes;
      else if (c === 10 && !this.inQuotes) this.records += 1;
    }
  }

  /** Events seen so far (a CSV's header row is not one). */
  get events() {
    return this.csv ? Math.max(0, this.records - 1) : this.records;
  }
}

function stamp() {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

export class Exporter {
  /** api(): the Api; panel: where progress shows; onError(error): report a failure. */
  constructor(panel, { api, onError }) {
    this.panel = panel;
    this.api = api;
    this.onError = onError;
    this.aborter = null;
  }

  get running() {
    return this.aborter !== null;
  }

  cancel() {
    this.aborter?.abort();
  }

  /**
   * Export every event of `namespace` matching `params` ({query, start_time, end_time})
   * as `format` ("ndjson" or "csv"); `expected` is the search's total, for the progress.
   */
  async run(namespace, params, format, expected) {
    if (this.running) return;
    this.aborter = new AbortController();
    const bar = el("progress", { max: String(Math.max(1, expected)), value: "0" });
    const text = el("span", { class: "export-text", text: `Exporting ${format.toUpperCase()}…` });
    const cancel = el("button", { class: "btn btn-small", type: "button", text: "Cancel",
      on: { click: () => this.cancel() } });
    clear(this.panel).append(text, bar, cancel);
    this.panel.dataset.state = "running";
    this.panel.hidden = false;
    const counter = new RecordCounter(format);
    const chunks = [];
    let bytes = 0;
    try {
      const response = await this.api().exportStream(namespace, { ...params, format },
        this.aborter.signal);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        bytes += value.byteLength;
        counter.feed(decoder.decode(value, { stream: true }));
        bar.value = Math.min(counter.events, Number(bar.max));
        text.textContent = `Exporting ${format.toUpperCase()}… ${formatCount(counter.events)} of `
          + `${formatCount(expected)} events (${formatBytes(bytes)})`;
      }
      const type = format === "csv" ? "text/csv" : "application/x-ndjson";
      const url = URL.createObjectURL(new Blob(chunks, { type }));
      const name = `auditlog-${namespace}-${stamp()}.${format}`;
      const link = el("a", { href: url, download: name, class: "offscreen", text: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      bar.value = Number(bar.max);
      text.textContent = `Exported ${formatCount(counter.events)} events to ${name} (${formatBytes(bytes)})`;
      this.panel.dataset.state = "done";
      cancel.replaceWith(el("button", { class: "btn btn-small btn-quiet", type: "button",
        text: "Dismiss", on: { click: () => { this.panel.hidden = true; } } }));
    } catch (error) {
      this.panel.dataset.state = "failed";
      if (error.name === "AbortError") {
        text.textContent = `Export cancelled after ${formatCount(counter.events)} events.`;
      } else {
        text.textContent = `Export failed: ${error.message}`;
        this.onError(error);
      }
      cancel.replaceWith(el("button", { class: "btn btn-small btn-quiet", type: "button",
        text: "Dismiss", on: { click: () => { this.panel.hidden = true; } } }));
    } finally {
      this.aborter = null;
    }
  }
}
