// analytics.test.mjs — the analytics API against a real server on demo data:
// every route answers; the metric dictionary is docs/metrics.md word for
// word; every metric computes; bad questions get 400 naming the field;
// channel costs CRUD and attribution; data scopes (a sales rep never sees
// workspace totals); funnel numbers agree with funnel/contacts.
// The numbers themselves are checked against plain loops in
// tests/unit/test_analytics.c.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DAY = 86400000;
const SH = 8 * 3600000; // demo workspace timezone: Asia/Shanghai

let srv, admin;

before(async () => {
  srv = await startServer({ contacts: 300 });
  admin = srv.admin();
});
after(async () => { await srv?.stop(); srv?.cleanup(); });

// workspace-timezone day strings
const dayOf = (ms) => new Date(ms + SH).toISOString().slice(0, 10);
const today = () => dayOf(Date.now());
const addDays = (d, n) => new Date(Date.parse(d + 'T00:00:00Z') + n * DAY).toISOString().slice(0, 10);
const startMs = (d) => Date.parse(d + 'T00:00:00Z') - SH;

function assertError(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.body?.error?.code, code, res.text);
  assert.ok(res.body.error.message.length > 0);
  if (field !== undefined) {
    const f = res.body.error.details?.field;
    if (Array.isArray(field)) assert.ok(field.includes(f), `field ${f}, want one of ${field}: ${res.text}`);
    else assert.equal(f, field, res.text);
  }
}

async function ok(res, status = 200) {
  const r = await res;
  assert.equal(r.status, status, r.text);
  return r.body;
}

const close = (a, b, msg) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${msg}: ${a} vs ${b}`);

// --- the dictionary: docs/metrics.md tables -------------------------------

function docMetrics() {
  const md = readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
  const start = md.indexOf('## Analytics: the metric dictionary');
  const end = md.indexOf('## Analytics: questions');
  assert.ok(start > 0 && end > start, 'docs/metrics.md has the dictionary section');
  const rows = [];
  let group = null;
  let dayBoundary = null;
  for (const line of md.slice(start, end).split('\n')) {
    const h = line.match(/^### (\S+)/);
    if (h) group = h[1].toLowerCase();
    const b = line.match(/^Day boundary for every metric above: (.*)\.$/);
    if (b) dayBoundary = b[1];
    const m = line.match(/^\| `([a-z0-9_]+)` \| (.*) \|$/);
    if (!m) continue;
    const cells = m[2].split(' | ');
    assert.equal(cells.length, 6, `row of ${m[1]}: ${line}`);
    rows.push({ key: m[1], group, name: cells[0], unit: cells[1], formula: cells[2], dedup: cells[3], edge_cases: cells[4], params: cells[5] });
  }
  return { rows, dayBoundary };
}

const METRIC_KEYS = ['dau', 'wau', 'mau', 'stickiness', 'new_contacts', 'effective_new_contacts',
  'activation_rate', 'first_order_conversion', 'next_month_repurchase', 'repurchase_rate',
  'repurchase_interval', 'gmv', 'aov', 'arpu', 'arppu', 'ltv', 'cart_abandonment', 'retention_d1',
  'retention_d7', 'retention_d30', 'referral_per_capita', 'referral_conversion', 'referral_new_share',
  'cac', 'roi'];

test('GET /analytics/metrics is the dictionary of docs/metrics.md, word for word', async () => {
  const { items } = await ok(admin.get('/api/v1/analytics/metrics'));
  const { rows, dayBoundary } = docMetrics();
  assert.ok(dayBoundary, 'the day boundary sentence');
  assert.deepEqual(items.map((i) => i.key).sort(), [...METRIC_KEYS].sort(), 'the keys of the contract');
  assert.deepEqual(rows.map((r) => r.key).sort(), items.map((i) => i.key).sort(), 'every key documented, nothing else');
  for (const it of items) {
    const d = rows.find((r) => r.key === it.key);
    assert.equal(d.name, `${it.name_zh} (${it.name_en})`, `${it.key} name`);
    assert.equal(d.unit, it.unit, `${it.key} unit`);
    assert.ok(['contacts', 'count', 'fen', 'ratio', 'days'].includes(it.unit), `${it.key} unit ${it.unit}`);
    assert.equal(d.formula, it.formula, `${it.key} formula`);
    assert.equal(d.dedup, it.dedup, `${it.key} de-duplication`);
    assert.equal(d.edge_cases, it.edge_cases, `${it.key} edge cases`);
    assert.equal(d.group, it.group, `${it.key} group (the ### section)`);
    assert.equal(it.day_boundary, dayBoundary, `${it.key} day boundary`);
    const params = it.params.length ? it.params.map((p) => `\`${p.name}\` = ${JSON.stringify(p.default)}`).join(', ') : '—';
    assert.equal(d.params, params, `${it.key} params`);
  }
});

