// The service's public HTTP API, as the console uses it. The key travels only in
// the Authorization header; it is never put into a URL.

const KEY_STORAGE = "auditlog.key";

/** An error answer of the API: the HTTP status and the JSON body {code, message, ...}. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

function ns(namespace) {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
}

function withParams(path, params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = { code: "http_error", message: `HTTP ${response.status} ${response.statusText}` };
  }
  return new ApiError(response.status, body);
}

export class Api {
  constructor(key) {
    this.key = key;
    this.serverTime = null; // the Date header of the last answer (the service's clock, to 1 s)
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  /** A JSON request; resolves to the parsed body, rejects with ApiError. */
  async json(method, path, { body, params, signal } = {}) {
    const init = { method, headers: this.headers(), signal, cache: "no-store" };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(withParams(path, params), init);
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date)) this.serverTime = date;
    if (!response.ok) throw await errorOf(response);
    return response.json();
  }

  me(signal) {
    return this.json("GET", "/api/v1/me", { signal });
  }

  fields(namespace, signal) {
    return this.json("GET", `${ns(namespace)}/fields`, { signal });
  }

  values(namespace, field, params, signal) {
    return this.json("GET", `${ns(namespace)}/fields/${encodeURIComponent(field)}/values`,
      { params, signal });
  }

  search(namespace, body, signal) {
    return this.json("POST", `${ns(namespace)}/events/search`, { body, signal });
  }

  aggregate(namespace, body, signal) {
    return this.json("POST", `${ns(namespace)}/events/aggregate`, { body, signal });
  }

  event(namespace, id, signal) {
    return this.json("GET", `${ns(namespace)}/events/${encodeURIComponent(id)}`, { signal });
  }

  follow(namespace, params, signal) {
    return this.json("GET", `${ns(namespace)}/events/follow`, { params, signal });
  }

  /** The export stream's Response (its body not read yet); rejects with ApiError. */
  async exportStream(namespace, params, signal) {
    const response = await fetch(withParams(`${ns(namespace)}/events/export`, params),
      { headers: this.headers(), signal, cache: "no-store" });
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}
