// Live mode: the follow feed (DESIGN §10) long-polled with its cursor. Pausing keeps
// the cursor, so resuming delivers what arrived meanwhile: no gap, no repeat.

const WAIT_SECONDS = 20;
const LIMIT = 500;
const RETRY_MS = 3000;

export class LiveFeed {
  /**
   * api(): the Api; onEvents(events): new events, oldest first; onState(state): "on",
   * "paused" or "off"; onError(error): a failure worth showing.
   */
  constructor({ api, onEvents, onState, onError }) {
    this.api = api;
    this.onEvents = onEvents;
    this.onState = onState;
    this.onError = onError;
    this.stream = null; // {namespace, query, cursor, startTime}
    this.aborter = null;
  }

  get active() {
    return this.aborter !== null;
  }

  /** Follow `query` in `namespace`, from the cursor kept for them or from `startTime`. */
  start(namespace, query, startTime) {
    const same = this.stream && this.stream.namespace === namespace && this.stream.query === query;
    if (!same) this.stream = { namespace, query, cursor: "", startTime };
    this.aborter?.abort();
    this.aborter = new AbortController();
    this.onState("on");
    this.loop(this.stream, this.aborter.signal);
  }

  /** Stop polling and keep the cursor. */
  pause() {
    if (!this.aborter) return;
    this.aborter.abort();
    this.aborter = null;
    this.onState(this.stream ? "paused" : "off");
  }

  /** Stop and forget the cursor (the query or namespace changed). */
  reset() {
    this.aborter?.abort();
    this.aborter = null;
    this.stream = null;
    this.onState("off");
  }

  async loop(stream, signal) {
    let caughtUp = false;
    while (!signal.aborted) {
      const params = { query: stream.query, limit: LIMIT, wait: caughtUp ? WAIT_SECONDS : 0 };
      if (stream.cursor) params.cursor = stream.cursor;
      else params.start_time = stream.startTime;
      try {
        const answer = await this.api().follow(stream.namespace, params, signal);
        if (signal.aborted) return;
        stream.cursor = answer.cursor || stream.cursor;
        caughtUp = Boolean(answer.caught_up);
        if (answer.events && answer.events.length) this.onEvents(answer.events);
      } catch (error) {
        if (error.name === "AbortError" || signal.aborted) return;
        this.onError(error);
        if (error.status && error.status >= 400 && error.status < 429) {
          // A refusal (bad cursor, no such endpoint, no access) will not heal by retrying.
          this.aborter = null;
          this.stream = null;
          this.onState("off");
          return;
        }
        await new Promise((resolve) => { setTimeout(resolve, RETRY_MS); });
      }
    }
  }
}
