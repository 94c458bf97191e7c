// Time windows as the user writes them (presets, "now-15m", absolute times in UTC or
// local time, RFC 3339, unix seconds) and as the API wants them (RFC 3339 UTC).

export const PRESETS = [
  ["now-5m", "Last 5 minutes"],
  ["now-15m", "Last 15 minutes"],
  ["now-1h", "Last hour"],
  ["now-4h", "Last 4 hours"],
  ["now-24h", "Last 24 hours"],
  ["now-7d", "Last 7 days"],
  ["now-30d", "Last 30 days"],
  ["now-90d", "Last 90 days"],
  ["now-365d", "Last year"],
];

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const RELATIVE = /^now(?:\s*-\s*(\d+)\s*([smhdw]))?$/i;
const LOCAL_FORM = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;
const OFFSET_FORM = /(?:Z|[+-]\d{2}:?\d{2})$/i;

/** Whether the text is relative to now ("now", "now-15m"). */
export function isRelative(text) {
  return RELATIVE.test(String(text).trim());
}

/**
 * The instant a time input means, in epoch milliseconds; throws Error with a readable
 * message when it is none of the accepted forms. `zone` ("utc" or "local") applies to
 * forms without an offset.
 */
export function resolveTime(text, zone, now = Date.now()) {
  const value = String(text).trim();
  const relative = RELATIVE.exec(value);
  if (relative) {
    return relative[1] ? now - Number(relative[1]) * UNIT_MS[relative[2].toLowerCase()] : now;
  }
  if (/^\d+(?:\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const local = LOCAL_FORM.exec(value);
  if (local) {
    const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "0"] = local;
    const ms = Number(frac.padEnd(3, "0").slice(0, 3));
    const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms];
    const time = zone === "local" ? new Date(...parts).getTime() : Date.UTC(...parts);
    if (!Number.isNaN(time)) return time;
  }
  if (OFFSET_FORM.test(value)) {
    const time = Date.parse(value);
    if (!Number.isNaN(time)) return time;
  }
  throw new Error(`"${value}" is not a time: use now-15m, 2024-05-01 12:00:00, RFC 3339 or unix seconds`);
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

/** Epoch ms as "YYYY-MM-DD HH:MM:SS[.mmm]" in the zone (what the time inputs show). */
export function formatTime(ms, zone) {
  const d = new Date(ms);
  const utc = zone !== "local";
  const parts = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(),
      d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(),
      d.getSeconds(), d.getMilliseconds()];
  const [y, mo, day, h, mi, s, milli] = parts;
  const base = `${y}-${pad(mo)}-${pad(day)} ${pad(h)}:${pad(mi)}:${pad(s)}`;
  return milli ? `${base}.${pad(milli, 3)}` : base;
}

/** An event's RFC 3339 time as table text in the zone, to the millisecond. */
export function formatEventTime(text, zone) {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return String(text ?? "");
  const shown = formatTime(ms, zone);
  return shown.length === 19 ? `${shown}.000` : shown;
}

/** Epoch ms as RFC 3339 UTC with milliseconds (what the API is sent). */
export function toRfc3339(ms) {
  return new Date(ms).toISOString();
}

const STEPS = [
  ["1s", 1000], ["5s", 5000], ["10s", 10_000], ["30s", 30_000], ["1m", 60_000],
  ["5m", 300_000], ["10m", 600_000], ["30m", 1_800_000], ["1h", 3_600_000],
  ["3h", 10_800_000], ["6h", 21_600_000], ["12h", 43_200_000], ["1d", 86_400_000],
  ["7d", 604_800_000], ["30d", 2_592_000_000],
];

/** The histogram step for a span: the smallest that keeps the bars at most `bars`. */
export function chooseStep(spanMs, bars = 100) {
  for (const [step, ms] of STEPS) if (spanMs / ms <= bars) return { step, ms };
  const [step, ms] = STEPS.at(-1);
  return { step, ms };
}

/** A span as short text: "15 minutes", "2 days". */
export function describeSpan(ms) {
  const units = [["day", 86_400_000], ["hour", 3_600_000], ["minute", 60_000], ["second", 1000]];
  for (const [name, size] of units) {
    if (ms >= size) {
      const n = Math.round(ms / size);
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${ms} ms`;
}

/**
 * A time input as the API is sent it: {ms, text}. Absolute UTC and RFC 3339 inputs keep
 * every fractional digit given (the API's windows are inclusive to the nanosecond);
 * relative and local-time inputs are sent to the millisecond.
 */
export function apiTime(input, zone, now = Date.now()) {
  const value = String(input).trim();
  const ms = resolveTime(value, zone, now);
  const local = LOCAL_FORM.exec(value);
  if (local && zone !== "local") {
    const [, y, mo, d, h = "00", mi = "00", s = "00", frac] = local;
    return { ms, text: `${y}-${mo}-${d}T${h}:${mi}:${s}${frac ? `.${frac}` : ""}Z` };
  }
  if (!local && OFFSET_FORM.test(value)) return { ms, text: value };
  return { ms, text: toRfc3339(ms) };
}