test('every metric answers with periods and series (day, week, month, breakdowns)', async () => {
  const { items } = await ok(admin.get('/api/v1/analytics/metrics'));
  const units = Object.fromEntries(items.map((i) => [i.key, i.unit]));
  for (const key of METRIC_KEYS) {
    for (const interval of ['day', 'week', 'month']) {
      const b = await ok(admin.post('/api/v1/analytics/metric', { metric: key, interval }));
      assert.equal(b.metric, key);
      assert.equal(b.unit, units[key], key);
      assert.ok(Array.isArray(b.periods) && b.periods.length > 0, `${key} periods`);
      for (const p of b.periods) assert.match(p, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(b.series.length >= 1, `${key} series`);
      for (const s of b.series) {
        assert.equal(s.values.length, b.periods.length, `${key} ${interval} values per period`);
        for (const v of s.values) assert.ok(v === null || typeof v === 'number', `${key} value ${v}`);
        if (b.unit === 'ratio') for (const v of s.values) assert.ok(v === null || (v >= 0 && v <= 1) || key === 'roi', `${key} ratio ${v}`);
      }
      assert.ok('total' in b && typeof b.truncated === 'boolean', key);
      if (interval === 'week' && key !== 'next_month_repurchase') for (const p of b.periods.slice(1)) assert.equal(new Date(p + 'T00:00:00Z').getUTCDay(), 1, `${key} weeks start on Monday: ${p}`);
    }
  }
  // contact breakdowns
  for (const by of ['owner', 'department', 'source', 'store']) {
    const b = await ok(admin.post('/api/v1/analytics/metric', { metric: 'dau', breakdown: { by } }));
    assert.ok(b.series.length >= 1, by);
  }
  // dau per day = distinct active contacts per day = trend uniques of $active
  const from = addDays(today(), -20), to = addDays(today(), -1);
  const dau = await ok(admin.post('/api/v1/analytics/metric', { metric: 'dau', from, to }));
  const tr = await ok(admin.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to }));
  assert.deepEqual(dau.periods, tr.periods);
  assert.deepEqual(dau.series[0].values, tr.series[0].values);
  assert.ok(tr.series[0].total > 0, 'demo data has activity in the last 20 days');
  // a week's dau is the mean of its days
  const wk = await ok(admin.post('/api/v1/analytics/metric', { metric: 'dau', from, to, interval: 'week' }));
  for (let i = 0; i < wk.periods.length; i++) {
    const days = dau.periods.map((p, k) => [p, dau.series[0].values[k]]).filter(([p]) => p >= wk.periods[i] && (i + 1 === wk.periods.length || p < wk.periods[i + 1]));
    close(wk.series[0].values[i], days.reduce((s, [, v]) => s + v, 0) / days.length, `week ${wk.periods[i]}`);
  }
  // gmv = trend sum of the order amount (each order_id once)
  const gmv = await ok(admin.post('/api/v1/analytics/metric', { metric: 'gmv', from, to }));
  const sum = await ok(admin.post('/api/v1/analytics/trend', { event: 'order_paid', measure: 'sum', property: 'amount', from, to }));
  assert.deepEqual(gmv.series[0].values, sum.series[0].values);
});

test('trend, funnel, funnel/contacts, retention, attribution, channel costs answer', async () => {
  const t = await ok(admin.post('/api/v1/analytics/trend', { event: 'view_item', measure: 'count', breakdown: { by: 'channel' } }));
  assert.equal(t.unit, 'count');
  const u = await ok(admin.post('/api/v1/analytics/trend', { event: 'order_paid', measure: 'avg', property: 'amount', interval: 'week', filters: [{ property: 'channel', op: '!=', value: 'nowhere' }] }));
  assert.equal(u.unit, 'fen');
  const f = await ok(admin.post('/api/v1/analytics/funnel', { steps: [{ event: 'add_wechat' }, { event: 'join_group' }, { event: 'order_paid' }], window: { value: 7, unit: 'day' } }));
  assert.equal(f.steps.length, 3);
  assert.ok(f.steps[0].count > 0 && f.steps[0].count >= f.steps[2].count);
  const fc = await ok(admin.post('/api/v1/analytics/funnel/contacts', { steps: [{ event: 'add_wechat' }, { event: 'join_group' }], step: 2, status: 'dropped', limit: 5 }));
  assert.ok(fc.items.length <= 5 && fc.total >= fc.items.length);
  const r = await ok(admin.post('/api/v1/analytics/retention', { start_event: 'add_wechat', interval: 'week', periods: 4 }));
  assert.ok(r.cohorts.length > 0);
  for (const c of r.cohorts) assert.equal(c.values.length, 4);
  assert.equal(r.average.length, 4);
  const a = await ok(admin.post('/api/v1/analytics/attribution', {}));
  assert.ok(a.rows.length > 0 && a.total);
  const cl = await ok(admin.get('/api/v1/analytics/channel-costs'));
  assert.ok(Array.isArray(cl.items) && 'total' in cl && 'next_cursor' in cl);
});

