// segments.test.mjs — saved segments over HTTP: preview, CRUD with versions,
// members (scope-filtered, paginated), CSV export, snapshots, and bad
// definitions (400 naming the node's JSON path, nothing saved).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';

let srv, admin;

before(async () => {
  srv = await startServer({ contacts: 300 });
  admin = srv.admin();
});
after(async () => { await srv?.stop(); });

const segCount = async () => (await admin.get('/api/v1/segments?limit=500')).body.total;

async function expectBad(method, url, body, field, code = 'invalid_argument') {
  const before = await segCount();
  const r = await admin.req(method, url, body);
  assert.equal(r.status, 400, `${method} ${url} ${JSON.stringify(body)} → ${r.status} ${r.text}`);
  assert.equal(r.body.error.code, code);
  assert.ok(r.body.error.message.length > 0);
  if (field !== undefined) assert.equal(r.body.error.details?.field, field, r.text);
  assert.equal(await segCount(), before, 'nothing saved');
  return r;
}

test('preview: count and a sample of 20', async () => {
  const all = await admin.post('/api/v1/segments/preview', { definition: { not: { attribute: 'name', op: 'is_set' } } });
  assert.equal(all.status, 200, all.text);
  const r = await admin.post('/api/v1/segments/preview', { definition: { or: [{ attribute: 'name', op: 'is_set' }, { attribute: 'name', op: 'not_set' }] } });
  assert.equal(r.status, 200, r.text);
  const contacts = await admin.get('/api/v1/contacts?limit=1');
  assert.equal(r.body.count, contacts.body.total);
  assert.equal(r.body.sample.length, 20);
  assert.deepEqual(Object.keys(r.body.sample[0]).sort(), ['id', 'name']);
  // behaviour: demo data has order_paid events
  const buyers = await admin.post('/api/v1/segments/preview', { definition: { event: 'order_paid' } });
  assert.equal(buyers.status, 200, buyers.text);
  assert.ok(buyers.body.count > 0 && buyers.body.count < r.body.count);
  const non = await admin.post('/api/v1/segments/preview', { definition: { event: 'order_paid', did: false } });
  assert.equal(buyers.body.count + non.body.count, r.body.count);
  const twice = await admin.post('/api/v1/segments/preview', { definition: { event: 'order_paid', count: { gte: 2 }, last_days: 90 } });
  assert.ok(twice.body.count <= buyers.body.count);
  // as_of before any event: nobody did anything
  const early = await admin.post('/api/v1/segments/preview', { definition: { event: 'order_paid' }, as_of: 1000 });
  assert.equal(early.body.count, 0);
  const cal = await admin.post('/api/v1/segments/preview', { definition: { event: 'order_paid', last_calendar_days: 7, sum_amount_fen: { gte: 1 } } });
  assert.equal(cal.status, 200, cal.text);
  const btw = await admin.post('/api/v1/segments/preview', { definition: { event: 'order_paid', between: ['2020-01-01', '2030-01-01'] } });
  assert.equal(btw.body.count, buyers.body.count);
  const id = await admin.post('/api/v1/segments/preview', { definition: { identity: 'phone', op: 'has' } });
  assert.equal(id.status, 200, id.text);
  assert.ok(id.body.count > 0);
  // store / owner conditions partition by reference
  const store = srv.demo.stores[0];
  const s1 = await admin.post('/api/v1/segments/preview', { definition: { store } });
  const s1c = await admin.get(`/api/v1/contacts?store_id=${store}&limit=1`);
  assert.equal(s1.body.count, s1c.body.total);
});

