// The view in the URL as readable query parameters, so a copied address restores it
// and back/forward walk through the searches:
//   ?ns=demo&q={action="login"}&from=now-1h&to=now&tz=utc&cols=time,actor,action
// plus event=<id> while an event is open. The API key is never part of it.

export const DEFAULT_COLUMNS = ["time", "actor", "action", "target", "outcome", "source_ip"];

export const DEFAULT_VIEW = Object.freeze({
  ns: "",
  q: "",
  from: "now-15m",
  to: "now",
  tz: "utc",
  cols: DEFAULT_COLUMNS,
  event: "",
});

/** The view a location's query string describes (defaults for what it lacks). */
export function viewFromSearch(search) {
  const params = new URLSearchParams(search);
  const cols = (params.get("cols") || "").split(",").map((c) => c.trim()).filter(Boolean);
  const tz = params.get("tz");
  return {
    ns: params.get("ns") || "",
    q: params.get("q") ?? DEFAULT_VIEW.q,
    from: params.get("from") || DEFAULT_VIEW.from,
    to: params.get("to") || DEFAULT_VIEW.to,
    tz: tz === "local" ? "local" : "utc",
    cols: cols.length ? cols : [...DEFAULT_COLUMNS],
    event: params.get("event") || "",
  };
}

/** The query string of a view: readable, URL-encoded text, defaults left out where safe. */
export function searchOfView(view) {
  const params = new URLSearchParams();
  if (view.ns) params.set("ns", view.ns);
  params.set("q", view.q);
  params.set("from", view.from);
  params.set("to", view.to);
  params.set("tz", view.tz);
  params.set("cols", view.cols.join(","));
  if (view.event) params.set("event", view.event);
  // URLSearchParams writes spaces as "+" and escapes everything but letters and digits;
  // the characters RFC 3986 allows in a query as they are stay readable (braces and
  // quotes do not: they stay escaped).
  return `?${params.toString().replace(/%(2C|3A|2F|3D|21|7E|40)/gi,
    (escaped) => decodeURIComponent(escaped))}`;
}

/** Whether two views show the same thing (the open event aside). */
export function sameSearch(a, b) {
  return a.ns === b.ns && a.q === b.q && a.from === b.from && a.to === b.to && a.tz === b.tz
    && a.cols.join(",") === b.cols.join(",");
}