test('missing auth → 401 on every analytics route', async () => {
  const routes = [['GET', '/api/v1/analytics/metrics'], ['POST', '/api/v1/analytics/metric'],
    ['POST', '/api/v1/analytics/trend'], ['POST', '/api/v1/analytics/funnel'],
    ['POST', '/api/v1/analytics/funnel/contacts'], ['POST', '/api/v1/analytics/retention'],
    ['POST', '/api/v1/analytics/attribution'], ['GET', '/api/v1/analytics/channel-costs'],
    ['POST', '/api/v1/analytics/channel-costs'], ['PATCH', '/api/v1/analytics/channel-costs/1'],
    ['DELETE', '/api/v1/analytics/channel-costs/1']];
  for (const [m, u] of routes) {
    const r = await srv.anon.req(m, u, m === 'GET' || m === 'DELETE' ? undefined : {});
    assert.equal(r.status, 401, `${m} ${u}: ${r.status} ${r.text}`);
    assert.equal(r.body?.error?.code, 'unauthenticated', r.text);
  }
});

// --- bad questions --------------------------------------------------------

test('bad questions → 400 invalid_argument naming the field', async () => {
  const seg = await admin.get('/api/v1/segments?limit=500');
  const missingSeg = 1 + Math.max(0, ...seg.body.items.map((s) => s.id)) + 1000;
  const two = [{ event: 'add_wechat' }, { event: 'order_paid' }];
  const eleven = Array.from({ length: 11 }, () => ({ event: 'view_item' }));
  const cases = [
    // unknown fields
    ['trend', { event: 'order_paid', colour: 'red' }, 'colour'],
    ['metric', { metric: 'dau', colour: 'red' }, 'colour'],
    ['funnel', { steps: two, colour: 'red' }, 'colour'],
    ['funnel/contacts', { steps: two, step: 1, colour: 'red' }, 'colour'],
    ['retention', { start_event: 'add_wechat', colour: 'red' }, 'colour'],
    ['attribution', { colour: 'red' }, 'colour'],
    ['funnel', { steps: [{ event: 'add_wechat', colour: 'red' }, { event: 'order_paid' }] }, 'steps[0].colour'],
    ['trend', { event: 'order_paid', breakdown: { by: 'channel', colour: 'red' } }, 'breakdown.colour'],
    ['metric', { metric: 'dau', params: { colour: 'red' } }, 'params.colour'],
    ['trend', { event: 'order_paid', filters: [{ property: 'channel', op: '=', value: 'x', colour: 'red' }] }, 'filters[0].colour'],
    ['funnel', { steps: [{ event: 'add_wechat' }, { event: 'order_paid', filters: [{ property: 'channel', op: '=', value: 'x', colour: 1 }] }] }, 'steps[1].filters[0].colour'],
    // unknown events
    ['trend', { event: 'no_such_event' }, 'event'],
    ['funnel', { steps: [{ event: 'add_wechat' }, { event: 'no_such_event' }] }, 'steps[1].event'],
    ['retention', { start_event: 'no_such_event' }, 'start_event'],
    ['retention', { start_event: 'add_wechat', return_event: 'no_such_event' }, 'return_event'],
    ['metric', { metric: 'cart_abandonment', params: { cart_event: 'no_such_event' } }, 'params.cart_event'],
    // windows and steps
    ['funnel', { steps: two, window: { value: 0, unit: 'day' } }, 'window.value'],
    ['funnel', { steps: two, window: { value: -3, unit: 'hour' } }, 'window.value'],
    ['funnel', { steps: two, window: { value: 367, unit: 'day' } }, 'window.value'],
    ['funnel', { steps: two, window: { value: 1, unit: 'week' } }, 'window.unit'],
    ['funnel', { steps: eleven }, 'steps'],
    ['funnel', { steps: [{ event: 'add_wechat' }] }, 'steps'],
    ['funnel', { steps: two, order: 'sideways' }, 'order'],
    ['funnel/contacts', { steps: two, step: 3 }, 'step'],
    ['funnel/contacts', { steps: two, step: 1, status: 'dropped' }, 'step'],
    ['funnel/contacts', { steps: two, step: 2, status: 'gone' }, 'status'],
    ['funnel/contacts', { steps: two, step: 2, limit: 501 }, 'limit'],
    // ranges and periods
    ['trend', { event: 'order_paid', from: '2026-05-02', to: '2026-05-01' }, ['from', 'to']],
    ['metric', { metric: 'dau', from: '2025-01-01', to: '2026-02-05' }, ['from', 'to']],
    ['funnel', { steps: two, from: '2026-13-01' }, 'from'],
    ['trend', { event: 'order_paid', to: '2026-02-30' }, 'to'],
    ['trend', { event: 'order_paid', interval: 'year' }, 'interval'],
    ['metric', { metric: 'gmv', interval: 'year' }, 'interval'],
    ['retention', { start_event: 'add_wechat', interval: 'month' }, 'interval'],
    ['retention', { start_event: 'add_wechat', periods: 0 }, 'periods'],
    ['retention', { start_event: 'add_wechat', periods: 91 }, 'periods'],
    ['retention', { start_event: 'add_wechat', mode: 'sometimes' }, 'mode'],
    ['attribution', { conversion_days: 0 }, 'conversion_days'],
    // metrics, measures, breakdowns, segments, filters
    ['metric', { metric: 'happiness' }, 'metric'],
    ['metric', {}, 'metric'],
    ['metric', { metric: 'dau', breakdown: { by: 'category' } }, 'breakdown.by'],
    ['metric', { metric: 'ltv', params: { days: 0 } }, 'params.days'],
    ['trend', { event: 'order_paid', measure: 'median' }, 'measure'],
    ['trend', { event: 'order_paid', measure: 'sum' }, 'property'],
    ['trend', { event: 'order_paid', breakdown: { by: 'zodiac' } }, 'breakdown.by'],
    ['funnel', { steps: two, breakdown: { by: 'zodiac' } }, 'breakdown.by'],
    ['trend', { event: 'order_paid', breakdown: { by: 'segment', segment_ids: [] } }, 'breakdown.segment_ids'],
    ['trend', { event: 'order_paid', breakdown: { by: 'segment', segment_ids: [missingSeg] } }, 'breakdown.segment_ids'],
    ['trend', { event: 'order_paid', segment_id: missingSeg }, 'segment_id'],
    ['metric', { metric: 'dau', segment_id: missingSeg }, 'segment_id'],
    ['funnel', { steps: two, segment_id: missingSeg }, 'segment_id'],
    ['retention', { start_event: 'add_wechat', segment_id: missingSeg }, 'segment_id'],
    ['attribution', { segment_id: missingSeg }, 'segment_id'],
    ['trend', { event: 'order_paid', filters: [{ property: 'channel', op: '~', value: 'x' }] }, 'filters[0].op'],
    ['trend', { event: 'order_paid', filters: [{ property: 'colour', op: '=', value: 'x' }] }, 'filters[0].property'],
    ['trend', { event: 'order_paid', filters: [{ property: 'channel', op: 'in', value: 'x' }] }, 'filters[0].value'],
    ['funnel', { steps: [{ event: 'add_wechat', filters: [{ property: 'channel', op: 'like', value: 'x' }] }, { event: 'order_paid' }] }, 'steps[0].filters[0].op'],
  ];
  const failures = [];
  for (const [kind, body, field] of cases) {
    const r = await admin.post(`/api/v1/analytics/${kind}`, body);
    try {
      assertError(r, 400, 'invalid_argument', field);
    } catch (e) {
      failures.push(`${kind} ${JSON.stringify(body)}: ${e.message.split('\n')[0]}`);
    }
  }
  assert.deepEqual(failures, []);
  // not JSON / not an object
  assertError(await admin.post('/api/v1/analytics/trend', '{nope', { 'content-type': 'application/json' }), 400, 'invalid_argument');
});

