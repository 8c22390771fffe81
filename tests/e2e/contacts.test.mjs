// The lead library over HTTP: CRUD, search, filters, cursors, data scopes
// and permission denials, bad input (status, code, and that nothing
// changed), timeline, follow-ups, identities, consent, followers, phone
// masking and unmasking, channels, custom attributes, merge and undo, the
// lead pool (claim, return, recycle), handover and export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';

let srv;
let admin;
before(async () => {
  srv = await startServer({ contacts: 400 });
  admin = srv.admin();
});
after(async () => { await srv.stop(); srv.cleanup(); });

const byRole = (role, i = 0) => srv.demo.staff.filter((s) => s.role === role)[i];
const loginAs = (s) => srv.login(s.username, s.password);

function assertError(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.body?.error?.code, code, res.text);
  assert.ok(res.body.error.message.length > 0);
  if (field) assert.equal(res.body.error.details?.field, field, res.text);
}

async function total(path = '/api/v1/contacts?limit=1') {
  const r = await admin.get(path);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

async function auditHas(action, pred = () => true) {
  const r = await admin.get(`/api/v1/audit?action=${encodeURIComponent(action)}&limit=500`);
  assert.equal(r.status, 200, r.text);
  return r.body.items.some(pred);
}

let phoneSeq = 0;
// A fresh mainland number per call (199 segment is not used by the demo).
const newPhone = () => `199${String(10000000 + ++phoneSeq * 7 + process.pid % 1000).slice(-8)}`;

async function create(body, client = admin) {
  const r = await client.post('/api/v1/contacts', body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test('create, read, change; phone normalised; change recorded on the timeline', async () => {
  const c = await create({ name: '测试甲', phone: '+86 199-0000-0001', email: 'Jia@Example.com', gender: '女', birthday: '1990/2/3', city: '上海', status: '待跟进' });
  assert.equal(c.phone, '+8619900000001');
  assert.equal(c.email, 'jia@example.com');
  assert.equal(c.gender, 'female');
  assert.equal(c.birthday, '1990-02-03');
  assert.equal(c.status, 'pending');
  assert.equal(c.status_label, '待跟进');
  assert.deepEqual(c.identities.map((i) => i.type).sort(), ['email', 'phone']);
  const g = await admin.get(`/api/v1/contacts/${c.id}`);
  assert.equal(g.status, 200);
  assert.equal(g.body.name, '测试甲');
  const p = await admin.patch(`/api/v1/contacts/${c.id}`, { name: '测试乙', company: '星辰科技', status: 'following' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.name, '测试乙');
  const t = await admin.get(`/api/v1/contacts/${c.id}/timeline`);
  assert.equal(t.status, 200);
  const change = t.body.items.find((i) => i.kind === 'change');
  assert.ok(change, t.text);
  assert.deepEqual(change.changes.name, { from: '测试甲', to: '测试乙' });
  assert.ok(t.body.items.every((i) => typeof i.at === 'number' && 'by' in i));
  // changing the phone moves the phone identity
  const p2 = await admin.patch(`/api/v1/contacts/${c.id}`, { phone: '19900000002' });
  assert.equal(p2.status, 200, p2.text);
  assert.deepEqual(p2.body.identities.filter((i) => i.type === 'phone').map((i) => i.value), ['+8619900000002']);
  const l = await admin.get('/api/v1/contacts/lookup?type=phone&value=19900000002');
  assert.equal(l.status, 200, l.text);
  assert.equal(l.body.id, c.id);
  assertError(await admin.get('/api/v1/contacts/lookup?type=phone&value=19900000001'), 404, 'not_found');
});

test('bad input is refused with a clear error and changes nothing', async () => {
  const existing = await create({ name: '已有', phone: newPhone(), email: 'dup@example.com' });
  const before = await total();
  const cases = [
    [await admin.post('/api/v1/contacts', '{"name":', { 'content-type': 'application/json' }), 400, 'invalid_argument'],
    [await admin.post('/api/v1/contacts', { name: 5 }), 400, 'invalid_argument', 'name'],
    [await admin.post('/api/v1/contacts', { name: 'x', nickname: 'y' }), 400, 'invalid_argument', 'nickname'],
    [await admin.post('/api/v1/contacts', {}), 400, 'invalid_argument'],
    [await admin.post('/api/v1/contacts', { name: 'x', phone: '12345' }), 400, 'invalid_argument', 'phone'],
    [await admin.post('/api/v1/contacts', { name: 'x', phone: '1.38123E+10' }), 400, 'invalid_argument', 'phone'],
    [await admin.post('/api/v1/contacts', { name: 'x', email: 'not-an-email' }), 400, 'invalid_argument', 'email'],
    [await admin.post('/api/v1/contacts', { name: 'x', status: 'maybe' }), 400, 'invalid_argument', 'status'],
    [await admin.post('/api/v1/contacts', { name: 'x', owner_id: 999999 }), 400, 'invalid_argument', 'owner_id'],
    [await admin.post('/api/v1/contacts', { name: 'x', attributes: { nope: 1 } }), 400, 'invalid_argument', 'attributes.nope'],
    [await admin.post('/api/v1/contacts', { name: 'x', identities: [{ type: 'qq', value: '1' }] }), 400, 'invalid_argument'],
    [await admin.post('/api/v1/contacts', { name: 'x', phone: existing.phone }), 409, 'conflict'],
    [await admin.post('/api/v1/contacts', { name: 'x', phone: newPhone(), email: 'DUP@example.com' }), 409, 'conflict'],
    [await admin.post('/api/v1/contacts', { name: 'x'.repeat(70000) }), 413, 'payload_too_large'],
  ];
  for (const [res, status, code, field] of cases) assertError(res, status, code, field);
  assert.equal(await total(), before);
  // the phone of a failed duplicate create did not get an identity
  assertError(await admin.get(`/api/v1/contacts/lookup?type=phone&value=${phoneSeq}`), 400, 'invalid_argument');
  // PATCH: wrong type, unknown field, empty, duplicate identity — contact unchanged
  const other = await create({ name: '另一个', phone: newPhone() });
  for (const [body, status, code, field] of [
    [{ city: ['上海'] }, 400, 'invalid_argument', 'city'],
    [{ citty: '上海' }, 400, 'invalid_argument', 'citty'],
    [{}, 400, 'invalid_argument'],
    [{ email: 'dup@example.com' }, 409, 'conflict'],
    [{ phone: existing.phone, name: '改名' }, 409, 'conflict'],
  ]) assertError(await admin.patch(`/api/v1/contacts/${other.id}`, body), status, code, field);
  const after = await admin.get(`/api/v1/contacts/${other.id}`);
  assert.equal(after.body.name, '另一个');
  assert.equal(after.body.email, null);
  assertError(await admin.get('/api/v1/contacts/abc'), 400, 'invalid_argument');
  assertError(await admin.get('/api/v1/contacts/99999999'), 404, 'not_found');
  assertError(await admin.get('/api/v1/contacts?limit=501'), 400, 'invalid_argument', 'limit');
  assertError(await admin.get('/api/v1/contacts?sort=phone'), 400, 'invalid_argument', 'sort');
  assertError(await admin.get('/api/v1/contacts?cursor=zz'), 400, 'invalid_argument', 'cursor');
  assertError(await admin.get('/api/v1/contacts?tag_id=1'), 400, 'invalid_argument', 'tag_id');
});

test('list, search (name, full phone, last 4 digits, company), filters and cursor pages', async () => {
  const c = await create({ name: '搜索测试人', phone: '19911112222', company: '独一无二科技', city: '杭州' });
  let r = await admin.get(`/api/v1/contacts?q=${encodeURIComponent('搜索测试')}`);
  assert.equal(r.status, 200);
  assert.ok(r.body.items.some((i) => i.id === c.id));
  r = await admin.get('/api/v1/contacts?q=19911112222');
  assert.deepEqual(r.body.items.map((i) => i.id), [c.id]);
  r = await admin.get('/api/v1/contacts?q=2222');
  assert.ok(r.body.items.some((i) => i.id === c.id));
  r = await admin.get(`/api/v1/contacts?q=${encodeURIComponent('独一无二')}`);
  assert.deepEqual(r.body.items.map((i) => i.id), [c.id]);
  // filters
  const sales = byRole('sales');
  r = await admin.get(`/api/v1/contacts?owner_id=${sales.id}&limit=500`);
  assert.ok(r.body.total > 0);
  assert.ok(r.body.items.every((i) => i.owner_id === sales.id));
  r = await admin.get(`/api/v1/contacts?status=${encodeURIComponent('已成交')}&limit=500`);
  assert.ok(r.body.items.every((i) => i.status === 'won'));
  r = await admin.get(`/api/v1/contacts?store_id=${srv.demo.stores[0]}&limit=500`);
  assert.ok(r.body.items.every((i) => i.store_id === srv.demo.stores[0]));
  r = await admin.get(`/api/v1/contacts?department_id=${sales.department_id}&limit=500`);
  assert.ok(r.body.total > 0 && r.body.items.every((i) => i.department_id === sales.department_id));
  r = await admin.get('/api/v1/contacts?owner_id=none&limit=500');
  assert.ok(r.body.items.every((i) => i.owner_id === null));
  r = await admin.get('/api/v1/contacts?source_id=1&limit=500');
  assert.ok(r.body.items.every((i) => i.source_id === 1));
  const now = Date.now();
  r = await admin.get(`/api/v1/contacts?created_from=${now - 60000}`);
  assert.ok(r.body.items.some((i) => i.id === c.id));
  assert.ok(r.body.items.every((i) => i.created_at >= now - 60000));
  // cursor walk: every contact exactly once, in order
  const all = await total();
  for (const sort of ['created_at', '-updated_at', 'name']) {
    const seen = new Set();
    let cursor = null;
    let prev = null;
    do {
      r = await admin.get(`/api/v1/contacts?limit=97&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.total, all);
      for (const i of r.body.items) {
        assert.ok(!seen.has(i.id), `duplicate ${i.id} with sort ${sort}`);
        seen.add(i.id);
        const key = sort === 'name' ? (i.name ?? '') : sort === 'created_at' ? i.created_at : i.updated_at;
        if (prev !== null) assert.ok(sort === 'name' ? prev <= key : sort === 'created_at' ? prev >= key : prev >= key, `${sort}: ${prev} then ${key}`);
        prev = key;
      }
      cursor = r.body.next_cursor;
    } while (cursor);
    assert.equal(seen.size, all);
  }
});

test('a sales user cannot read, list, search, export, merge or see the timeline of another sales user\'s contact', async () => {
  const s1 = byRole('sales', 0);
  const s2 = byRole('sales', 1);
  const theirs = await create({ name: '别人的客户', phone: newPhone(), owner_id: s2.id });
  const c1 = await loginAs(s1);
  // own contacts are visible, phones masked
  const mine = await c1.get('/api/v1/contacts?limit=500');
  assert.equal(mine.status, 200);
  assert.ok(mine.body.total > 0);
  for (const i of mine.body.items) {
    assert.ok(i.phone === null || /^\d{3}\*{4}\d{4}$/.test(i.phone), i.phone);
    assert.equal(i.phone_masked, true);
  }
  const detail = await c1.get(`/api/v1/contacts/${mine.body.items[0].id}`);
  assert.equal(detail.status, 200);
  assert.ok(detail.body.owner_id === s1.id || detail.body.followers.includes(s1.id));
  // the other one's contact: 404 everywhere, never 403 (no existence leak)
  assertError(await c1.get(`/api/v1/contacts/${theirs.id}`), 404, 'not_found');
  assertError(await c1.get(`/api/v1/contacts/${theirs.id}/timeline`), 404, 'not_found');
  assertError(await c1.get(`/api/v1/contacts/${theirs.id}/follow-ups`), 404, 'not_found');
  assertError(await c1.get(`/api/v1/contacts/${theirs.id}/consent`), 404, 'not_found');
  assertError(await c1.patch(`/api/v1/contacts/${theirs.id}`, { name: 'hacked' }), 404, 'not_found');
  assertError(await c1.post(`/api/v1/contacts/${theirs.id}/follow-ups`, { note: 'x' }), 404, 'not_found');
  assertError(await c1.post(`/api/v1/contacts/${theirs.id}/claim`), 404, 'not_found');
  assertError(await c1.post(`/api/v1/contacts/${theirs.id}/return`, { reason: 'x' }), 404, 'not_found');
  assertError(await c1.get(`/api/v1/contacts/lookup?type=phone&value=${encodeURIComponent(theirs.phone)}`), 404, 'not_found');
  const l = await c1.get('/api/v1/contacts?limit=500');
  assert.ok(!l.body.items.some((i) => i.id === theirs.id));
  const s = await c1.get(`/api/v1/contacts?q=${encodeURIComponent(theirs.phone.slice(3))}`);
  assert.equal(s.body.total, 0);
  const s4 = await c1.get(`/api/v1/contacts?q=${encodeURIComponent('别人的客户')}`);
  assert.equal(s4.body.total, 0);
  // sales have no export, merge, unmask or import rights
  assertError(await c1.get('/api/v1/contacts/export.csv'), 403, 'permission_denied');
  assertError(await c1.post('/api/v1/contacts/merge', { winner_id: mine.body.items[0].id, loser_id: theirs.id }), 403, 'permission_denied');
  assertError(await c1.post('/api/v1/contacts/merge/preview', { winner_id: mine.body.items[0].id, loser_id: theirs.id }), 403, 'permission_denied');
  assertError(await c1.post(`/api/v1/contacts/${mine.body.items[0].id}/unmask-phone`), 403, 'permission_denied');
  assertError(await c1.post('/api/v1/contacts/import', 'a,b\n1,2\n'), 403, 'permission_denied');
  // nothing changed
  const g = await admin.get(`/api/v1/contacts/${theirs.id}`);
  assert.equal(g.body.name, '别人的客户');
  assert.equal(g.body.owner_id, s2.id);
  // a store manager exports only their store's contacts, phones masked
  const sm = byRole('store_manager');
  const csm = await loginAs(sm);
  const ex = await csm.get('/api/v1/contacts/export.csv');
  assert.equal(ex.status, 200, ex.text);
  const rows = ex.text.replace(/^\uFEFF/, '').trim().split(/\r\n/).slice(1).map((l2) => l2.split(','));
  assert.ok(rows.length > 0);
  assert.ok(rows.every((r) => r[11] === String(sm.store_id)), 'store scope');
  assert.ok(rows.every((r) => r[2] === '' || /^\d{3}\*{4}\d{4}$/.test(r[2])), 'masked');
  // following a contact brings it into the own scope, unfollowing removes it
  const f = await admin.post(`/api/v1/contacts/${theirs.id}/followers`, { staff_id: s1.id });
  assert.equal(f.status, 200, f.text);
  assert.deepEqual(f.body.followers, [s1.id]);
  assert.equal((await c1.get(`/api/v1/contacts/${theirs.id}`)).status, 200);
  const d = await admin.del(`/api/v1/contacts/${theirs.id}/followers/${s1.id}`);
  assert.equal(d.status, 200, d.text);
  assertError(await c1.get(`/api/v1/contacts/${theirs.id}`), 404, 'not_found');
  assertError(await admin.del(`/api/v1/contacts/${theirs.id}/followers/${s1.id}`), 404, 'not_found');
  assertError(await admin.post(`/api/v1/contacts/${theirs.id}/followers`, { staff_id: 999999 }), 400, 'invalid_argument', 'staff_id');
  // a sales user's new contact is theirs
  const own = await create({ name: '我的新客户', phone: newPhone() }, c1);
  assert.equal(own.owner_id, s1.id);
});

test('follow-ups, identities, consent, unmasking (audited)', async () => {
  const c = await create({ name: '跟进对象', phone: newPhone(), consent: [{ channel: 'wecom', status: 'granted', source: 'form', purpose: '会员服务' }] });
  const fu = await admin.post(`/api/v1/contacts/${c.id}/follow-ups`, { note: '电话沟通，下周到店', next_follow_up_at: Date.now() + 86400000 });
  assert.equal(fu.status, 201, fu.text);
  assert.equal(fu.body.kind, 'follow_up');
  const g = await admin.get(`/api/v1/contacts/${c.id}`);
  assert.equal(g.body.status, 'following'); // a first follow-up moves 待跟进 on
  assert.ok(g.body.last_follow_up_at > 0);
  const list = await admin.get(`/api/v1/contacts/${c.id}/follow-ups`);
  assert.equal(list.body.items[0].note, '电话沟通，下周到店');
  assertError(await admin.post(`/api/v1/contacts/${c.id}/follow-ups`, {}), 400, 'invalid_argument', 'note');
  assertError(await admin.post(`/api/v1/contacts/${c.id}/follow-ups`, { note: 'x', extra: 1 }), 400, 'invalid_argument', 'extra');
  // identities
  const id = await admin.post(`/api/v1/contacts/${c.id}/identities`, { type: 'wechat_unionid', value: 'o6_unionid_e2e_1' });
  assert.equal(id.status, 201, id.text);
  const l = await admin.get('/api/v1/contacts/lookup?type=wechat_unionid&value=o6_unionid_e2e_1');
  assert.equal(l.body.id, c.id);
  const other = await create({ name: '另一人', phone: newPhone() });
  assertError(await admin.post(`/api/v1/contacts/${other.id}/identities`, { type: 'wechat_unionid', value: 'o6_unionid_e2e_1' }), 409, 'conflict');
  assertError(await admin.post(`/api/v1/contacts/${other.id}/identities`, { type: 'qq', value: '1' }), 400, 'invalid_argument', 'type');
  assertError(await admin.post(`/api/v1/contacts/${other.id}/identities`, { type: 'phone', value: '12345' }), 400, 'invalid_argument', 'phone');
  assert.equal((await admin.get(`/api/v1/contacts/${other.id}`)).body.identities.length, 1);
  // consent
  const cs = await admin.put(`/api/v1/contacts/${c.id}/consent/sms`, { status: 'withdrawn', purpose: '营销短信' });
  assert.equal(cs.status, 200, cs.text);
  const cg = await admin.get(`/api/v1/contacts/${c.id}/consent`);
  assert.deepEqual(cg.body.items.map((x) => [x.channel, x.status, x.source]), [['sms', 'withdrawn', 'staff'], ['wecom', 'granted', 'form']]);
  assertError(await admin.put(`/api/v1/contacts/${c.id}/consent/fax`, { status: 'granted' }), 400, 'invalid_argument', 'channel');
  assertError(await admin.put(`/api/v1/contacts/${c.id}/consent/sms`, { status: 'maybe' }), 400, 'invalid_argument', 'status');
  assertError(await admin.put(`/api/v1/contacts/${c.id}/consent/sms`, { status: 'granted', source: 'telepathy' }), 400, 'invalid_argument', 'source');
  assert.equal((await admin.get(`/api/v1/contacts/${c.id}/consent`)).body.items[0].status, 'withdrawn');
  // unmasking: operations (no contacts.phone? they have it) — use the admin token
  const u = await admin.post(`/api/v1/contacts/${c.id}/unmask-phone`);
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.phone, c.phone);
  assert.ok(await auditHas('contacts.unmask_phone', (e) => e.target === `contact:${c.id}`));
  const tl = await admin.get(`/api/v1/contacts/${c.id}/timeline`);
  const kinds = tl.body.items.map((i) => i.kind);
  for (const k of ['follow_up', 'identity_added', 'consent', 'created']) assert.ok(kinds.includes(k), kinds.join());
  // timeline pages
  const p1 = await admin.get(`/api/v1/contacts/${c.id}/timeline?limit=2`);
  assert.equal(p1.body.items.length, 2);
  assert.ok(p1.body.next_cursor);
  const p2 = await admin.get(`/api/v1/contacts/${c.id}/timeline?limit=50&cursor=${p1.body.next_cursor}`);
  const ids = [...p1.body.items, ...p2.body.items].map((i) => `${i.kind}${i.id}`);
  assert.equal(new Set(ids).size, ids.length);
  assertError(await admin.get(`/api/v1/contacts/${c.id}/timeline?cursor=x`), 400, 'invalid_argument', 'cursor');
});

test('channels and custom attributes: CRUD and validation', async () => {
  const ch = await admin.post('/api/v1/channels', { name: 'e2e 小红书', kind: 'ads', code: 'xhs-e2e' });
  assert.equal(ch.status, 201, ch.text);
  assertError(await admin.post('/api/v1/channels', { name: 'e2e 小红书', kind: 'ads' }), 409, 'conflict');
  assertError(await admin.post('/api/v1/channels', { name: 'x', kind: 'tv' }), 400, 'invalid_argument', 'kind');
  assertError(await admin.post('/api/v1/channels', { kind: 'ads' }), 400, 'invalid_argument', 'name');
  assertError(await admin.post('/api/v1/channels', { name: 'y', kind: 'ads', color: 'red' }), 400, 'invalid_argument', 'color');
  const p = await admin.patch(`/api/v1/channels/${ch.body.id}`, { name: 'e2e 小红书种草' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.name, 'e2e 小红书种草');
  assert.equal((await admin.get(`/api/v1/channels/${ch.body.id}`)).body.code, 'xhs-e2e');
  const c = await create({ name: '渠道客户', phone: newPhone(), source_id: ch.body.id });
  assert.equal(c.source_id, ch.body.id);
  const list = await admin.get('/api/v1/channels');
  assert.ok(list.body.items.some((x) => x.id === ch.body.id));
  assert.equal((await admin.del(`/api/v1/channels/${ch.body.id}`)).status, 200);
  assertError(await admin.get(`/api/v1/channels/${ch.body.id}`), 404, 'not_found');
  assert.equal((await admin.get(`/api/v1/contacts/${c.id}`)).body.source_id, null);
  assertError(await admin.post('/api/v1/contacts', { name: 'x', source_id: ch.body.id }), 400, 'invalid_argument', 'source_id');

  const a = await admin.post('/api/v1/contact-attributes', { key: 'level', label: '会员等级', type: 'enum', options: ['普通', 'VIP'] });
  assert.equal(a.status, 201, a.text);
  assert.equal((await admin.post('/api/v1/contact-attributes', { key: 'spend', label: '年消费', type: 'number' })).status, 201);
  assertError(await admin.post('/api/v1/contact-attributes', { key: 'level', label: 'x', type: 'text' }), 409, 'conflict');
  assertError(await admin.post('/api/v1/contact-attributes', { key: 'Bad Key', label: 'x', type: 'text' }), 400, 'invalid_argument', 'key');
  assertError(await admin.post('/api/v1/contact-attributes', { key: 'k2', label: 'x', type: 'enum' }), 400, 'invalid_argument', 'options');
  assertError(await admin.post('/api/v1/contact-attributes', { key: 'k3', label: 'x', type: 'color' }), 400, 'invalid_argument', 'type');
  const withAttrs = await create({ name: '属性客户', phone: newPhone(), attributes: { level: 'VIP', spend: 1200 } });
  assert.deepEqual(withAttrs.attributes, { level: 'VIP', spend: 1200 });
  assertError(await admin.patch(`/api/v1/contacts/${withAttrs.id}`, { attributes: { level: 'SVIP' } }), 400, 'invalid_argument', 'attributes.level');
  assertError(await admin.patch(`/api/v1/contacts/${withAttrs.id}`, { attributes: { spend: 'lots' } }), 400, 'invalid_argument', 'attributes.spend');
  const pa = await admin.patch(`/api/v1/contacts/${withAttrs.id}`, { attributes: { spend: null } });
  assert.deepEqual(pa.body.attributes, { level: 'VIP' });
  const opt = await admin.patch('/api/v1/contact-attributes/level', { options: ['普通', 'VIP', 'SVIP'] });
  assert.equal(opt.status, 200, opt.text);
  assert.equal((await admin.patch(`/api/v1/contacts/${withAttrs.id}`, { attributes: { level: 'SVIP' } })).status, 200);
  assert.equal((await admin.get('/api/v1/contact-attributes')).body.total, 2);
  assert.equal((await admin.del('/api/v1/contact-attributes/spend')).status, 200);
  assertError(await admin.del('/api/v1/contact-attributes/spend'), 404, 'not_found');
  // sales cannot define attributes or channels
  const c1 = await loginAs(byRole('sales'));
  assertError(await c1.post('/api/v1/contact-attributes', { key: 'k9', label: 'x', type: 'text' }), 403, 'permission_denied');
  assertError(await c1.post('/api/v1/channels', { name: 'z', kind: 'ads' }), 403, 'permission_denied');
});

test('merge with preview, tombstone redirect, timeline, undo by an admin', async () => {
  const w = await create({ name: '王芳', phone: newPhone(), owner_id: byRole('sales').id });
  const l = await create({ name: 'Wang Fang', phone: newPhone(), email: 'wf.merge@example.cn', city: '杭州', identities: [{ type: 'user_id', value: 'u-merge-1' }] });
  const before = await total();
  const pv = await admin.post('/api/v1/contacts/merge/preview', { winner_id: w.id, loser_id: l.id });
  assert.equal(pv.status, 200, pv.text);
  const byField = Object.fromEntries(pv.body.fields.map((f) => [f.field, f]));
  assert.equal(byField.name.action, 'keep');
  assert.equal(byField.email.action, 'fill');
  assert.equal(byField.city.action, 'fill');
  assert.equal(pv.body.identities_moved.length, 3);
  assert.equal(await total(), before); // preview writes nothing
  const m = await admin.post('/api/v1/contacts/merge', { winner_id: w.id, loser_id: l.id });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.body.winner.name, '王芳');
  assert.equal(m.body.winner.email, 'wf.merge@example.cn');
  assert.equal(m.body.winner.identities.length, 4);
  assert.equal(await total(), before - 1);
  const redirect = await admin.get(`/api/v1/contacts/${l.id}`);
  assert.equal(redirect.status, 200);
  assert.equal(redirect.body.id, w.id);
  assert.equal(redirect.body.merged_from, l.id);
  const lk = await admin.get('/api/v1/contacts/lookup?type=user_id&value=u-merge-1');
  assert.equal(lk.body.id, w.id);
  const tl = await admin.get(`/api/v1/contacts/${w.id}/timeline`);
  assert.ok(tl.body.items.some((i) => i.kind === 'merge' && i.merge_id === m.body.merge_id));
  assert.ok(await auditHas('contacts.merge', (e) => e.target === `contact:${w.id}`));
  const rec = await admin.get(`/api/v1/contacts/merges/${m.body.merge_id}`);
  assert.equal(rec.status, 200);
  assert.equal(rec.body.loser_id, l.id);
  // bad merges change nothing
  assertError(await admin.post('/api/v1/contacts/merge', { winner_id: w.id, loser_id: l.id }), 400, 'invalid_argument', 'loser_id');
  assertError(await admin.post('/api/v1/contacts/merge', { winner_id: w.id, loser_id: w.id }), 400, 'invalid_argument', 'loser_id');
  assertError(await admin.post('/api/v1/contacts/merge', { winner_id: w.id }), 400, 'invalid_argument', 'loser_id');
  assertError(await admin.post('/api/v1/contacts/merge', { winner_id: 'a', loser_id: 1 }), 400, 'invalid_argument', 'winner_id');
  assertError(await admin.post('/api/v1/contacts/merge', { winner_id: w.id, loser_id: 99999999 }), 404, 'not_found');
  // operations may merge but only admins undo
  const ops = await loginAs(byRole('operations'));
  assertError(await ops.post(`/api/v1/contacts/merges/${m.body.merge_id}/undo`), 403, 'permission_denied');
  const u = await admin.post(`/api/v1/contacts/merges/${m.body.merge_id}/undo`);
  assert.equal(u.status, 200, u.text);
  assert.ok(u.body.undone_at > 0);
  assert.equal(await total(), before);
  const back = await admin.get(`/api/v1/contacts/${l.id}`);
  assert.equal(back.body.id, l.id);
  assert.equal(back.body.email, 'wf.merge@example.cn');
  assert.equal((await admin.get(`/api/v1/contacts/${w.id}`)).body.email, null);
  assert.equal((await admin.get('/api/v1/contacts/lookup?type=user_id&value=u-merge-1')).body.id, l.id);
  assertError(await admin.post(`/api/v1/contacts/merges/${m.body.merge_id}/undo`), 409, 'conflict');
  assert.ok(await auditHas('contacts.unmerge'));
});

test('lead pool: list, claim with a limit, return with a reason, recycle (audited)', async () => {
  const s1 = byRole('sales', 2);
  const c1 = await loginAs(s1);
  const pool = await c1.get('/api/v1/contacts/pool?limit=10');
  assert.equal(pool.status, 200, pool.text);
  assert.ok(pool.body.total >= 3);
  assert.ok(pool.body.items.every((i) => i.owner_id === null));
  const [a, b] = pool.body.items;
  assertError(await c1.get(`/api/v1/contacts/${a.id}`), 404, 'not_found'); // not theirs yet
  const st = await admin.patch('/api/v1/pool/settings', { claim_limit: 1 });
  assert.equal(st.status, 200, st.text);
  assert.equal(st.body.claim_limit, 1);
  const cl = await c1.post(`/api/v1/contacts/${a.id}/claim`);
  assert.equal(cl.status, 200, cl.text);
  assert.equal(cl.body.owner_id, s1.id);
  assert.ok(cl.body.pool_claimed_at > 0);
  assert.equal((await c1.get(`/api/v1/contacts/${a.id}`)).status, 200);
  assertError(await c1.post(`/api/v1/contacts/${a.id}/claim`), 409, 'conflict');
  assertError(await c1.post(`/api/v1/contacts/${b.id}/claim`), 409, 'failed_precondition'); // limit reached
  assert.equal((await admin.get(`/api/v1/contacts/${b.id}`)).body.owner_id, null);
  // return
  assertError(await c1.post(`/api/v1/contacts/${a.id}/return`, {}), 400, 'invalid_argument', 'reason');
  assertError(await c1.post(`/api/v1/contacts/${a.id}/return`, { reason: '' }), 400, 'invalid_argument', 'reason');
  const rt = await c1.post(`/api/v1/contacts/${a.id}/return`, { reason: '客户已有合作方' });
  assert.equal(rt.status, 200, rt.text);
  const ag = await admin.get(`/api/v1/contacts/${a.id}`);
  assert.equal(ag.body.owner_id, null);
  assert.equal(ag.body.return_reason, '客户已有合作方');
  assertError(await admin.post(`/api/v1/contacts/${a.id}/return`, { reason: 'x' }), 409, 'conflict');
  assert.ok(await auditHas('contacts.return', (e) => e.target === `contact:${a.id}`));
  // now the limit allows another claim
  assert.equal((await c1.post(`/api/v1/contacts/${b.id}/claim`)).status, 200);
  // settings validation
  assertError(await admin.patch('/api/v1/pool/settings', { recycle_days: 0 }), 400, 'invalid_argument', 'recycle_days');
  assertError(await admin.patch('/api/v1/pool/settings', { recycle_enabled: 'yes' }), 400, 'invalid_argument', 'recycle_enabled');
  assertError(await admin.patch('/api/v1/pool/settings', { interval: 1 }), 400, 'invalid_argument', 'interval');
  assertError(await c1.patch('/api/v1/pool/settings', { claim_limit: 100 }), 403, 'permission_denied');
  assert.equal((await admin.get('/api/v1/pool/settings')).body.claim_limit, 1);
  // recycling: demo leads idle for more than 30 days go back to the pool
  const poolBefore = (await admin.get('/api/v1/contacts/pool?limit=1')).body.total;
  const en = await admin.patch('/api/v1/pool/settings', { recycle_enabled: true, recycle_days: 30, claim_limit: 50 });
  assert.equal(en.status, 200, en.text);
  const rc = await admin.post('/api/v1/pool/recycle');
  assert.equal(rc.status, 200, rc.text);
  assert.ok(rc.body.recycled > 0, rc.text);
  const poolAfter = (await admin.get('/api/v1/contacts/pool?limit=1')).body.total;
  assert.equal(poolAfter, poolBefore + rc.body.recycled);
  assert.ok(await auditHas('contacts.recycle'));
  assert.equal((await admin.post('/api/v1/pool/recycle')).body.recycled, 0);
  await admin.patch('/api/v1/pool/settings', { recycle_enabled: false });
});

test('handover moves every contact of a departing person (audited)', async () => {
  const from = byRole('sales', 3);
  const to = byRole('sales', 4);
  const owned = (await admin.get(`/api/v1/contacts?owner_id=${from.id}&limit=1`)).body.total;
  const toBefore = (await admin.get(`/api/v1/contacts?owner_id=${to.id}&limit=1`)).body.total;
  assertError(await admin.post('/api/v1/contacts/handover', { from_staff_id: from.id, to_staff_id: 999999 }), 400, 'invalid_argument', 'to_staff_id');
  assertError(await admin.post('/api/v1/contacts/handover', { from_staff_id: from.id }), 400, 'invalid_argument', 'to_staff_id');
  assertError(await admin.post('/api/v1/contacts/handover', { from_staff_id: from.id, to_staff_id: from.id }), 400, 'invalid_argument', 'to_staff_id');
  assert.equal((await admin.get(`/api/v1/contacts?owner_id=${from.id}&limit=1`)).body.total, owned);
  const c1 = await loginAs(from);
  assertError(await c1.post('/api/v1/contacts/handover', { from_staff_id: from.id, to_staff_id: to.id }), 403, 'permission_denied');
  const h = await admin.post('/api/v1/contacts/handover', { from_staff_id: from.id, to_staff_id: to.id });
  assert.equal(h.status, 200, h.text);
  assert.ok(h.body.moved >= owned);
  assert.equal((await admin.get(`/api/v1/contacts?owner_id=${from.id}&limit=1`)).body.total, 0);
  assert.equal((await admin.get(`/api/v1/contacts?owner_id=${to.id}&limit=1`)).body.total, toBefore + owned);
  assert.ok(await auditHas('contacts.handover', (e) => e.target === `staff:${from.id}`));
});

test('export: UTF-8 BOM CSV, audited, phones full only with the right', async () => {
  const ex = await admin.get(`/api/v1/contacts/export.csv?owner_id=${byRole('sales').id}`);
  assert.equal(ex.status, 200, ex.text);
  assert.match(ex.headers.get('content-type'), /text\/csv/);
  assert.match(ex.headers.get('content-disposition'), /attachment/);
  const buf = Buffer.from(await (await fetch(`${srv.base}/api/v1/contacts/export.csv?limit=1`, { headers: { authorization: `Bearer ${srv.demo.admin.api_token}` } })).arrayBuffer());
  assert.deepEqual([...buf.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const lines = ex.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  assert.deepEqual(lines[0].split(',').slice(0, 4), ['ID', '姓名', '手机号', '邮箱']);
  const total2 = (await admin.get(`/api/v1/contacts?owner_id=${byRole('sales').id}&limit=1`)).body.total;
  assert.equal(lines.length - 1, total2);
  // admin sees full phones: mainland numbers as their 11 digits (no "+86",
  // which Excel would show as text behind the formula guard's quote)
  assert.ok(lines.slice(1).every((l) => /^\d+,[^,]*,1[3-9]\d{9},/.test(l)), lines[1]);
  assert.ok(await auditHas('contacts.export'));
  assertError(await admin.get('/api/v1/contacts/export.csv?status=bogus'), 400, 'invalid_argument', 'status');
});

test('metrics include contacts', async () => {
  const r = await admin.get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.text, /siyu_contacts_total \d+/);
  assert.match(r.text, /siyu_contacts_pool_total \d+/);
});
