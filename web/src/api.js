// api.js — the console's only way to talk to the server: the public JSON API
// under /api/v1 with a cookie session. Every non-GET request carries the CSRF
// token returned by POST /api/v1/auth/login (kept in sessionStorage so that a
// reload of the tab keeps working while the HttpOnly cookie is valid).
//
// Errors come back as ApiError {status, code, message, field}; a 401 on any
// call except the login itself fires the "session expired" handler, which
// the app uses to show a prompt and return to the login page.

const BASE = '/api/v1';
const CSRF_KEY = 'siyu.csrf';

let csrfToken = sessionStorage.getItem(CSRF_KEY) || '';
let onExpired = null;

export class ApiError extends Error {
  constructor(status, code, message, field, details) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || 'error';
    this.field = field || null;
    this.details = details || {};
  }
}

export function setCsrf(token) {
  csrfToken = token || '';
  if (csrfToken) sessionStorage.setItem(CSRF_KEY, csrfToken);
  else sessionStorage.removeItem(CSRF_KEY);
}

// Registers the callback run when the server answers 401 (session gone).
export function onSessionExpired(fn) { onExpired = fn; }

// Builds a query string from an object, skipping empty values; arrays repeat.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) { if (v.length) u.set(k, v.join(',')); } else u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

async function toError(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const e = body && body.error ? body.error : {};
  const details = e.details || {};
  return new ApiError(res.status, e.code, e.message || res.statusText, details.field, details);
}

// Sends one request. body: plain object (JSON), or {raw, type} for bytes.
// opts.noExpire: do not treat 401 as an expired session (the login form).
// opts.response: return the fetch Response itself (downloads).
// opts.signal: AbortSignal (the fetch rejects with an AbortError when it fires).
export async function request(method, path, body, opts = {}) {
  const headers = { accept: 'application/json' };
  let payload;
  if (body instanceof Blob || body instanceof ArrayBuffer || body instanceof Uint8Array) {
    payload = body;
    headers['content-type'] = opts.contentType || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const url = path.startsWith('/api/') ? path : BASE + path;
  const res = await fetch(url, { method, headers, body: payload, credentials: 'same-origin', signal: opts.signal });
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && !opts.noExpire && onExpired) onExpired(err);
    throw err;
  }
  if (opts.response) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  const ct = res.headers.get('content-type') || '';
  return ct.includes('json') ? JSON.parse(text) : text;
}

export const api = {
  get: (p, params, opts) => request('GET', p + qs(params), undefined, opts),
  post: (p, body, opts) => request('POST', p, body, opts),
  put: (p, body, opts) => request('PUT', p, body, opts),
  patch: (p, body, opts) => request('PATCH', p, body, opts),
  del: (p, body, opts) => request('DELETE', p, body, opts),
};

// Walks every page of a list route (bounded by max items) — for small
// reference lists like staff, stores, departments, channels.
export async function listAll(path, params = {}, max = 2000) {
  const items = [];
  let cursor = null;
  do {
    const page = await api.get(path, { ...params, limit: 500, cursor });
    items.push(...(page.items || []));
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

// Downloads a response body as a file with the server's file name.
export async function download(path, params, fallbackName) {
  const res = await request('GET', path + qs(params), undefined, { response: true });
  const blob = await res.blob();
  const cd = res.headers.get('content-disposition') || '';
  let name = fallbackName;
  const m = cd.match(/filename\*=UTF-8''([^;]+)/i) || cd.match(/filename="?([^";]+)"?/i);
  if (m) name = decodeURIComponent(m[1]);
  saveBlob(blob, name);
  return { name, size: blob.size };
}

export function saveBlob(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