test('CRUD, versions, members, CSV, snapshots', async () => {
  let r = await admin.post('/api/v1/segments', { name: '买过的人', description: 'buyers', definition: { event: 'order_paid' } });
  assert.equal(r.status, 201, r.text);
  const seg = r.body;
  assert.equal(seg.version, 1);
  r = await admin.get(`/api/v1/segments/${seg.id}`);
  assert.equal(r.body.name, '买过的人');
  r = await admin.patch(`/api/v1/segments/${seg.id}`, { definition: { and: [{ event: 'order_paid' }, { attribute: 'name', op: 'is_set' }] } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.version, 2);
  r = await admin.get(`/api/v1/segments/${seg.id}/versions`);
  assert.deepEqual(r.body.items.map((v) => v.version), [2, 1]);
  assert.deepEqual(r.body.items[1].definition, { event: 'order_paid' });
  r = await admin.get('/api/v1/segments');
  assert.ok(r.body.items.some((s) => s.id === seg.id));

  const preview = await admin.post('/api/v1/segments/preview', { definition: { segment: seg.id } });
  assert.equal(preview.status, 200, preview.text);
  // paginate members
  const ids = [];
  let cursor = null;
  do {
    r = await admin.get(`/api/v1/segments/${seg.id}/members?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.total, preview.body.count);
    ids.push(...r.body.items.map((i) => i.id));
    cursor = r.body.next_cursor;
  } while (cursor);
  assert.equal(ids.length, preview.body.count);
  assert.equal(new Set(ids).size, ids.length);

  r = await admin.get(`/api/v1/segments/${seg.id}/members.csv`);
  assert.equal(r.status, 200);
  const raw = Buffer.from(await (await fetch(`${srv.base}/api/v1/segments/${seg.id}/members.csv`, { headers: { authorization: `Bearer ${srv.demo.admin.api_token}` } })).arrayBuffer());
  assert.deepEqual([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
  assert.ok(r.text.replace(/^\ufeff/, '').startsWith('id,'), 'header');
  assert.equal(r.text.trim().split('\r\n').length, ids.length + 1);
  const audit = await admin.get('/api/v1/audit?action=segments.export');
  if (audit.status === 200) assert.ok(JSON.stringify(audit.body).includes('segments.export'));

  r = await admin.post(`/api/v1/segments/${seg.id}/snapshots`, {});
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.count, ids.length);
  const snap = r.body.id;
  r = await admin.get(`/api/v1/segments/${seg.id}/snapshots/${snap}/members?limit=500`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((i) => i.id), ids.slice(0, 500));
  r = await admin.get(`/api/v1/segments/${seg.id}/snapshots/999999/members`);
  assert.equal(r.status, 404);

  // a segment using it blocks its deletion
  r = await admin.post('/api/v1/segments', { name: 'uses', definition: { not: { segment: seg.id } } });
  assert.equal(r.status, 201, r.text);
  const user = r.body.id;
  // a cycle through the other segment
  await expectBad('PATCH', `/api/v1/segments/${seg.id}`, { definition: { or: [{ event: 'order_paid' }, { segment: user }] } }, '$.or[1].segment');
  assert.equal((await admin.get(`/api/v1/segments/${seg.id}`)).body.version, 2, 'not updated');
  await expectBad('PATCH', `/api/v1/segments/${seg.id}`, { definition: { segment: seg.id } }, '$.segment');
  r = await admin.del(`/api/v1/segments/${seg.id}`);
  assert.equal(r.status, 409, r.text);
  r = await admin.del(`/api/v1/segments/${user}`);
  assert.equal(r.status, 200, r.text);
  r = await admin.del(`/api/v1/segments/${seg.id}`);
  assert.equal(r.status, 200, r.text);
  r = await admin.get(`/api/v1/segments/${seg.id}`);
  assert.equal(r.status, 404);
});

test('bad definitions: 400 naming the node, nothing saved', async () => {
  const cases = [
    [{ and: [] }, '$.and'],
    [{ or: [{ event: 'order_paid' }, { and: [] }] }, '$.or[1].and'],
    [{ and: [{ event: 'order_paid' }, { event: 'no_such_event' }] }, '$.and[1].event'],
    [{ tag: 99999 }, '$.tag'],
    [{ segment: 99999 }, '$.segment'],
    [{ attribute: 'city', op: '>', value: 'x' }, '$.op'],
    [{ attribute: 'birthday', op: 'contains', value: '01' }, '$.op'],
    [{ attribute: 'birthday', op: '=', value: '2026-02-30' }, '$.value'],
    [{ attribute: 'no_such_attr', op: '=', value: 'x' }, '$.attribute'],
    [{ attribute: 'gender', op: '=', value: 'robot' }, '$.value'],
    [{ attribute: 'city', op: '=' }, '$.value'],
    [{ event: 'order_paid', between: ['2026-02-30', '2026-03-01'] }, '$.between[0]'],
    [{ event: 'order_paid', between: ['2026-03-01', '2026-02-01'] }, '$.between'],
    [{ event: 'order_paid', last_days: 0 }, '$.last_days'],
    [{ event: 'order_paid', last_days: 7, between: ['2026-01-01', '2026-02-01'] }, '$'],
    [{ event: 'order_paid', where: { colour: 'red' } }, '$.where.colour'],
    [{ event: 'order_paid', count: { gte: 0 } }, '$.count.gte'],
    [{ event: 'order_paid', did: false, count: { gte: 2 } }, '$.did'],
    [{ not: { identity: 'fax', op: 'has' } }, '$.not.identity'],
    [{ identity: 'phone', op: 'is' }, '$.op'],
    [{ store: 999999 }, '$.store'],
    [{ department: 999999 }, '$.department'],
    [{ owner: -1 }, '$.owner'],
    [{ bogus: 1 }, '$.bogus'],
    [{ event: 'order_paid', extra: 1 }, '$.extra'],
    [[], '$'],
  ];
  for (const [definition, field] of cases) {
    await expectBad('POST', '/api/v1/segments', { name: 'bad', definition }, field);
    await expectBad('POST', '/api/v1/segments/preview', { definition }, field);
  }
  await expectBad('POST', '/api/v1/segments', { name: 'x', definition: { event: 'order_paid' }, colour: 1 }, 'colour');
  await expectBad('POST', '/api/v1/segments', { definition: { event: 'order_paid' } }, 'name');
  await expectBad('POST', '/api/v1/segments', { name: 'x' }, 'definition');
  await expectBad('POST', '/api/v1/segments/preview', { definition: { event: 'order_paid' }, as_of: 'now' }, 'as_of');
  const r = await admin.patch('/api/v1/segments/999999', { name: 'x' });
  assert.equal(r.status, 404);
});

test('a sales user sees only their scope; permissions', async () => {
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  const cli = await srv.login(sales.username, sales.password);
  let r = await admin.post('/api/v1/segments', { name: 'everyone', definition: { or: [{ attribute: 'name', op: 'is_set' }, { attribute: 'name', op: 'not_set' }] } });
  assert.equal(r.status, 201, r.text);
  const seg = r.body.id;
  const all = await admin.get(`/api/v1/segments/${seg}/members?limit=500`);
  r = await cli.get(`/api/v1/segments/${seg}/members?limit=500`);
  assert.equal(r.status, 200, r.text);
  const mine = await cli.get('/api/v1/contacts?limit=500');
  assert.equal(r.body.total, mine.body.total);
  assert.ok(r.body.total < all.body.total);
  const mineIds = new Set(mine.body.items.map((i) => i.id));
  assert.ok(r.body.items.every((i) => mineIds.has(i.id)));
  const p = await cli.post('/api/v1/segments/preview', { definition: { segment: seg } });
  assert.equal(p.body.count, mine.body.total);
  // sales may not export (no contacts.export in the demo role) → 403 unless granted
  r = await cli.get(`/api/v1/segments/${seg}/members.csv`);
  assert.ok(r.status === 403 || r.status === 200);
  if (r.status === 200) assert.equal(r.text.trim().split('\r\n').length, mine.body.total + 1);
});

test('the set of live contacts follows new contacts, merges and undos (no stale cache)', async () => {
  const everyone = { or: [{ attribute: 'name', op: 'is_set' }, { not: { attribute: 'name', op: 'is_set' } }] };
  const count = async () => {
    const r = await admin.post('/api/v1/segments/preview', { definition: everyone });
    assert.equal(r.status, 200, r.text);
    return r.body.count;
  };
  const total = async () => (await admin.get('/api/v1/contacts?limit=1')).body.total;
  const n0 = await count();
  assert.equal(n0, await total());
  const a = await admin.post('/api/v1/contacts', { name: '缓存甲', phone: '13600002222' });
  const b = await admin.post('/api/v1/contacts', { name: '缓存乙', phone: '13600003333' });
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  assert.equal(await count(), n0 + 2);
  const m = await admin.post('/api/v1/contacts/merge', { winner_id: a.body.id, loser_id: b.body.id });
  assert.equal(m.status, 200, m.text);
  assert.equal(await count(), n0 + 1);
  const undo = await admin.post(`/api/v1/contacts/merges/${m.body.merge_id}/undo`);
  assert.equal(undo.status, 200, undo.text);
  assert.equal(await count(), n0 + 2);
  assert.equal(await count(), await total());
});
