// Model tags' computations on demo data: RFM groups, purchase-frequency
// tiers, interest prediction — and its evaluation, which must beat the
// "most popular categories" baseline on the demo's behaviour.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';

let srv;
let admin;
before(async () => { srv = await startServer({ contacts: 3000 }); admin = srv.admin(); });
after(async () => { await srv.stop(); srv.cleanup(); });

test('interest prediction beats the popular-categories baseline (precision@3, next 14 days)', async () => {
  const r = await admin.get('/api/v1/models/interest/evaluation?days=14');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.contacts_evaluated >= 50, r.text);
  assert.ok(r.body.precision_at_3 > r.body.baseline_precision_at_3, r.text);
  assert.ok(r.body.precision_at_3 <= 1 && r.body.baseline_precision_at_3 > 0, r.text);
  const bad = await admin.get('/api/v1/models/interest/evaluation?days=0');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.details.field, 'days');
});

test('RFM groups partition the buyers; a buyer\'s scores agree with their profile', async () => {
  const r = await admin.get('/api/v1/models/rfm');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.groups.length, 8);
  assert.equal(r.body.groups.reduce((n, g) => n + g.count, 0), r.body.buyers);
  assert.ok(r.body.buyers > 0);
  assert.deepEqual(r.body.groups.map((g) => g.label).slice(0, 2), ['重要价值客户', '重要发展客户']);
  // find a buyer through the order events and compare with the profile
  const ev = await admin.get('/api/v1/events?event=order_paid&limit=1');
  const id = ev.body.items[0].contact_id;
  const [m, p] = await Promise.all([admin.get(`/api/v1/contacts/${id}/models`), admin.get(`/api/v1/contacts/${id}/profile`)]);
  assert.equal(m.status, 200, m.text);
  assert.equal(m.body.rfm.orders, p.body.orders);
  assert.equal(m.body.rfm.spend_fen, p.body.spend_fen);
  for (const k of ['r', 'f', 'm']) assert.ok(m.body.rfm[k] >= 1 && m.body.rfm[k] <= 5);
  assert.ok(m.body.frequency.length >= 1);
  for (const t of m.body.frequency) assert.ok(['high', 'medium', 'low'].includes(t.tier));
  assert.ok(m.body.interests.length >= 1 && m.body.interests.length <= 3);
  const scores = m.body.interests.map((i) => i.score);
  assert.deepEqual([...scores].sort((a, b) => b - a), scores, 'interests come strongest first');
});

test('a sales user sees models only for contacts in scope', async () => {
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  const c = await srv.login(sales.username, sales.password);
  const mine = (await c.get('/api/v1/contacts?limit=1')).body.items[0];
  assert.equal((await c.get(`/api/v1/contacts/${mine.id}/models`)).status, 200);
  const all = (await admin.get('/api/v1/contacts?limit=200')).body.items;
  const other = all.find((x) => x.owner_id && x.owner_id !== sales.id);
  assert.equal((await c.get(`/api/v1/contacts/${other.id}/models`)).status, 404);
  const rfm = await c.get('/api/v1/models/rfm');
  const total = (await admin.get('/api/v1/models/rfm')).body.buyers;
  assert.ok(rfm.body.buyers < total, 'scope-filtered');
});

test('model tags: RFM group tags have the groups\' members; hand edits are refused; sales cannot refresh', async () => {
  const r = await admin.post('/api/v1/models/refresh');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.model_tags >= 8, r.text);
  const tree = (await admin.get('/api/v1/tags/tree')).body;
  const cats = tree.items || tree;
  const rfmCat = cats.find((c) => c.name === 'RFM 价值分层');
  assert.ok(rfmCat, 'the RFM category exists');
  const rfm = (await admin.get('/api/v1/models/rfm')).body;
  for (const g of rfm.groups) {
    const tag = rfmCat.tags.find((t) => t.name === g.label);
    assert.ok(tag, g.label);
    assert.equal(tag.kind, 'model');
    assert.equal(tag.member_count, g.count, g.label);
  }
  assert.ok(cats.some((c) => c.name === '兴趣预测' && c.tags.length >= 3));
  assert.ok(cats.some((c) => c.name === '购买频次' && c.tags.some((t) => t.name.endsWith('·高频'))));
  // system-managed: manual membership changes are refused
  const tag = rfmCat.tags.find((t) => t.member_count > 0);
  const cid = (await admin.get('/api/v1/contacts?limit=1')).body.items[0].id;
  assert.equal((await admin.post(`/api/v1/tags/${tag.id}/members`, { contact_ids: [cid] })).status, 409);
  // a second refresh changes nothing
  const again = await admin.post('/api/v1/models/refresh');
  assert.equal(again.status, 200);
  const rfmCat2 = ((await admin.get('/api/v1/tags/tree')).body.items || []).find((c) => c.name === 'RFM 价值分层');
  assert.deepEqual(rfmCat2.tags.map((t) => t.member_count), rfmCat.tags.map((t) => t.member_count));
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  const c = await srv.login(sales.username, sales.password);
  assert.equal((await c.post('/api/v1/models/refresh')).status, 403);
  assert.equal((await admin.post('/api/v1/models/refresh', { now: true })).status, 400);
});

test('models stay correct while events for new contacts arrive (no crash, refresh keeps working)', async () => {
  const auth = `Basic ${Buffer.from(`${srv.demo.write_key}:`).toString('base64')}`;
  let stop = false;
  let sent = 0;
  const load = (async () => {
    for (let b = 0; !stop; b++) {
      const batch = Array.from({ length: 50 }, (_, i) => ({
        type: 'track', userId: `mload-${b}-${i}`, event: i % 3 ? 'view_item' : 'order_paid',
        properties: { category: '生鲜', amount: '9.90', order_id: `mo-${b}-${i}` }, messageId: `mload-${b}-${i}`,
      }));
      const r = await fetch(`${srv.base}/v1/batch`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
      assert.equal(r.status, 200);
      sent += 50;
    }
  })();
  for (let i = 0; i < 8; i++) {
    assert.equal((await admin.post('/api/v1/models/refresh')).status, 200);
    assert.equal((await admin.get('/api/v1/models/rfm')).status, 200);
  }
  stop = true;
  await load;
  assert.ok(sent > 0);
  assert.equal((await srv.anon.get('/healthz')).status, 200);
});
