// Dashboards, cards with thresholds and alert rules (issue 6 §3): the seeded
// 概览 answers, a card's data equals the analytics API's answer for the same
// question (and follows the viewer's data scope), who may see and change a
// dashboard, bad input changes nothing, an alert fires on evaluate and its
// signed webhook reaches a receiver, and the scheduler fires enabled rules
// once per period.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { startServer } from './harness.mjs';

let srv, admin, sales, receiver;
const received = []; // {headers, body, raw}

before(async () => {
  receiver = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', () => {
      let body = null;
      try { body = JSON.parse(raw); } catch { /* recorded as is */ }
      received.push({ headers: req.headers, raw, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  srv = await startServer({
    contacts: 300,
    env: { SIYU_ALERT_INTERVAL_MS: '300', SIYU_WEBHOOK_RETRY_BASE_MS: '50' },
  });
  admin = srv.admin();
  const s = srv.demo.staff.find((m) => m.role === 'sales');
  sales = await srv.login(s.username, s.password);
});
after(async () => {
  await srv.stop();
  srv.cleanup();
  await new Promise((r) => receiver.close(r));
});

async function until(fn, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expect400(res, field) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.error.code, 'invalid_argument', res.text);
  assert.equal(res.body.error.details?.field, field, res.text);
}

// The analytics endpoint answering a question (its body is the question without "kind").
async function analytics(client, question) {
  const { kind, ...body } = question;
  const res = await client.post(`/api/v1/analytics/${kind}`, body);
  assert.equal(res.status, 200, res.text);
  return res.body;
}

const DAU = { kind: 'metric', metric: 'dau', interval: 'day' };

test('the seeded 概览 dashboard: six cards that all answer', async () => {
  const list = await admin.get('/api/v1/dashboards');
  assert.equal(list.status, 200, list.text);
  const def = list.body.items.find((d) => d.is_default);
  assert.ok(def, list.text);
  assert.equal(def.name, '概览');
  assert.equal(def.shared, true);
  assert.equal(def.owner_id, null);
  assert.equal(def.card_count, 6);
  const d = await admin.get(`/api/v1/dashboards/${def.id}`);
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.body.cards.map((c) => c.question.metric),
    ['dau', 'new_contacts', 'gmv', 'first_order_conversion', 'retention_d7', 'repurchase_rate']);
  for (const c of d.body.cards) {
    const data = await admin.get(`/api/v1/dashboards/${def.id}/cards/${c.id}/data`);
    assert.equal(data.status, 200, `${c.title}: ${data.text}`);
    assert.ok(['green', 'yellow', 'red', 'none'].includes(data.body.status));
    assert.ok(data.body.headline && 'value' in data.body.headline, data.text);
    if (!c.thresholds) assert.equal(data.body.status, 'none');
  }
  // everyone with contacts.read sees it; only settings.manage changes it
  const seen = await sales.get(`/api/v1/dashboards/${def.id}`);
  assert.equal(seen.status, 200, seen.text);
  assert.equal(seen.body.can_edit, false);
  const denied = await sales.patch(`/api/v1/dashboards/${def.id}`, { name: 'mine' });
  assert.equal(denied.status, 403, denied.text);
  const denied2 = await sales.post(`/api/v1/dashboards/${def.id}/cards`, { title: 'x', question: DAU, chart: 'line' });
  assert.equal(denied2.status, 403, denied2.text);
  const del = await admin.del(`/api/v1/dashboards/${def.id}`);
  assert.equal(del.status, 409, del.text);
  assert.equal((await admin.get(`/api/v1/dashboards/${def.id}`)).body.card_count, 6);
});

