// segmentsApi.js — the segment routes (docs/segments.md,
// docs/openapi/segments.json): preview of a definition, saved segments and
// their versions, members, CSV export and snapshots.
import { api } from './api.js';

export const segmentsApi = {
  preview: (definition) => api.post('/segments/preview', { definition }),
  list: (cursor) => api.get('/segments', { limit: 100, cursor }),
  get: (id) => api.get(`/segments/${id}`),
  create: (body) => api.post('/segments', body),
  update: (id, body) => api.patch(`/segments/${id}`, body),
  remove: (id) => api.del(`/segments/${id}`),
  versions: (id) => api.get(`/segments/${id}/versions`),
  members: (id, cursor, limit = 50) => api.get(`/segments/${id}/members`, { limit, cursor }),
  csvPath: (id) => `/segments/${id}/members.csv`,
  snapshot: (id) => api.post(`/segments/${id}/snapshots`, {}),
};

// --- the builder's tree <-> the definition language ---
//
// The builder edits UI nodes: groups {kind:'group', op:'and'|'or', negate,
// children} and conditions {kind:'cond', type, negate, ...fields}. negate
// wraps the node in {"not": …}. toDefinition also returns, for every JSON
// path the server may name in details.field ("$.and[1].event"), the UI node
// it belongs to, so an error can be shown at that node.

let seq = 0;
export function newGroup(op = 'and') { return { uid: ++seq, kind: 'group', op, negate: false, children: [] }; }
export function newCond(type = 'tag') {
  return {
    uid: ++seq, kind: 'cond', type, negate: false,
    tag: null, attribute: 'city', op: '=', value: '', identity: 'phone', ref: null,
    event: '', did: true, where: [], countGte: null, countLte: null, window: 'last_days', days: 30, between: [],
  };
}

// Standard attributes and their types (docs/segments.md); custom ones come
// from the attribute definitions.
export const STD_ATTRS = {
  name: 'text', city: 'text', company: 'text', gender: 'enum', status: 'enum', source_id: 'number', birthday: 'date', created_at: 'time',
};
export const OPS = {
  text: ['=', '!=', 'in', 'contains', 'is_set', 'not_set'],
  enum: ['=', '!=', 'in', 'is_set', 'not_set'],
  number: ['=', '!=', '<', '>', 'in', 'is_set', 'not_set'],
  date: ['=', '!=', '<', '>', 'is_set', 'not_set', 'within_last_days'],
  time: ['<', '>', 'within_last_days'],
  bool: ['=', '!=', 'is_set', 'not_set'],
};
export const DIMENSIONS = ['category', 'store', 'channel', 'sku'];

function attrValue(n, type) {
  if (n.op === 'is_set' || n.op === 'not_set') return undefined;
  const raw = n.value;
  if (n.op === 'within_last_days') return Number(raw);
  if (n.op === 'in') {
    const parts = String(raw ?? '').split(/[,，\n]/).map((s) => s.trim()).filter(Boolean);
    return type === 'number' ? parts.map(Number) : parts;
  }
  if (type === 'number') return raw === '' || raw === null ? raw : Number(raw);
  if (type === 'bool') return raw === true || raw === 'true';
  if (type === 'time' && /^\d+$/.test(String(raw))) return Number(raw);
  return raw;
}

