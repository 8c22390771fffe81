// Life-cycle stages: computed for the demo data, transitions recorded as
// lifecycle_changed events within a second and a half, the distribution
// (now and per day), the {"stage": …} segment condition, the rules'
// settings (strict, audited) and data scope.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';

const STAGES = ['added', 'in_group', 'retained', 'active', 'converted', 'repurchased', 'silent', 'churned'];
let srv;
let admin;
before(async () => { srv = await startServer({ contacts: 200 }); admin = srv.admin(); });
after(async () => { await srv.stop(); srv.cleanup(); });

async function until(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function track(userId, event, messageId, properties = {}, extra = {}) {
  const res = await fetch(`${srv.base}/v1/track`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${srv.demo.write_key}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId, event, messageId, properties, ...extra }),
  });
  assert.equal(res.status, 200, await res.text());
}

const eventsOf = async (id, name) => (await admin.get(`/api/v1/contacts/${id}/events?event=${name}`)).body.items;

test('demo contacts have stages; the first pass records history but no events', async () => {
  const d = await admin.get('/api/v1/lifecycle/distribution');
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.body.stages.map((s) => s.stage), STAGES);
  const contacts = await admin.get('/api/v1/contacts?limit=1');
  assert.equal(d.body.total, contacts.body.total);
  assert.equal(d.body.stages.reduce((a, s) => a + s.count, 0) + d.body.none, d.body.total);
  assert.ok(d.body.stages.filter((s) => s.count > 0).length >= 4, JSON.stringify(d.body.stages));
  const id = contacts.body.items[0].id;
  const st = await admin.get(`/api/v1/contacts/${id}/stage`);
  assert.equal(st.status, 200, st.text);
  assert.ok(STAGES.includes(st.body.stage), st.text);
  assert.equal(st.body.history.length, 1);
  assert.equal(st.body.history[0].from, null);
  assert.equal(st.body.history[0].to, st.body.stage);
  assert.equal((await eventsOf(id, 'lifecycle_changed')).length, 0, 'the initial stage is not a change');
  // each stage's count equals the {"stage": …} segment condition's count
  for (const s of d.body.stages) {
    const p = await admin.post('/api/v1/segments/preview', { definition: { stage: s.stage } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.count, s.count, s.stage);
  }
  const bad = await admin.post('/api/v1/segments/preview', { definition: { and: [{ stage: 'vip' }] } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.details.field, '$.and[0].stage');
  // the daily distribution ends with today's counts
  const daily = await admin.get('/api/v1/lifecycle/distribution/daily');
  assert.equal(daily.status, 200, daily.text);
  assert.equal(daily.body.days.length, 30);
  const last = daily.body.days.at(-1).counts;
  for (const s of d.body.stages) assert.equal(last[s.stage], s.count, s.stage);
  const r = await admin.get('/api/v1/contacts/99999999/stage');
  assert.equal(r.status, 404);
});

test('new events move a contact between stages, each move a lifecycle_changed event', async () => {
  await track('lc-new-1', 'add_wechat', 'lc-1');
  const id = await until(async () => (await admin.get('/api/v1/contacts/lookup?type=user_id&value=lc-new-1')).body?.id);
  assert.ok(id);
  const first = await until(async () => (await eventsOf(id, 'lifecycle_changed'))[0]);
  assert.ok(first, 'lifecycle_changed recorded for the new contact');
  assert.equal(first.source, 'system');
  assert.deepEqual(first.properties, { from: null, to: 'active' });

  const t0 = Date.now();
  await track('lc-new-1', 'order_paid', 'lc-2', { order_id: 'LC-1', amount: '88.00' });
  const conv = await until(async () => (await eventsOf(id, 'lifecycle_changed')).find((e) => e.properties.to === 'converted'));
  const latency = Date.now() - t0;
  assert.ok(conv, 'lifecycle_changed to converted recorded');
  assert.equal(conv.properties.from, 'active');
  assert.ok(latency < 1500, `order to stage change took ${latency} ms`);
  const st = (await admin.get(`/api/v1/contacts/${id}/stage`)).body;
  assert.equal(st.stage, 'converted');
  assert.equal(st.label, '已转化');
  assert.deepEqual(st.history.map((h) => [h.from, h.to]), [['active', 'converted'], [null, 'active']]);

  await track('lc-new-1', 'order_paid', 'lc-3', { order_id: 'LC-2', amount: '18.00' });
  const rep = await until(async () => (await admin.get(`/api/v1/contacts/${id}/stage`)).body.stage === 'repurchased');
  assert.ok(rep, 'a second order: repurchased');
  // nothing repeats when nothing changes
  await new Promise((r) => setTimeout(r, 700));
  assert.equal((await eventsOf(id, 'lifecycle_changed')).length, 3);
});

test('time alone moves a stage: 活跃 ends 7 days after the last activity, to the moment', async () => {
  // last activity 7 days ago minus 3 s: active now, no longer active 3 s later
  const lastSeen = Date.now() - 7 * 86400000 + 3000;
  await track('lc-time-1', 'add_wechat', 'lc-t1', {}, { timestamp: new Date(lastSeen).toISOString() });
  const id = await until(async () => (await admin.get('/api/v1/contacts/lookup?type=user_id&value=lc-time-1')).body?.id);
  assert.ok(id);
  const first = await until(async () => (await eventsOf(id, 'lifecycle_changed'))[0]);
  assert.deepEqual(first?.properties, { from: null, to: 'active' });
  const moved = await until(async () => (await eventsOf(id, 'lifecycle_changed')).find((e) => e.properties.to === 'added'), 8000);
  assert.ok(moved, 'active → added recorded once 7 days had passed');
  assert.equal(moved.properties.from, 'active');
  const at = moved.at;
  const due = lastSeen + 7 * 86400000;
  assert.ok(Number.isFinite(at), JSON.stringify(moved));
  assert.ok(at >= due, `moved ${due - at} ms before it was due`);
  assert.ok(at - due < 1500, `moved ${at - due} ms after it was due`);
  assert.equal((await admin.get(`/api/v1/contacts/${id}/stage`)).body.stage, 'added');
});

test('settings: strict bodies and thresholds; audited; nothing changes on error', async () => {
  const before0 = (await admin.get('/api/v1/lifecycle/settings')).body;
  assert.deepEqual(before0, { added_event: 'add_wechat', in_group_event: 'join_group', active_days: 7, silent_days: 30, churned_days: 90 });
  const bad = [
    [{ bogus: 1 }, 'bogus'],
    [{ active_days: 0 }, 'active_days'],
    [{ active_days: '7' }, 'active_days'],
    [{ churned_days: 4000 }, 'churned_days'],
    [{ silent_days: 7 }, 'silent_days'],
    [{ silent_days: 60, churned_days: 60 }, 'churned_days'],
    [{ added_event: '' }, 'added_event'],
    [{ in_group_event: 5 }, 'in_group_event'],
  ];
  for (const [body, field] of bad) {
    const r = await admin.put('/api/v1/lifecycle/settings', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.code, 'invalid_argument');
    assert.equal(r.body.error.details.field, field, JSON.stringify(body));
  }
  assert.deepEqual((await admin.get('/api/v1/lifecycle/settings')).body, before0);
  const dist0 = (await admin.get('/api/v1/lifecycle/distribution')).body.stages;

  const ok = await admin.put('/api/v1/lifecycle/settings', { active_days: 3 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.active_days, 3);
  assert.equal(ok.body.silent_days, 30);
  const audit = await admin.get('/api/v1/audit?action=lifecycle.settings&limit=10');
  assert.equal(audit.status, 200, audit.text);
  assert.ok(audit.body.items.length >= 1);
  // a shorter active window can only move contacts out of 活跃
  const moved = await until(async () => {
    const s = (await admin.get('/api/v1/lifecycle/distribution')).body.stages;
    const a0 = dist0.find((x) => x.stage === 'active').count, a1 = s.find((x) => x.stage === 'active').count;
    return a1 <= a0 ? s : null;
  });
  assert.ok(moved);
  const back = await admin.put('/api/v1/lifecycle/settings', before0);
  assert.equal(back.status, 200, back.text);
});

test('a sales user sees only their scope; settings need settings.manage', async () => {
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  const cli = await srv.login(sales.username, sales.password);
  const mine = await cli.get('/api/v1/contacts?limit=500');
  const d = await cli.get('/api/v1/lifecycle/distribution');
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.total, mine.body.total);
  const all = (await admin.get('/api/v1/lifecycle/distribution')).body;
  assert.ok(d.body.total < all.total);
  const daily = await cli.get('/api/v1/lifecycle/distribution/daily?from=2020-01-01&to=2020-01-03');
  assert.equal(daily.status, 200);
  assert.equal(daily.body.days.length, 3);
  const r = await cli.put('/api/v1/lifecycle/settings', { active_days: 5 });
  assert.equal(r.status, 403);
  assert.equal((await admin.get('/api/v1/lifecycle/settings')).body.active_days, 7);
  // someone else's contact is not found for this user
  const mineIds = new Set(mine.body.items.map((i) => i.id));
  const others = (await admin.get('/api/v1/contacts?limit=500')).body.items.find((i) => !mineIds.has(i.id));
  assert.equal((await cli.get(`/api/v1/contacts/${others.id}/stage`)).status, 404);
});

test('daily distribution: bad dates are 400', async () => {
  for (const [q, field] of [['from=2026-13-01', 'from'], ['to=yesterday', 'to'], ['from=2026-02-01&to=2026-01-01', 'from'], ['from=2020-01-01&to=2026-01-01', 'from']]) {
    const r = await admin.get(`/api/v1/lifecycle/distribution/daily?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.details.field, field, q);
  }
});