test('a card answers what the analytics API answers, in the viewer\'s scope', async () => {
  const d = await admin.post('/api/v1/dashboards', { name: '运营周报', description: 'e2e' });
  assert.equal(d.status, 201, d.text);
  assert.equal(d.body.shared, false);
  assert.equal(d.body.can_edit, true);
  const questions = [
    { title: 'DAU', chart: 'line', question: DAU, thresholds: { direction: 'higher_is_better', green: 1e9, red: 1e8 } },
    { title: '下单趋势', chart: 'bar', question: { kind: 'trend', event: 'order_paid', measure: 'uniques', interval: 'day' } },
    { title: '加购→下单', chart: 'funnel', question: { kind: 'funnel', steps: [{ event: 'view_item' }, { event: 'add_to_cart' }, { event: 'order_paid' }], window: { value: 7, unit: 'day' }, order: 'loose' } },
    { title: '留存', chart: 'heatmap', question: { kind: 'retention', start_event: 'add_wechat', return_event: '$active', interval: 'day', periods: 7, mode: 'exact' } },
    { title: '渠道', chart: 'table', question: { kind: 'attribution' } },
  ];
  const cards = [];
  for (const q of questions) {
    const c = await admin.post(`/api/v1/dashboards/${d.body.id}/cards`, q);
    assert.equal(c.status, 201, c.text);
    assert.deepEqual(c.body.question, q.question);
    cards.push(c.body);
  }
  assert.deepEqual(cards.map((c) => c.position), [1, 2, 3, 4, 5]);
  for (const c of cards) {
    const data = await admin.get(`/api/v1/dashboards/${d.body.id}/cards/${c.id}/data`);
    assert.equal(data.status, 200, data.text);
    assert.deepEqual(data.body.result, await analytics(admin, c.question), c.title);
  }
  // DAU: a green target nobody reaches, red below 1e8: the headline value is red
  const dau = await admin.get(`/api/v1/dashboards/${d.body.id}/cards/${cards[0].id}/data`);
  assert.equal(typeof dau.body.headline.value, 'number', dau.text);
  assert.ok(dau.body.headline.value > 0, dau.text);
  assert.equal(dau.body.status, 'red');
  assert.equal(dau.body.headline.unit, 'contacts');
  // thresholds the value passes → green; between → yellow
  const v = dau.body.headline.value;
  let p = await admin.patch(`/api/v1/dashboards/${d.body.id}/cards/${cards[0].id}`, { thresholds: { direction: 'higher_is_better', green: v, red: 0 } });
  assert.equal(p.status, 200, p.text);
  assert.equal((await admin.get(`/api/v1/dashboards/${d.body.id}/cards/${cards[0].id}/data`)).body.status, 'green');
  p = await admin.patch(`/api/v1/dashboards/${d.body.id}/cards/${cards[0].id}`, { thresholds: { direction: 'lower_is_better', green: v - 1, red: v } });
  assert.equal((await admin.get(`/api/v1/dashboards/${d.body.id}/cards/${cards[0].id}/data`)).body.status, 'yellow');
  p = await admin.patch(`/api/v1/dashboards/${d.body.id}/cards/${cards[0].id}`, { thresholds: null, position: 9 });
  assert.equal(p.body.thresholds, null);
  assert.equal((await admin.get(`/api/v1/dashboards/${d.body.id}/cards/${cards[0].id}/data`)).body.status, 'none');
  const order = (await admin.get(`/api/v1/dashboards/${d.body.id}`)).body.cards.map((c) => c.id);
  assert.deepEqual(order, [cards[1].id, cards[2].id, cards[3].id, cards[4].id, cards[0].id]);

  // private: the salesperson does not see it at all
  assert.equal((await sales.get(`/api/v1/dashboards/${d.body.id}`)).status, 404);
  assert.equal((await sales.get(`/api/v1/dashboards/${d.body.id}/cards/${cards[0].id}/data`)).status, 404);
  assert.ok(!(await sales.get('/api/v1/dashboards')).body.items.some((x) => x.id === d.body.id));
  // shared: they see it, with numbers of their own scope
  await admin.patch(`/api/v1/dashboards/${d.body.id}`, { shared: true });
  const mine = await sales.get(`/api/v1/dashboards/${d.body.id}/cards/${cards[1].id}/data`);
  assert.equal(mine.status, 200, mine.text);
  assert.deepEqual(mine.body.result, await analytics(sales, cards[1].question));
  const all = await admin.get(`/api/v1/dashboards/${d.body.id}/cards/${cards[1].id}/data`);
  assert.ok(mine.body.result.series[0].total <= all.body.result.series[0].total);

  // their own dashboard: they create and edit it; the admin can too
  const own = await sales.post('/api/v1/dashboards', { name: '我的看板' });
  assert.equal(own.status, 201, own.text);
  const oc = await sales.post(`/api/v1/dashboards/${own.body.id}/cards`, { title: 'DAU', question: DAU, chart: 'number' });
  assert.equal(oc.status, 201, oc.text);
  assert.equal((await admin.patch(`/api/v1/dashboards/${own.body.id}`, { description: 'checked' })).status, 200);
  assert.equal((await sales.del(`/api/v1/dashboards/${own.body.id}`)).status, 200);
  assert.equal((await sales.get(`/api/v1/dashboards/${own.body.id}`)).status, 404);
});