// regression (fixed): an unknown key inside "window" is
// reported as field "window", while every other nested object names the key
// ("steps[0].colour", "breakdown.colour", "params.colour", "filters[0].colour").
test('unknown field inside window names window.<key>', async () => {
  const r = await admin.post('/api/v1/analytics/funnel', { steps: [{ event: 'add_wechat' }, { event: 'order_paid' }], window: { value: 1, unit: 'day', colour: 'red' } });
  assertError(r, 400, 'invalid_argument', 'window.colour');
});

// --- funnels agree with funnel/contacts -----------------------------------

test('funnel counts equal the funnel/contacts totals of every step', async () => {
  const from = addDays(today(), -60), to = today();
  const qs = [
    { steps: [{ event: 'add_wechat' }, { event: 'join_group' }, { event: 'view_item' }, { event: 'order_paid' }], window: { value: 14, unit: 'day' }, from, to },
    { steps: [{ event: 'view_item' }, { event: 'add_to_cart' }, { event: 'order_paid' }], window: { value: 2, unit: 'hour' }, from, to },
    { steps: [{ event: '$active' }, { event: 'order_paid' }], window: { value: 90, unit: 'minute' }, order: 'strict', from, to },
    { steps: [{ event: 'add_wechat' }, { event: 'view_item', filters: [{ property: 'channel', op: '!=', value: 'nowhere' }] }], from, to, breakdown: { by: 'owner' } },
  ];
  for (const q of qs) {
    const f = await ok(admin.post('/api/v1/analytics/funnel', q));
    assert.ok(f.steps[0].count > 0, JSON.stringify(q));
    const body = { ...q };
    delete body.breakdown;
    for (let k = 1; k <= q.steps.length; k++) {
      const s = f.steps[k - 1];
      assert.equal(s.index, k);
      const reached = await ok(admin.post('/api/v1/analytics/funnel/contacts', { ...body, step: k, status: 'reached', limit: 500 }));
      assert.equal(reached.total, s.count, `step ${k} reached: ${JSON.stringify(q)}`);
      assert.equal(reached.items.length, Math.min(500, s.count));
      if (k > 1) {
        const dropped = await ok(admin.post('/api/v1/analytics/funnel/contacts', { ...body, step: k, status: 'dropped', limit: 500 }));
        assert.equal(dropped.total, s.dropped, `step ${k} dropped`);
        assert.equal(s.dropped, f.steps[k - 2].count - s.count);
        close(s.conversion, s.count / f.steps[0].count, 'conversion');
        if (f.steps[k - 2].count) close(s.step_conversion, s.count / f.steps[k - 2].count, 'step_conversion');
        // reached at k and dropped at k are disjoint and make up those who reached k - 1
        const ids = new Set(reached.items.map((c) => c.id));
        for (const c of dropped.items) assert.ok(!ids.has(c.id), 'reached and dropped are disjoint');
      } else {
        assert.equal(s.median_ms, null);
      }
      for (const c of reached.items) assert.ok(Number.isInteger(c.id));
    }
    if (q.breakdown) {
      // every contact is in exactly one owner group: the groups add up
      for (let k = 0; k < q.steps.length; k++)
        assert.equal(f.breakdown.reduce((s, g) => s + g.counts[k], 0), f.steps[k].count, `breakdown step ${k + 1}`);
    }
  }
});