function condDef(n, attrType) {
  switch (n.type) {
    case 'tag': return { tag: n.tag };
    case 'segment': return { segment: n.ref };
    case 'owner': return { owner: n.ref };
    case 'store': return { store: n.ref };
    case 'department': return { department: n.ref };
    case 'identity': return { identity: n.identity, op: 'has' };
    case 'attribute': {
      const d = { attribute: n.attribute, op: n.op };
      const v = attrValue(n, attrType(n.attribute));
      if (v !== undefined) d.value = v;
      return d;
    }
    case 'event': {
      const d = { event: n.event };
      if (!n.did) d.did = false;
      const where = {};
      for (const w of n.where) if (w.dim && w.value !== '') where[w.dim] = w.value;
      if (Object.keys(where).length) d.where = where;
      if (n.did) {
        const c = {};
        if (n.countGte !== null && n.countGte !== undefined && n.countGte !== '') c.gte = Number(n.countGte);
        if (n.countLte !== null && n.countLte !== undefined && n.countLte !== '') c.lte = Number(n.countLte);
        if (Object.keys(c).length) d.count = c;
      }
      if (n.window === 'last_days' || n.window === 'last_calendar_days') d[n.window] = Number(n.days);
      else if (n.window === 'between') d.between = n.between && n.between.length === 2 ? [n.between[0], n.between[1]] : [];
      return d;
    }
    default: return {};
  }
}

// Returns {definition, paths: Map(path -> uid)}.
export function toDefinition(root, attrType = (a) => STD_ATTRS[a] || 'text') {
  const paths = new Map();
  const walk = (n, p) => {
    paths.set(p, n.uid);
    const inner = n.negate ? `${p}.not` : p;
    if (n.negate) paths.set(inner, n.uid);
    let d;
    if (n.kind === 'group') {
      d = { [n.op]: n.children.map((c, i) => walk(c, `${inner}.${n.op}[${i}]`)) };
    } else {
      d = condDef(n, attrType);
    }
    return n.negate ? { not: d } : d;
  };
  return { definition: walk(root, '$'), paths };
}

// The UI node a server error path names: the longest registered prefix.
// Returns {uid, rest} where rest is what follows (".event", ".between[0]").
export function nodeForPath(paths, field) {
  if (!field || !field.startsWith('$')) return null;
  let p = field;
  while (p) {
    if (paths.has(p)) return { uid: paths.get(p), rest: field.slice(p.length) };
    const m = p.match(/^(.*)(\.[^.[\]]+|\[\d+\])$/);
    if (!m) break;
    p = m[1];
  }
  return null;
}

// Back from a saved definition to builder nodes (for editing). Nodes the
// builder cannot show are kept as a condition of type "raw".
export function fromDefinition(d) {
  if (d && d.not !== undefined) { const n = fromDefinition(d.not); n.negate = !n.negate; return n; }
  if (d && (Array.isArray(d.and) || Array.isArray(d.or))) {
    const op = d.and ? 'and' : 'or';
    const g = newGroup(op);
    g.children = d[op].map(fromDefinition);
    return g;
  }
  const c = newCond();
  if (!d || typeof d !== 'object') return c;
  if (d.tag !== undefined) { c.type = 'tag'; c.tag = d.tag; }
  else if (d.segment !== undefined) { c.type = 'segment'; c.ref = d.segment; }
  else if (d.owner !== undefined) { c.type = 'owner'; c.ref = d.owner; }
  else if (d.store !== undefined) { c.type = 'store'; c.ref = d.store; }
  else if (d.department !== undefined) { c.type = 'department'; c.ref = d.department; }
  else if (d.identity !== undefined) { c.type = 'identity'; c.identity = d.identity; }
  else if (d.attribute !== undefined) {
    c.type = 'attribute'; c.attribute = d.attribute; c.op = d.op;
    c.value = Array.isArray(d.value) ? d.value.join(',') : (d.value ?? '');
  } else if (d.event !== undefined) {
    c.type = 'event'; c.event = d.event; c.did = d.did !== false;
    c.where = Object.entries(d.where || {}).map(([dim, value]) => ({ dim, value: String(value) }));
    c.countGte = d.count?.gte ?? null; c.countLte = d.count?.lte ?? null;
    if (d.last_days !== undefined) { c.window = 'last_days'; c.days = d.last_days; }
    else if (d.last_calendar_days !== undefined) { c.window = 'last_calendar_days'; c.days = d.last_calendar_days; }
    else if (d.between) { c.window = 'between'; c.between = d.between; }
    else c.window = 'none';
  }
  return c;
}