test('bad dashboard and card input is a 400 naming the field and saves nothing', async () => {
  const before0 = (await admin.get('/api/v1/dashboards')).body.total;
  expect400(await admin.post('/api/v1/dashboards', { name: 'x', colour: 'red' }), 'colour');
  expect400(await admin.post('/api/v1/dashboards', {}), 'name');
  expect400(await admin.post('/api/v1/dashboards', { name: '' }), 'name');
  expect400(await admin.post('/api/v1/dashboards', { name: 'x', shared: 'yes' }), 'shared');
  assert.equal((await admin.get('/api/v1/dashboards')).body.total, before0);

  const d = (await admin.post('/api/v1/dashboards', { name: 'bad input' })).body;
  const ok = { title: 'DAU', question: DAU, chart: 'line' };
  const bad = [
    [{ ...ok, size: 2 }, 'size'],
    [{ ...ok, title: undefined }, 'title'],
    [{ ...ok, question: undefined }, 'question'],
    [{ ...ok, chart: 'pie' }, 'chart'],
    [{ ...ok, question: 'dau' }, 'question'],
    [{ ...ok, question: { kind: 'metric', metric: 'happiness', interval: 'day' } }, 'question.metric'],
    [{ ...ok, question: { kind: 'metric', metric: 'dau', interval: 'fortnight' } }, 'question.interval'],
    [{ ...ok, question: { ...DAU, from: '2026-02-30' } }, 'question.from'],
    [{ ...ok, question: { kind: 'trend', event: 'order_paid', measure: 'median', interval: 'day' } }, 'question.measure'],
    [{ ...ok, thresholds: { direction: 'up', green: 1, red: 0 } }, 'thresholds.direction'],
    [{ ...ok, thresholds: { direction: 'higher_is_better', green: 1, red: 2 } }, 'thresholds.red'],
    [{ ...ok, thresholds: { direction: 'higher_is_better', green: '1', red: 0 } }, 'thresholds.green'],
    [{ ...ok, thresholds: { direction: 'higher_is_better', green: 1, red: 0, blue: 3 } }, 'thresholds.blue'],
    [{ ...ok, position: -1 }, 'position'],
  ];
  for (const [body, field] of bad) {
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    expect400(await admin.post(`/api/v1/dashboards/${d.id}/cards`, body), field);
  }
  const card = (await admin.post(`/api/v1/dashboards/${d.id}/cards`, ok)).body;
  expect400(await admin.patch(`/api/v1/dashboards/${d.id}/cards/${card.id}`, { question: { kind: 'metric', metric: 'nope' } }), 'question.metric');
  expect400(await admin.patch(`/api/v1/dashboards/${d.id}/cards/${card.id}`, { chart: 3 }), 'chart');
  const after0 = (await admin.get(`/api/v1/dashboards/${d.id}`)).body;
  assert.equal(after0.card_count, 1);
  assert.deepEqual(after0.cards[0].question, DAU);
  assert.equal(after0.cards[0].chart, 'line');
  assert.equal((await admin.get(`/api/v1/dashboards/${d.id}/cards/999999/data`)).status, 404);
  // an unknown segment is a 400 too; a saved question whose segment is gone is a 409
  expect400(await admin.post(`/api/v1/dashboards/${d.id}/cards`, { ...ok, question: { ...DAU, segment_id: 999999 } }), 'question.segment_id');
  const seg = (await admin.post('/api/v1/segments', { name: '买过的人', definition: { event: 'order_paid' } })).body;
  const sc = await admin.post(`/api/v1/dashboards/${d.id}/cards`, { ...ok, question: { ...DAU, segment_id: seg.id } });
  assert.equal(sc.status, 201, sc.text);
  assert.equal((await admin.get(`/api/v1/dashboards/${d.id}/cards/${sc.body.id}/data`)).status, 200);
  assert.equal((await admin.del(`/api/v1/segments/${seg.id}`)).status, 200);
  const gone = await admin.get(`/api/v1/dashboards/${d.id}/cards/${sc.body.id}/data`);
  assert.equal(gone.status, 409, gone.text);
  assert.equal(gone.body.error.code, 'failed_precondition');
  assert.equal(gone.body.error.details.field, 'question.segment_id');
  assert.equal((await admin.del(`/api/v1/dashboards/${d.id}/cards/${sc.body.id}`)).status, 200);
  assert.equal((await admin.get('/api/v1/dashboards/999999')).status, 404);
  assert.equal((await admin.post('/api/v1/dashboards/999999/cards', ok)).status, 404);
  expect400(await admin.get('/api/v1/dashboards?limit=0'), 'limit');
  // a card of another dashboard is not this dashboard's
  const def = (await admin.get('/api/v1/dashboards')).body.items.find((x) => x.is_default);
  assert.equal((await admin.del(`/api/v1/dashboards/${def.id}/cards/${card.id}`)).status, 404);
});