// docs/console.md: 保存为人群 sends the funnel/contacts body with save_as
// {name} and gets the new segment_id.
test('funnel/contacts save_as saves the contacts as a segment', async () => {
  const body = { steps: [{ event: 'add_wechat' }, { event: 'join_group' }], step: 2, status: 'reached', from: addDays(today(), -60) };
  const plain = await ok(admin.post('/api/v1/analytics/funnel/contacts', body));
  const r = await admin.post('/api/v1/analytics/funnel/contacts', { ...body, save_as: { name: '漏斗-入群' } });
  assert.equal(r.status, 200, r.text);
  assert.ok(Number.isInteger(r.body.segment_id), r.text);
  const seg = await ok(admin.get(`/api/v1/segments/${r.body.segment_id}/members?limit=1`));
  assert.equal(seg.total, plain.total);
});

// --- segments -------------------------------------------------------------

test('segment_id restricts the contacts counted', async () => {
  const from = addDays(today(), -30), to = addDays(today(), -1);
  const buyers = await ok(admin.post('/api/v1/segments', { name: 'e2e 买过', definition: { event: 'order_paid' } }), 201);
  const non = await ok(admin.post('/api/v1/segments', { name: 'e2e 没买过', definition: { event: 'order_paid', did: false } }), 201);
  const q = { event: 'order_paid', measure: 'uniques', from, to };
  const all = await ok(admin.post('/api/v1/analytics/trend', q));
  const inB = await ok(admin.post('/api/v1/analytics/trend', { ...q, segment_id: buyers.id }));
  const inN = await ok(admin.post('/api/v1/analytics/trend', { ...q, segment_id: non.id }));
  assert.ok(all.series[0].total > 0);
  assert.equal(inB.series[0].total, all.series[0].total, 'everyone who ordered is a buyer');
  assert.equal(inN.series[0].total, 0, 'nobody who never ordered ordered');
  const act = await ok(admin.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to }));
  const actB = await ok(admin.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to, segment_id: buyers.id }));
  const actN = await ok(admin.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to, segment_id: non.id }));
  assert.equal(actB.series[0].total + actN.series[0].total, act.series[0].total, 'a segment and its complement partition');
  // breakdown by segment: one series per segment
  const bd = await ok(admin.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to, breakdown: { by: 'segment', segment_ids: [buyers.id, non.id] } }));
  const byKey = Object.fromEntries(bd.series.map((s) => [s.key, s.total]));
  assert.equal(byKey[String(buyers.id)], actB.series[0].total);
  assert.equal(byKey[String(non.id)], actN.series[0].total);
});

