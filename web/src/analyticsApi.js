// analyticsApi.js — the analytics routes (docs/metrics.md, issue 6): the
// metric dictionary, metrics, trends, funnels (and their contacts), retention,
// channel costs and attribution. Every question call takes an optional
// AbortSignal so that a long query can be cancelled from the page.
import { api } from './api.js';

export const analyticsApi = {
  metrics: () => api.get('/analytics/metrics'),
  metric: (body, signal) => api.post('/analytics/metric', body, { signal }),
  trend: (body, signal) => api.post('/analytics/trend', body, { signal }),
  funnel: (body, signal) => api.post('/analytics/funnel', body, { signal }),
  funnelContacts: (body, signal) => api.post('/analytics/funnel/contacts', body, { signal }),
  retention: (body, signal) => api.post('/analytics/retention', body, { signal }),
  attribution: (body, signal) => api.post('/analytics/attribution', body, { signal }),
  costs: () => api.get('/analytics/channel-costs', { limit: 500 }),
  createCost: (body) => api.post('/analytics/channel-costs', body),
  updateCost: (id, body) => api.patch(`/analytics/channel-costs/${id}`, body),
  removeCost: (id) => api.del(`/analytics/channel-costs/${id}`),
  // Runs a question of a given kind ("metric", "trend", "funnel", "retention",
  // "attribution") — what dashboard cards store.
  run: (kind, body, signal) => api.post(`/analytics/${kind}`, body, { signal }),
};

export const KINDS = ['metric', 'trend', 'funnel', 'retention'];
export const INTERVALS = ['day', 'week', 'month'];
export const MEASURES = ['count', 'uniques', 'sum', 'avg'];
// Event dimensions a filter may name; breakdowns add the contact's owner,
// department and acquisition channel, and saved segments.
export const FILTER_PROPS = ['channel', 'store', 'category', 'sku'];
export const FILTER_OPS = ['=', '!=', 'in'];
export const BREAKDOWNS = ['channel', 'store', 'category', 'sku', 'owner', 'department', 'source', 'segment'];
export const ACTIVE = '$active';

// --- the dictionary, loaded once per session ---
let dict = null;
let dictPromise = null;
export function loadDictionary(force = false) {
  if (dict && !force) return Promise.resolve(dict);
  if (!dictPromise || force) {
    dictPromise = analyticsApi.metrics().then((r) => { dict = r.items || []; return dict; })
      .catch((e) => { dictPromise = null; throw e; });
  }
  return dictPromise;
}
export function metricDef(key) { return (dict || []).find((m) => m.key === key) || null; }

