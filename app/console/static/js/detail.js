// The event detail: its JSON (as text, lightly coloured), copy, a permalink, and the
// same actor's events around it ("surrounding events").

import { clear, copyText, el, valueAt } from "./dom.js";
import { formatEventTime, toRfc3339 } from "./time.js";

const AROUND_MS = 60 * 60 * 1000;
const AROUND_EACH_SIDE = 10;

/** JSON text as spans (keys, strings, numbers, literals), every piece as a text node. */
function jsonNodes(value) {
  const text = JSON.stringify(value, null, 2);
  const nodes = [];
  const pattern = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    if (match[1] && match[2]) {
      nodes.push(el("span", { class: "json-key", text: match[1] }), document.createTextNode(match[2]));
    } else if (match[1]) nodes.push(el("span", { class: "json-string", text: match[1] }));
    else if (match[3]) nodes.push(el("span", { class: "json-literal", text: match[3] }));
    else nodes.push(el("span", { class: "json-number", text: match[4] }));
    last = match.index + match[0].length;
  }
  nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

export class EventDetail {
  /**
   * api(): the Api; namespace(): the current namespace; zone(): "utc" or "local";
   * permalink(event): the URL that opens it; onOpen(event): show another event;
   * onClose(): the pane was closed.
   */
  constructor(pane, { api, namespace, zone, permalink, onOpen, onClose }) {
    this.pane = pane;
    this.api = api;
    this.namespace = namespace;
    this.zone = zone;
    this.permalink = permalink;
    this.onOpen = onOpen;
    this.onClose = onClose;
    this.event = null;
    this.aborter = null;
  }

  get isOpen() {
    return !this.pane.hidden;
  }

  close() {
    this.aborter?.abort();
    this.event = null;
    this.pane.hidden = true;
    clear(this.pane);
  }

  /** Show an event and load its surrounding events. */
  show(event) {
    this.aborter?.abort();
    this.aborter = new AbortController();
    this.event = event;
    const status = el("span", { class: "detail-status", role: "status" });
    const flash = (text) => {
      status.textContent = text;
      setTimeout(() => { if (status.textContent === text) status.textContent = ""; }, 1600);
    };
    const link = el("a", { class: "btn btn-small", href: this.permalink(event), text: "Permalink",
      title: "A link that opens this event (copied when clicked)" });
    link.addEventListener("click", async (e) => {
      e.preventDefault();
      flash(await copyText(link.href) ? "Link copied" : "Copy failed");
    });
    const copy = el("button", { class: "btn btn-small", type: "button", text: "Copy JSON",
      on: { click: async () => flash(await copyText(JSON.stringify(event, null, 2))
        ? "JSON copied" : "Copy failed") } });
    const close = el("button", { class: "btn btn-quiet btn-small", type: "button", text: "Close",
      "aria-label": "Close the event", on: { click: () => { this.close(); this.onClose(); } } });

    const actor = valueAt(event, "actor.id");
    const around = el("div", { class: "surrounding", testid: "surrounding-events" });
    clear(this.pane).append(
      el("div", { class: "detail-head" },
        el("div", { class: "detail-title" },
          el("span", { class: "detail-action", text: event.action ?? "" }),
          el("span", { class: "muted detail-time", text: formatEventTime(event.time, this.zone()) })),
        close),
      el("div", { class: "detail-id muted", text: event.id }),
      el("div", { class: "detail-actions" }, copy, link, status),
      el("pre", { class: "json", "aria-label": "Event JSON" }, jsonNodes(event)),
      el("h3", { class: "detail-subtitle",
        text: actor ? `Surrounding events of actor ${actor}` : "Surrounding events" }),
      around,
    );
    this.pane.hidden = false;
    this.pane.scrollTop = 0;
    this.loadSurrounding(event, actor, around, this.aborter.signal);
  }

  async loadSurrounding(event, actor, container, signal) {
    if (!actor) {
      container.append(el("p", { class: "muted", text: "This event has no actor.id." }));
      return;
    }
    container.append(el("p", { class: "muted", text: "Loading…" }));
    const ms = Date.parse(event.time);
    const query = `{actor.id=${JSON.stringify(actor)}}`;
    try {
      // Before: newest first up to the event (its exact time text keeps the nanoseconds).
      const [before, after] = await Promise.all([
        this.api().search(this.namespace(), { query, start_time: toRfc3339(ms - AROUND_MS),
          end_time: event.time, sort: "DESCENDING", limit: AROUND_EACH_SIDE + 1 }, signal),
        this.api().search(this.namespace(), { query, start_time: event.time,
          end_time: toRfc3339(ms + AROUND_MS), sort: "ASCENDING", limit: AROUND_EACH_SIDE + 1 },
        signal),
      ]);
      // Both answers come sorted by the service (time, then id): the first reversed,
      // then the second, is the actor's timeline; the event itself is in both.
      const seen = new Map();
      for (const e of [...before.events.reverse(), ...after.events]) seen.set(e.id, e);
      const events = [...seen.values()];
      clear(container);
      if (events.length <= 1) {
        container.append(el("p", { class: "muted", text: "No other events of this actor within an hour." }));
      }
      const list = el("ol", { class: "surrounding-list" });
      for (const e of events) {
        const current = e.id === event.id;
        const item = el("li", { class: current ? "current" : null, dataset: { eventId: e.id },
          tabindex: current ? null : "0" },
        el("span", { class: "surrounding-time", text: formatEventTime(e.time, this.zone()) }),
        el("span", { class: "surrounding-action", text: e.action ?? "" }),
        el("span", { class: "surrounding-target",
          text: [valueAt(e, "target.kind"), valueAt(e, "target.name") || valueAt(e, "target.id")]
            .filter(Boolean).join(" · ") }),
        el("span", { class: `badge outcome-${e.outcome}`, text: e.outcome ?? "" }));
        if (!current) {
          item.addEventListener("click", () => this.onOpen(e));
          item.addEventListener("keydown", (k) => { if (k.key === "Enter") this.onOpen(e); });
        }
        list.append(item);
      }
      if (events.length > 1) container.append(list);
    } catch (error) {
      if (error.name === "AbortError") return;
      clear(container).append(el("p", { class: "error-text", text: error.message }));
    }
  }
}