// --- channel costs and attribution ----------------------------------------

test('channel costs: create, list, patch, delete; bad input changes nothing; 403 without settings.manage', async () => {
  const channels = (await ok(admin.get('/api/v1/channels'))).items;
  assert.ok(channels.length >= 2);
  const ch = channels[0].id;
  const list = async () => (await ok(admin.get('/api/v1/analytics/channel-costs'))).items;
  const before = await list();
  let r = await admin.post('/api/v1/analytics/channel-costs', { channel_id: ch, from: '2026-01-01', to: '2026-01-10', cost_fen: 100000, note: '一月投放' });
  assert.equal(r.status, 201, r.text);
  const cost = r.body;
  assert.ok(Number.isInteger(cost.id));
  assert.equal(cost.channel_id, ch);
  assert.equal(cost.from, '2026-01-01');
  assert.equal(cost.to, '2026-01-10');
  assert.equal(cost.cost_fen, 100000);
  assert.equal(cost.note, '一月投放');
  let items = await list();
  assert.equal(items.length, before.length + 1);
  assert.deepEqual(items.find((c) => c.id === cost.id), cost);
  r = await admin.patch(`/api/v1/analytics/channel-costs/${cost.id}`, { cost_fen: 120000, to: '2026-01-12' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.cost_fen, 120000);
  assert.equal(r.body.to, '2026-01-12');
  assert.equal(r.body.from, '2026-01-01');
  assert.equal(r.body.channel_id, ch);
  items = await list();
  const snapshot = JSON.stringify(items);
  // bad input: 400 naming the field, the list unchanged
  const bad = [
    [{ channel_id: ch, from: '2026-01-01', to: '2026-01-10', cost_fen: -1 }, 'cost_fen'],
    [{ channel_id: ch, from: '2026-01-01', to: '2026-01-10', cost_fen: 12.5 }, 'cost_fen'],
    [{ channel_id: ch, from: '2026-01-01', to: '2026-01-10', cost_fen: '100' }, 'cost_fen'],
    [{ channel_id: ch, from: '2026-01-01', to: '2026-01-10' }, 'cost_fen'],
    [{ channel_id: 999999, from: '2026-01-01', to: '2026-01-10', cost_fen: 1 }, 'channel_id'],
    [{ from: '2026-01-01', to: '2026-01-10', cost_fen: 1 }, 'channel_id'],
    [{ channel_id: ch, from: '2026-01-10', to: '2026-01-01', cost_fen: 1 }, ['from', 'to']],
    [{ channel_id: ch, from: '2026-02-30', to: '2026-03-01', cost_fen: 1 }, 'from'],
    [{ channel_id: ch, from: '2026-01-01', to: '2026-01-10', cost_fen: 1, colour: 'red' }, 'colour'],
  ];
  for (const [body, field] of bad) assertError(await admin.post('/api/v1/analytics/channel-costs', body), 400, 'invalid_argument', field);
  assertError(await admin.patch(`/api/v1/analytics/channel-costs/${cost.id}`, { cost_fen: -5 }), 400, 'invalid_argument', 'cost_fen');
  assertError(await admin.patch(`/api/v1/analytics/channel-costs/${cost.id}`, { from: '2026-02-01' }), 400, 'invalid_argument', ['from', 'to']);
  assertError(await admin.patch(`/api/v1/analytics/channel-costs/${cost.id}`, { colour: 'red' }), 400, 'invalid_argument', 'colour');
  assertError(await admin.patch('/api/v1/analytics/channel-costs/999999', { cost_fen: 5 }), 404, 'not_found');
  assert.equal(JSON.stringify(await list()), snapshot, 'nothing saved by bad input');
  // a role without settings.manage: may read, may not write
  const opsUser = srv.demo.staff.find((s) => s.role === 'operations');
  const ops = await srv.login(opsUser.username, opsUser.password);
  assert.equal((await ops.get('/api/v1/analytics/channel-costs')).status, 200);
  assertError(await ops.post('/api/v1/analytics/channel-costs', { channel_id: ch, from: '2026-01-01', to: '2026-01-10', cost_fen: 1 }), 403, 'permission_denied');
  assertError(await ops.patch(`/api/v1/analytics/channel-costs/${cost.id}`, { cost_fen: 1 }), 403, 'permission_denied');
  assertError(await ops.del(`/api/v1/analytics/channel-costs/${cost.id}`), 403, 'permission_denied');
  assert.equal(JSON.stringify(await list()), snapshot, 'nothing saved by a refused request');
  // delete
  r = await admin.del(`/api/v1/analytics/channel-costs/${cost.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal((await list()).length, before.length);
  assertError(await admin.del(`/api/v1/analytics/channel-costs/${cost.id}`), 404, 'not_found');
});

test('attribution: new contacts per source, costs in cost_fen, cac = cost / new contacts', async () => {
  const to = addDays(today(), -1), from = addDays(to, -59);
  let a = await ok(admin.post('/api/v1/analytics/attribution', { from, to }));
  assert.equal(a.from, from);
  assert.equal(a.to, to);
  // new contacts per channel = the contacts list filtered by source and creation time
  const createdFrom = startMs(from), createdTo = startMs(addDays(to, 1));
  let sum = 0;
  for (const row of a.rows) {
    sum += row.new_contacts;
    if (row.channel_id === null) continue;
    const l = await ok(admin.get(`/api/v1/contacts?source_id=${row.channel_id}&created_from=${createdFrom}&created_to=${createdTo}&limit=1`));
    assert.equal(row.new_contacts, l.total, `new contacts of ${row.channel}`);
    assert.ok(row.converted <= row.new_contacts);
    if (row.new_contacts) close(row.conversion_rate, row.converted / row.new_contacts, 'conversion_rate');
    assert.equal(row.cost_fen, null, 'no cost recorded yet');
    assert.equal(row.cac_fen, null);
    assert.equal(row.roi, null);
  }
  const all = await ok(admin.get(`/api/v1/contacts?created_from=${createdFrom}&created_to=${createdTo}&limit=1`));
  assert.equal(sum, all.total, 'the rows add up to every new contact');
  assert.equal(a.total.new_contacts, all.total);
  // costs: one inside the range, one half outside (counted in proportion, rounded down)
  const row = [...a.rows].filter((x) => x.channel_id !== null).sort((x, y) => y.new_contacts - x.new_contacts)[0];
  assert.ok(row.new_contacts > 0);
  const other = a.rows.find((x) => x.channel_id !== null && x.channel_id !== row.channel_id);
  const c1 = await admin.post('/api/v1/analytics/channel-costs', { channel_id: row.channel_id, from, to, cost_fen: 500000 });
  assert.equal(c1.status, 201, c1.text);
  const c2 = await admin.post('/api/v1/analytics/channel-costs', { channel_id: row.channel_id, from: addDays(to, -2), to: addDays(to, 4), cost_fen: 70001 });
  assert.equal(c2.status, 201, c2.text);
  const c3 = await admin.post('/api/v1/analytics/channel-costs', { channel_id: other.channel_id, from: addDays(from, -30), to: addDays(from, -1), cost_fen: 99999 });
  assert.equal(c3.status, 201, c3.text);
  a = await ok(admin.post('/api/v1/analytics/attribution', { from, to }));
  const got = a.rows.find((x) => x.channel_id === row.channel_id);
  const want = 500000 + Math.floor(70001 * 3 / 7);
  assert.equal(got.cost_fen, want);
  close(got.cac_fen, want / got.new_contacts, 'cac_fen');
  close(got.roi, (got.revenue_fen - want) / want, 'roi');
  assert.equal(a.rows.find((x) => x.channel_id === other.channel_id).cost_fen, null, 'a cost wholly outside the range does not count');
  assert.equal(a.total.cost_fen, want);
  close(a.total.cac_fen, want / a.total.new_contacts, 'total cac_fen');
  // the cac metric over the same range, broken down by source
  const cac = await ok(admin.post('/api/v1/analytics/metric', { metric: 'cac', from, to, interval: 'month', breakdown: { by: 'source' } }));
  const s = cac.series.find((x) => x.key === String(row.channel_id));
  assert.ok(s, JSON.stringify(cac.series.map((x) => x.key)));
  close(s.total, want / got.new_contacts, 'cac metric by source');
  for (const c of [c1, c2, c3]) assert.equal((await admin.del(`/api/v1/analytics/channel-costs/${c.body.id}`)).status, 200);
});

// --- data scope ------------------------------------------------------------

test('data scope: a sales rep sees only their contacts, never workspace totals', async () => {
  const from = addDays(today(), -45), to = addDays(today(), -1);
  const adminTr = await ok(admin.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to }));
  const adminDau = await ok(admin.post('/api/v1/analytics/metric', { metric: 'dau', from, to }));
  const adminOrders = await ok(admin.post('/api/v1/analytics/trend', { event: 'order_paid', measure: 'uniques', from, to }));
  const adminRet = await ok(admin.post('/api/v1/analytics/retention', { start_event: 'add_wechat', from, to, periods: 3 }));
  let tested = 0;
  for (const s of srv.demo.staff.filter((x) => x.role === 'sales' || x.role === 'store_manager')) {
    const me = await srv.login(s.username, s.password);
    const scope = (await ok(me.get('/api/v1/auth/me'))).scope;
    assert.notEqual(scope, 'all', `${s.username} has a limited scope`);
    const mine = (await ok(me.get('/api/v1/contacts?limit=1'))).total;
    const tr = await ok(me.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to }));
    const dau = await ok(me.post('/api/v1/analytics/metric', { metric: 'dau', from, to }));
    assert.ok(tr.series[0].total <= mine, `${s.username}: active ${tr.series[0].total} of ${mine} contacts in scope`);
    assert.ok(tr.series[0].total < adminTr.series[0].total, `${s.username} does not see the workspace total`);
    for (let i = 0; i < dau.periods.length; i++) {
      assert.ok(dau.series[0].values[i] <= adminDau.series[0].values[i], `${s.username} dau ${dau.periods[i]}`);
      assert.equal(dau.series[0].values[i], tr.series[0].values[i], `${s.username} dau = active uniques ${dau.periods[i]}`);
    }
    // the same count as the segments module over the same contacts and days
    const orders = await ok(me.post('/api/v1/analytics/trend', { event: 'order_paid', measure: 'uniques', from, to }));
    const pv = await ok(me.post('/api/v1/segments/preview', { definition: { event: 'order_paid', between: [from, addDays(to, 1)] } }));
    assert.equal(orders.series[0].total, pv.count, `${s.username}: buyers in scope`);
    assert.ok(orders.series[0].total <= adminOrders.series[0].total);
    // funnel contacts are all visible to them
    const fc = await ok(me.post('/api/v1/analytics/funnel/contacts', { steps: [{ event: 'add_wechat' }, { event: '$active' }], from: addDays(today(), -90), step: 1, limit: 500 }));
    assert.ok(fc.total <= mine);
    for (const c of fc.items.slice(0, 10)) assert.equal((await me.get(`/api/v1/contacts/${c.id}`)).status, 200, `${s.username} sees contact ${c.id}`);
    for (const c of fc.items) if (c.phone) assert.match(c.phone, /\*/, 'phones masked without contacts.phone');
    const f = await ok(me.post('/api/v1/analytics/funnel', { steps: [{ event: 'add_wechat' }, { event: '$active' }], from: addDays(today(), -90) }));
    assert.equal(f.steps[0].count, fc.total);
    // attribution and retention are scoped too
    const at = await ok(me.post('/api/v1/analytics/attribution', { from, to }));
    assert.ok(at.total.new_contacts <= mine);
    const ret = await ok(me.post('/api/v1/analytics/retention', { start_event: 'add_wechat', from, to, periods: 3 }));
    assert.ok(ret.cohorts.reduce((n, c) => n + c.size, 0) <= mine);
    // each cohort within the admin's, and all of it active on its own day
    // (the start event is activity): the scope cuts cohorts and cells alike
    for (const [i, c] of ret.cohorts.entries()) {
      const all = adminRet.cohorts[i];
      assert.equal(c.cohort, all.cohort);
      assert.ok(c.size <= all.size, `${s.username} cohort ${c.cohort}`);
      if (c.values[0] !== null) assert.equal(c.values[0], c.size, `${s.username} cohort ${c.cohort} day 0`);
      for (let k = 0; k < c.values.length; k++) if (c.values[k] !== null) assert.ok(c.values[k] <= all.values[k]);
    }
    if (tr.series[0].total > 0) tested++;
  }
  assert.ok(tested >= 3, 'several scoped staff with activity in range');
  // the admin's owner breakdown: a sales rep's own group never exceeds what they see
  const byOwner = await ok(admin.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to, breakdown: { by: 'owner' } }));
  for (const s of srv.demo.staff.filter((x) => x.role === 'sales')) {
    const g = byOwner.series.find((x) => x.key === String(s.id));
    if (!g) continue;
    const me = await srv.login(s.username, s.password);
    const tr = await ok(me.post('/api/v1/analytics/trend', { event: '$active', measure: 'uniques', from, to }));
    assert.ok(g.total <= tr.series[0].total, `${s.username}: owned ${g.total} ≤ own scope ${tr.series[0].total}`);
  }
});

// regression under ASan (fixed): an_metric.c replaces
// breakdown.by "channel" with "source" (json_object_set_new frees the old
// string) and then reads the freed string (strcmp(by, "store")): a
// heap-use-after-free that kills an ASan server. Last in the file, so that
// the crash takes nothing else down.
test('metric breakdown by channel = by source', async () => {
  const q = { metric: 'new_contacts', from: addDays(today(), -60), to: addDays(today(), -1) };
  const src = await ok(admin.post('/api/v1/analytics/metric', { ...q, breakdown: { by: 'source' } }));
  const ch = await ok(admin.post('/api/v1/analytics/metric', { ...q, breakdown: { by: 'channel' } }));
  assert.deepEqual(ch.series, src.series);
});