let webhook; // {id, secret}

test('an alert "above 0" on DAU fires on evaluate and its signed webhook arrives', async () => {
  const wh = await admin.post('/api/v1/webhooks', { name: 'e2e receiver', url: `http://127.0.0.1:${receiver.address().port}/hook`, topics: ['alert.fired'] });
  assert.equal(wh.status, 201, wh.text);
  webhook = { id: wh.body.id, secret: wh.body.secret };
  const def = (await admin.get('/api/v1/dashboards')).body.items.find((x) => x.is_default);
  const dauCard = (await admin.get(`/api/v1/dashboards/${def.id}`)).body.cards.find((c) => c.question.metric === 'dau');

  const a = await admin.post('/api/v1/alerts', { name: 'DAU 有人', card_id: dauCard.id, condition: { type: 'above', value: 0 }, webhook_id: webhook.id, enabled: false });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.body.card_id, dauCard.id);
  assert.equal(a.body.question, null);
  assert.equal(a.body.cooldown, 'period');
  assert.equal(a.body.enabled, false);

  const ev = await admin.post(`/api/v1/alerts/${a.body.id}/evaluate`);
  assert.equal(ev.status, 200, ev.text);
  assert.equal(ev.body.fires, true, ev.text);
  assert.equal(ev.body.fired, true, ev.text);
  assert.equal(ev.body.threshold, 0);
  assert.ok(ev.body.value > 0);
  const headline = (await admin.get(`/api/v1/dashboards/${def.id}/cards/${dauCard.id}/data`)).body.headline;
  assert.equal(ev.body.value, headline.value, 'alerts use the card\'s headline (admin scope = workspace)');
  assert.equal(ev.body.period, headline.period);
  const event = ev.body.event;
  assert.ok(event.delivery_id > 0, ev.text);
  assert.equal(event.alert_id, a.body.id);
  assert.match(event.message, /above 0/);

  // the receiver gets it, signed per docs/channels.md
  const got = await until(() => received.find((x) => x.body?.data?.id === event.id));
  assert.ok(got, `no webhook: ${JSON.stringify(received.map((x) => x.body))}`);
  assert.equal(got.body.topic, 'alert.fired');
  assert.equal(got.body.id, event.delivery_id);
  assert.equal(got.headers['x-siyu-delivery'], String(event.delivery_id));
  const sig = Object.fromEntries(got.headers['x-siyu-signature'].split(',').map((kv) => kv.split('=')));
  const expected = crypto.createHmac('sha256', webhook.secret).update(`${sig.t}.${got.raw}`).digest('hex');
  assert.equal(sig.v1, expected, 'HMAC-SHA256 signature');
  assert.ok(Math.abs(Date.now() / 1000 - Number(sig.t)) < 300);
  for (const k of ['alert_id', 'name', 'fired_at', 'period', 'value', 'trailing_mean', 'threshold', 'message'])
    assert.ok(k in got.body.data, k);

  // the same period again: the condition holds, but it does not fire twice
  const again = await admin.post(`/api/v1/alerts/${a.body.id}/evaluate`, {});
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.fires, true);
  assert.equal(again.body.fired, false);
  assert.match(again.body.reason, /already fired for period/);
  assert.equal(again.body.event, null);

  const events = await admin.get(`/api/v1/alert-events?alert_id=${a.body.id}`);
  assert.equal(events.status, 200, events.text);
  assert.equal(events.body.total, 1);
  const e0 = events.body.items[0];
  assert.equal(e0.id, event.id);
  assert.equal(e0.delivery_id, event.delivery_id);
  assert.equal(e0.period, ev.body.period);
  assert.equal(e0.value, ev.body.value);
  assert.equal(e0.threshold, 0);
  assert.equal(e0.delivery_error, null);
  const rule = (await admin.get(`/api/v1/alerts/${a.body.id}`)).body;
  assert.ok(rule.last_fired_at > 0 && rule.last_evaluated_at >= rule.last_fired_at);

  // a watched card cannot go away; alerts are for settings.manage only
  const dc = await admin.del(`/api/v1/dashboards/${def.id}/cards/${dauCard.id}`);
  assert.equal(dc.status, 409, dc.text);
  assert.equal((await sales.get('/api/v1/alerts')).status, 403);
  assert.equal((await sales.get('/api/v1/alert-events')).status, 403);
  assert.equal((await sales.post(`/api/v1/alerts/${a.body.id}/evaluate`)).status, 403);
});