// --- dates ---
function pad(n) { return String(n).padStart(2, '0'); }
export function addDays(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

// --- formatting by unit ---
// fen → yuan with 2 decimals; ratio (0..1) → percentage; days with 1 decimal.
export function fmtValue(v, unit, locale = 'zh-CN') {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const n = Number(v);
  const loc = locale === 'en' ? 'en-US' : 'zh-CN';
  switch (unit) {
    case 'fen': return `¥${new Intl.NumberFormat(loc, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n / 100)}`;
    case 'ratio': return `${(n * 100).toFixed(2)}%`;
    case 'days': return new Intl.NumberFormat(loc, { maximumFractionDigits: 1 }).format(n);
    default: return new Intl.NumberFormat(loc, { maximumFractionDigits: 2 }).format(n);
  }
}
// The number drawn on a chart for a value: yuan for fen, percent for ratios
// (so the axis reads like the table), the value itself otherwise.
export function chartValue(v, unit) {
  if (v === null || v === undefined) return null;
  if (unit === 'fen') return Math.round(Number(v)) / 100;
  if (unit === 'ratio') return Math.round(Number(v) * 10000) / 100;
  return Number(v);
}
export function axisSuffix(unit) { return unit === 'ratio' ? '%' : ''; }

// --- question bodies ---
// Filters as the UI edits them ({property, op, value: text}) → the API's.
export function filtersBody(rows) {
  const out = [];
  for (const f of rows || []) {
    if (!f.property) continue;
    if (f.op === 'in') {
      const vals = String(f.value ?? '').split(/[,，\n]/).map((s) => s.trim()).filter(Boolean);
      out.push({ property: f.property, op: 'in', value: vals });
    } else {
      out.push({ property: f.property, op: f.op || '=', value: String(f.value ?? '') });
    }
  }
  return out;
}
export function filtersFromBody(list) {
  return (list || []).map((f) => ({ property: f.property, op: f.op, value: Array.isArray(f.value) ? f.value.join(',') : f.value }));
}
export function breakdownBody(b) {
  if (!b || !b.by) return undefined;
  if (b.by === 'segment') return { by: 'segment', segment_ids: (b.segment_ids || []).map(Number) };
  return { by: b.by };
}

// Form state (what the forms edit) → API body. Empty optional members are
// left out so the strict API never sees a field it does not expect.
export function questionBody(kind, f) {
  const b = {};
  const range = () => { if (f.from) b.from = f.from; if (f.to) b.to = f.to; };
  const common = () => {
    const bd = breakdownBody(f.breakdown);
    if (bd) b.breakdown = bd;
    if (f.segment_id) b.segment_id = Number(f.segment_id);
  };
  if (kind === 'metric') {
    b.metric = f.metric;
    range();
    if (f.interval) b.interval = f.interval;
    common();
    if (f.params && Object.keys(f.params).length) b.params = { ...f.params };
  } else if (kind === 'trend') {
    b.event = f.event;
    b.measure = f.measure || 'count';
    if (b.measure === 'sum' || b.measure === 'avg') b.property = f.property || 'amount';
    range();
    if (f.interval) b.interval = f.interval;
    const fl = filtersBody(f.filters);
    if (fl.length) b.filters = fl;
    common();
  } else if (kind === 'funnel') {
    b.steps = (f.steps || []).map((s) => {
      const st = { event: s.event };
      const fl = filtersBody(s.filters);
      if (fl.length) st.filters = fl;
      return st;
    });
    b.window = { value: Number(f.window?.value), unit: f.window?.unit || 'day' };
    b.order = f.order || 'loose';
    range();
    common();
  } else if (kind === 'retention') {
    b.start_event = f.start_event;
    b.return_event = f.return_event;
    b.interval = f.interval || 'day';
    b.periods = Number(f.periods);
    b.mode = f.mode || 'exact';
    range();
    if (f.segment_id) b.segment_id = Number(f.segment_id);
  } else if (kind === 'attribution') {
    range();
    if (f.conversion_days) b.conversion_days = Number(f.conversion_days);
  }
  return b;
}

// API body → form state (editing a saved card).
export function formFromBody(kind, b) {
  const f = defaultForm(kind);
  if (!b) return f;
  Object.assign(f, JSON.parse(JSON.stringify(b)));
  if (b.breakdown) f.breakdown = { by: b.breakdown.by, segment_ids: b.breakdown.segment_ids || [] };
  else f.breakdown = { by: '', segment_ids: [] };
  if (kind === 'trend') f.filters = filtersFromBody(b.filters);
  if (kind === 'funnel') f.steps = (b.steps || []).map((s) => ({ event: s.event, filters: filtersFromBody(s.filters) }));
  return f;
}

export function defaultForm(kind) {
  const base = { from: '', to: '', breakdown: { by: '', segment_ids: [] }, segment_id: null };
  switch (kind) {
    case 'metric': return { ...base, metric: 'dau', interval: 'day', params: {} };
    case 'trend': return { ...base, event: ACTIVE, measure: 'count', property: 'amount', interval: 'day', filters: [] };
    case 'funnel': return {
      ...base,
      steps: [{ event: '', filters: [] }, { event: '', filters: [] }],
      window: { value: 7, unit: 'day' }, order: 'loose',
    };
    case 'retention': return { ...base, start_event: '', return_event: ACTIVE, interval: 'day', periods: 7, mode: 'exact' };
    case 'attribution': return { from: '', to: '', conversion_days: 30 };
    default: return base;
  }
}

// Funnel step rates computed from counts (for breakdown rows).
export function rate(n, d) { return d ? n / d : null; }
