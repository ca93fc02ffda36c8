// The gateway's HTTP API, with the operator's token. The token lives in sessionStorage
// only: it is gone when the tab closes.

const KEY = "gateway.dashboard.token";

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || null;
    this.field = error.field || null;
    this.body = body;
  }
}

/** Called when the gateway refuses the token (401): the dashboard signs out. */
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${token.get() || ""}`, ...extra };
}

/** JSON in, JSON out; null for 204. Errors are ApiError (a 401 also signs out). */
export async function api(method, path, body) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, { error: { code: "offline", message: "the gateway cannot be reached" } });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    onUnauthorized("Your token was refused: it is wrong or has been revoked. Sign in again.");
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** A file (a message's image or document) as a Blob, with the same token. */
export async function blob(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(response.status, data);
  }
  return response.blob();
}

/** The query string of the non-empty values. */
export function query(params) {
  const kept = Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  return kept.length ? `?${new URLSearchParams(kept)}` : "";
}