test('a percentage rule: "drop more than 15%" judged against the trailing mean', async () => {
  const a = await admin.post('/api/v1/alerts', { name: 'DAU 跌', question: DAU, condition: { type: 'drop_pct_vs_trailing_7', value: 15 }, enabled: false });
  assert.equal(a.status, 201, a.text);
  assert.deepEqual(a.body.question, DAU);
  const ev = (await admin.post(`/api/v1/alerts/${a.body.id}/evaluate`)).body;
  assert.equal(typeof ev.trailing_mean, 'number', JSON.stringify(ev));
  assert.ok(Math.abs(ev.threshold - ev.trailing_mean * 0.85) < 1e-6, JSON.stringify(ev));
  assert.equal(ev.fires, ev.value < ev.threshold);
  assert.ok(Math.abs(ev.change_pct - (ev.value - ev.trailing_mean) / ev.trailing_mean * 100) < 1e-6);
  // switch the source to a card and back, change the condition
  const p = await admin.patch(`/api/v1/alerts/${a.body.id}`, { condition: { type: 'rise_pct_vs_trailing_7', value: 1000 } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.condition.type, 'rise_pct_vs_trailing_7');
  const ev2 = (await admin.post(`/api/v1/alerts/${a.body.id}/evaluate`)).body;
  assert.equal(ev2.fires, false);
  assert.equal(ev2.reason, 'condition not met');
  assert.equal((await admin.del(`/api/v1/alerts/${a.body.id}`)).status, 200);
  assert.equal((await admin.get(`/api/v1/alerts/${a.body.id}`)).status, 404);
  // a retention headline names no period: the cooldown is the day of evaluation
  const ret = await admin.post('/api/v1/alerts', { name: '留存', question: { kind: 'retention', start_event: 'add_wechat', return_event: '$active', interval: 'day', periods: 7, mode: 'exact' }, condition: { type: 'below', value: 2 }, enabled: false });
  assert.equal(ret.status, 201, ret.text);
  const r1 = (await admin.post(`/api/v1/alerts/${ret.body.id}/evaluate`)).body;
  assert.equal(r1.unit, 'ratio');
  assert.equal(r1.fired, true, JSON.stringify(r1));
  assert.match(r1.period, /^\d{4}-\d{2}-\d{2}$/);
  const r2 = (await admin.post(`/api/v1/alerts/${ret.body.id}/evaluate`)).body;
  assert.equal(r2.fired, false);
  assert.equal(r2.period, r1.period);
  // events outlive their rule, and its id is never reused (its events stay its own)
  await admin.del(`/api/v1/alerts/${ret.body.id}`);
  assert.equal((await admin.get(`/api/v1/alert-events?alert_id=${ret.body.id}`)).body.total, 1);
  const next = (await admin.post('/api/v1/alerts', { name: 'next', question: DAU, condition: { type: 'above', value: 0 }, enabled: false })).body;
  assert.ok(next.id > ret.body.id, JSON.stringify(next));
  await admin.del(`/api/v1/alerts/${next.id}`);
});

test('bad alert input is a 400 naming the field and saves nothing', async () => {
  const before0 = (await admin.get('/api/v1/alerts')).body.total;
  const ok = { name: 'x', question: DAU, condition: { type: 'above', value: 1 } };
  const cases = [
    [{ ...ok, colour: 1 }, 'colour'],
    [{ ...ok, name: undefined }, 'name'],
    [{ ...ok, condition: undefined }, 'condition'],
    [{ ...ok, question: undefined }, 'card_id'],
    [{ ...ok, card_id: 999999, question: undefined }, 'card_id'],
    [{ ...ok, card_id: 1 }, 'question'],
    [{ ...ok, condition: { type: 'between', value: 1 } }, 'condition.type'],
    [{ ...ok, condition: { type: 'drop_pct_vs_trailing_7', value: -15 } }, 'condition.value'],
    [{ ...ok, condition: { type: 'drop_pct_vs_trailing_7', value: 150 } }, 'condition.value'],
    [{ ...ok, condition: { type: 'above' } }, 'condition.value'],
    [{ ...ok, condition: { type: 'above', value: 1, for: '5m' } }, 'condition.for'],
    [{ ...ok, webhook_id: 999999 }, 'webhook_id'],
    [{ ...ok, webhook_id: 'main' }, 'webhook_id'],
    [{ ...ok, cooldown: 'hour' }, 'cooldown'],
    [{ ...ok, enabled: 1 }, 'enabled'],
    [{ ...ok, question: { kind: 'metric', metric: 'happiness' } }, 'question.metric'],
    [{ ...ok, question: { kind: 'metric', metric: 'dau', interval: 'fortnight' } }, 'question.interval'],
    [{ ...ok, question: { ...DAU, kind: 'cohort' } }, 'question.kind'],
  ];
  for (const [body, field] of cases) {
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    expect400(await admin.post('/api/v1/alerts', body), field);
  }
  assert.equal((await admin.get('/api/v1/alerts')).body.total, before0);
  const a = (await admin.post('/api/v1/alerts', { ...ok, enabled: false })).body;
  expect400(await admin.patch(`/api/v1/alerts/${a.id}`, { condition: { type: 'rise_pct_vs_trailing_7', value: 0 } }), 'condition.value');
  expect400(await admin.patch(`/api/v1/alerts/${a.id}`, { question: null }), 'question');
  expect400(await admin.patch(`/api/v1/alerts/${a.id}`, { webhook_id: 424242 }), 'webhook_id');
  const same = (await admin.get(`/api/v1/alerts/${a.id}`)).body;
  assert.deepEqual(same.condition, { type: 'above', value: 1 });
  assert.deepEqual(same.question, DAU);
  assert.equal(same.webhook_id, null);
  assert.equal((await admin.post('/api/v1/alerts/999999/evaluate')).status, 404);
  expect400(await admin.post(`/api/v1/alerts/${a.id}/evaluate`, { now: 1 }), 'now');
  expect400(await admin.get('/api/v1/alert-events?alert_id=abc'), 'alert_id');
  await admin.del(`/api/v1/alerts/${a.id}`);
});

test('the scheduler fires enabled rules once per period and publishes to subscribers', async () => {
  const n0 = received.length;
  const a = await admin.post('/api/v1/alerts', { name: '定时 DAU', question: DAU, condition: { type: 'above', value: 0 } });
  assert.equal(a.status, 201, a.text);
  // the event is recorded first, then queued for delivery (delivery_id / queued / delivery_error)
  const fired = await until(async () => {
    const e = (await admin.get(`/api/v1/alert-events?alert_id=${a.body.id}`)).body.items[0];
    return e && (e.queued !== null || e.delivery_error !== null) ? e : null;
  });
  assert.ok(fired, 'the scheduler fired the rule');
  assert.equal(fired.delivery_id, null);
  assert.ok(fired.queued >= 1, JSON.stringify(fired)); // our endpoint subscribes to alert.fired
  const got = await until(() => received.slice(n0).find((x) => x.body?.data?.id === fired.id));
  assert.ok(got, 'published to the subscribed endpoint');
  // several more scheduler passes: still one event for the period
  await new Promise((r) => setTimeout(r, 1200));
  const events = (await admin.get(`/api/v1/alert-events?alert_id=${a.body.id}`)).body;
  assert.equal(events.total, 1);
  const rule = (await admin.get(`/api/v1/alerts/${a.body.id}`)).body;
  assert.ok(rule.last_evaluated_at > fired.fired_at, 'evaluated again since');
  // disabled rules are left alone
  await admin.patch(`/api/v1/alerts/${a.body.id}`, { enabled: false, cooldown: 'none' });
  await new Promise((r) => setTimeout(r, 400)); // a pass that read the rule before the change ends
  const t = Date.now();
  await new Promise((r) => setTimeout(r, 900));
  assert.ok((await admin.get(`/api/v1/alerts/${a.body.id}`)).body.last_evaluated_at < t);
  // listing: newest first with a cursor
  const page1 = await admin.get('/api/v1/alert-events?limit=1');
  assert.equal(page1.body.items.length, 1);
  assert.ok(page1.body.next_cursor);
  const page2 = await admin.get(`/api/v1/alert-events?limit=1&cursor=${page1.body.next_cursor}`);
  assert.ok(page2.body.items[0].id < page1.body.items[0].id);
});
