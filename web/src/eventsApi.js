// eventsApi.js — the event routes the console uses (docs/openapi/events.json):
// the catalog (数据规范) with declared schemas, order rules, a contact's
// computed profile and events, and identity conflicts.
import { api } from './api.js';
import { can } from './session.js';
import { fmtPhone } from './format.js';

// Property types a declared schema may name, as the API spells them.
export const SCHEMA_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'];

const enc = encodeURIComponent;

export const eventsApi = {
  catalog: () => api.get('/events/catalog'),
  catalogOne: (name, days = 30) => api.get(`/events/catalog/${enc(name)}`, { days }),
  // body: {schema: {required: [...], properties: {name: type}} | null, description: string | null}
  declare: (name, body) => api.put(`/events/catalog/${enc(name)}`, body),
  settings: () => api.get('/events/settings'),
  saveSettings: (body) => api.put('/events/settings', body),
  profile: (contactId) => api.get(`/contacts/${contactId}/profile`),
  contactEvents: (contactId, { event, limit = 20, cursor } = {}) => api.get(`/contacts/${contactId}/events`, { event, limit, cursor }),
  conflicts: (status = 'open', cursor) => api.get('/identity/conflicts', { status, limit: 50, cursor }),
  dismissConflict: (id) => api.post(`/identity/conflicts/${id}/dismiss`, {}),
};

// The catalog's example values are JSON text ("\"食品\"", "69.989999999999995"):
// shown as the value people would type (食品, 69.99).
export function showExample(ex) {
  if (ex === null || ex === undefined || ex === '') return '—';
  try {
    const v = JSON.parse(ex);
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(Number.isInteger(v) ? v : Number(v.toPrecision(12)));
    return JSON.stringify(v);
  } catch {
    return String(ex);
  }
}

// A property value in one short line (timeline, event lists).
export function showValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') {
    const s = JSON.stringify(v);
    return s.length > 40 ? `${s.slice(0, 39)}…` : s;
  }
  const s = String(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

// Up to n "key: value" pairs of an event's properties (or traits), the ones
// people look for first.
const KEY_PROPS = ['order_id', 'amount', 'revenue', 'total', 'sku', 'category', 'store', 'name', 'title', 'url', 'path', 'coupon', 'channel'];
export function keyProps(e, n = 4) {
  const props = { ...(e.traits || {}), ...(e.properties || {}) };
  if (e.name && !props.name) props.name = e.name;
  const keys = Object.keys(props);
  keys.sort((a, b) => {
    const ia = KEY_PROPS.indexOf(a), ib = KEY_PROPS.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  return keys.slice(0, n).map((k) => `${k}: ${k === 'phone' ? showPhone(props[k]) : showValue(props[k])}`);
}

// Phones in event traits: as the contact API shows them, 11 digits for
// mainland numbers, masked (138****5678) for viewers without contacts.phone.
// The events API already masks them for such viewers; this keeps the display
// consistent (11 digits, no +86) for those who may see them.
export function showPhone(v) {
  if (typeof v !== 'string') return showValue(v);
  const p = fmtPhone(v);
  if (can('contacts.phone')) return p;
  return p.length >= 7 ? `${p.slice(0, 3)}****${p.slice(-4)}` : '****';
}
