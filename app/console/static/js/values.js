// Field values for completion and the sidebar, cached per namespace, field and prefix.
// A lookup answers at once from what is cached (a shorter prefix's answer, filtered,
// will do) and fetches the exact prefix in the background.

const LIMIT = 50;
const DEBOUNCE_MS = 120;

export class ValueCache {
  /** api(), namespace(), window(): {start_time, end_time} of the search shown. */
  constructor({ api, namespace, window }) {
    this.api = api;
    this.namespace = namespace;
    this.window = window;
    this.entries = new Map();
    this.timer = null;
  }

  clear() {
    this.entries.clear();
  }

  key(field, prefix) {
    return `${this.namespace()}\u0000${field}\u0000${prefix}`;
  }

  /** Values of `field` starting with `prefix` known now; onUpdate() when more arrive. */
  lookup(field, prefix, onUpdate) {
    const exact = this.entries.get(this.key(field, prefix));
    if (exact) return exact.values;
    let best = null;
    for (let n = prefix.length - 1; n >= 0 && !best; n -= 1) {
      best = this.entries.get(this.key(field, prefix.slice(0, n))) || null;
    }
    const needle = prefix.toLowerCase();
    const known = best ? best.values.filter((v) => v.value.toLowerCase().includes(needle)) : [];
    if (!best || !best.complete) this.schedule(field, prefix, onUpdate);
    return known;
  }

  schedule(field, prefix, onUpdate) {
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      const key = this.key(field, prefix);
      if (this.entries.has(key)) return;
      try {
        const answer = await this.api().values(this.namespace(), field,
          { prefix, limit: LIMIT, ...this.window() });
        const values = answer.values.map((v) => ({ value: String(v.value), count: v.count }));
        this.entries.set(key, { values, complete: values.length < LIMIT });
        onUpdate();
      } catch {
        // Completion is a convenience: a failed lookup leaves the list as it was.
      }
    }, DEBOUNCE_MS);
  }

  /** The top values of a field among the matches of `query` (the sidebar's), fetched now. */
  async fetchTop(field, limit, query) {
    const answer = await this.api().values(this.namespace(), field,
      { limit, query, ...this.window() });
    return answer.values.map((v) => ({ value: String(v.value), count: v.count }));
  }
}
