// tags.test.mjs — the tag taxonomy and manual tags against a real server:
// every route, bad input (nothing changes), permissions and data scopes,
// member counts, bulk by ids and phones, /metrics, and tags surviving a
// restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Client } from './harness.mjs';

let srv;
let admin;

before(async () => {
  srv = await startServer({ contacts: 100 });
  admin = srv.admin();
});
after(async () => {
  await srv?.stop();
  srv?.cleanup();
});

function assertError(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.body?.error?.code, code, res.text);
  assert.ok(res.body.error.message.length > 0);
  if (field) assert.equal(res.body.error.details?.field, field, res.text);
}

let seq = 0;
const uniq = (p) => `${p}-${process.pid}-${++seq}`;
let phoneSeq = 0;
const newPhone = () => `198${String(10000000 + ++phoneSeq * 13 + (process.pid % 1000)).slice(-8)}`;

async function mkCat(body, client = admin) {
  const r = await client.post('/api/v1/tag-categories', body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}
async function mkTag(body, client = admin) {
  const r = await client.post('/api/v1/tags', body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}
async function tagCount(id) {
  const r = await admin.get(`/api/v1/tags/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body.member_count;
}
async function snapshot() {
  return {
    cats: (await admin.get('/api/v1/tag-categories?limit=500')).body,
    tags: (await admin.get('/api/v1/tags?limit=500')).body,
  };
}
async function someContacts(n) {
  const r = await admin.get(`/api/v1/contacts?limit=${n}`);
  assert.equal(r.status, 200, r.text);
  return r.body.items.map((c) => c.id);
}

test('taxonomy CRUD: categories, subcategories, tags, the tree', async () => {
  const cat = await mkCat({ name: uniq('客户意向'), scenario: '私信转化：按意向分层跟进', sort_order: 2 });
  assert.equal(cat.parent_id, null);
  assert.equal(cat.sort_order, 2);
  assert.ok(cat.created_at > 0 && cat.updated_at >= cat.created_at);
  const sub = await mkCat({ name: '购买意向', scenario: '门店到店转化', parent_id: cat.id });
  assert.equal(sub.parent_id, cat.id);
  const t1 = await mkTag({ category_id: sub.id, name: '高意向', description: '近 7 天咨询过价格' });
  assert.equal(t1.kind, 'manual');
  assert.equal(t1.member_count, 0);
  const t2 = await mkTag({ category_id: cat.id, name: uniq('老客') });

  // reads
  let r = await admin.get(`/api/v1/tag-categories/${cat.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.scenario, '私信转化：按意向分层跟进');
  r = await admin.get(`/api/v1/tag-categories?parent_id=${cat.id}`);
  assert.deepEqual(r.body.items.map((c) => c.id), [sub.id]);
  assert.equal(r.body.total, 1);
  assert.equal(r.body.next_cursor, null);
  r = await admin.get('/api/v1/tag-categories?parent_id=none&limit=500');
  assert.ok(r.body.items.some((c) => c.id === cat.id) && !r.body.items.some((c) => c.id === sub.id));
  r = await admin.get(`/api/v1/tags?category_id=${sub.id}`);
  assert.deepEqual(r.body.items.map((t) => t.id), [t1.id]);
  r = await admin.get(`/api/v1/tags?q=${encodeURIComponent('高意')}`);
  assert.ok(r.body.items.some((t) => t.id === t1.id));
  assert.ok(r.body.items.every((t) => t.name.includes('高意')));
  r = await admin.get(`/api/v1/tags/${t1.id}`);
  assert.equal(r.body.description, '近 7 天咨询过价格');

  // pagination
  r = await admin.get('/api/v1/tags?limit=1');
  assert.equal(r.body.items.length, 1);
  assert.ok(r.body.total >= 2);
  assert.ok(r.body.next_cursor);
  const r2 = await admin.get(`/api/v1/tags?limit=1&cursor=${r.body.next_cursor}`);
  assert.notEqual(r2.body.items[0].id, r.body.items[0].id);

  // tree
  r = await admin.get('/api/v1/tags/tree');
  assert.equal(r.status, 200, r.text);
  const node = r.body.items.find((c) => c.id === cat.id);
  assert.ok(node);
  assert.deepEqual(node.tags.map((t) => t.id), [t2.id]);
  assert.deepEqual(node.children.map((c) => c.id), [sub.id]);
  assert.deepEqual(node.children[0].tags.map((t) => [t.id, t.member_count]), [[t1.id, 0]]);

  // updates
  r = await admin.patch(`/api/v1/tag-categories/${sub.id}`, { name: '购买意向2', sort_order: 5 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '购买意向2');
  assert.equal(r.body.scenario, '门店到店转化');
  assert.equal(r.body.sort_order, 5);
  r = await admin.patch(`/api/v1/tags/${t1.id}`, { name: '很高意向', description: null });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '很高意向');
  assert.equal(r.body.description, null);
  r = await admin.patch(`/api/v1/tags/${t2.id}`, { category_id: sub.id });
  assert.equal(r.body.category_id, sub.id);

  // deletes: refused while in use, then allowed
  assertError(await admin.del(`/api/v1/tag-categories/${sub.id}`), 409, 'conflict');
  assertError(await admin.del(`/api/v1/tag-categories/${cat.id}`), 409, 'conflict');
  r = await admin.del(`/api/v1/tags/${t1.id}`);
  assert.equal(r.status, 200, r.text);
  assertError(await admin.get(`/api/v1/tags/${t1.id}`), 404, 'not_found');
  assert.equal((await admin.del(`/api/v1/tags/${t2.id}`)).status, 200);
  assert.equal((await admin.del(`/api/v1/tag-categories/${sub.id}`)).status, 200);
  assert.equal((await admin.del(`/api/v1/tag-categories/${cat.id}`)).status, 200);
  assertError(await admin.get(`/api/v1/tag-categories/${cat.id}`), 404, 'not_found');
});

test('bad taxonomy input gets a clear error and changes nothing', async () => {
  const cat = await mkCat({ name: uniq('渠道'), scenario: '渠道归因' });
  const sub = await mkCat({ name: '线下', scenario: '门店', parent_id: cat.id });
  const tag = await mkTag({ category_id: cat.id, name: '扫码进粉' });
  const before0 = await snapshot();
  const cases = [
    [await admin.post('/api/v1/tag-categories', { name: 'x', scenario: 'y', colour: 'red' }), 400, 'invalid_argument', 'colour'],
    [await admin.post('/api/v1/tag-categories', { name: 'x' }), 400, 'invalid_argument', 'scenario'],
    [await admin.post('/api/v1/tag-categories', { name: '  ', scenario: 'y' }), 400, 'invalid_argument', 'name'],
    [await admin.post('/api/v1/tag-categories', { name: 5, scenario: 'y' }), 400, 'invalid_argument', 'name'],
    [await admin.post('/api/v1/tag-categories', { name: 'x', scenario: 'y', sort_order: 'first' }), 400, 'invalid_argument', 'sort_order'],
    [await admin.post('/api/v1/tag-categories', { name: 'x'.repeat(65), scenario: 'y' }), 400, 'invalid_argument', 'name'],
    [await admin.post('/api/v1/tag-categories', { name: 'x', scenario: 'y', parent_id: 999999 }), 400, 'invalid_argument', 'parent_id'],
    [await admin.post('/api/v1/tag-categories', { name: 'x', scenario: 'y', parent_id: sub.id }), 400, 'invalid_argument', 'parent_id'],
    [await admin.post('/api/v1/tag-categories', { name: 'x', scenario: 'y', parent_id: 'a' }), 400, 'invalid_argument', 'parent_id'],
    [await admin.post('/api/v1/tag-categories', { name: cat.name, scenario: 'y' }), 409, 'conflict', 'name'],
    [await admin.post('/api/v1/tag-categories', { name: '线下', scenario: 'y', parent_id: cat.id }), 409, 'conflict', 'name'],
    [await admin.patch(`/api/v1/tag-categories/${cat.id}`, { parent_id: cat.id }), 400, 'invalid_argument', 'parent_id'],
    [await admin.patch(`/api/v1/tag-categories/${cat.id}`, { bogus: 1 }), 400, 'invalid_argument', 'bogus'],
    [await admin.patch('/api/v1/tag-categories/999999', { name: 'z' }), 404, 'not_found'],
    [await admin.get('/api/v1/tag-categories/abc'), 400, 'invalid_argument'],
    [await admin.post('/api/v1/tags', { category_id: cat.id, name: 'x', extra: true }), 400, 'invalid_argument', 'extra'],
    [await admin.post('/api/v1/tags', { name: 'x' }), 400, 'invalid_argument', 'category_id'],
    [await admin.post('/api/v1/tags', { category_id: '1', name: 'x' }), 400, 'invalid_argument', 'category_id'],
    [await admin.post('/api/v1/tags', { category_id: 999999, name: 'x' }), 400, 'invalid_argument', 'category_id'],
    [await admin.post('/api/v1/tags', { category_id: cat.id, name: 'x', kind: 'model' }), 400, 'invalid_argument', 'kind'],
    [await admin.post('/api/v1/tags', { category_id: cat.id, name: 'x', description: 3 }), 400, 'invalid_argument', 'description'],
    [await admin.post('/api/v1/tags', { category_id: cat.id, name: '扫码进粉' }), 409, 'conflict', 'name'],
    [await admin.patch(`/api/v1/tags/${tag.id}`, { kind: 'manual' }), 400, 'invalid_argument', 'kind'],
    [await admin.patch('/api/v1/tags/999999', { name: 'z' }), 404, 'not_found'],
    [await admin.get('/api/v1/tags/999999'), 404, 'not_found'],
    [await admin.del('/api/v1/tags/999999'), 404, 'not_found'],
    [await admin.del('/api/v1/tag-categories/999999'), 404, 'not_found'],
    [await admin.get('/api/v1/tags?limit=0'), 400, 'invalid_argument', 'limit'],
    [await admin.get('/api/v1/tags?category_id=x'), 400, 'invalid_argument', 'category_id'],
    [await admin.get('/api/v1/tag-categories?parent_id=x'), 400, 'invalid_argument', 'parent_id'],
    [await admin.req('POST', '/api/v1/tags', '{"name":', { 'content-type': 'application/json' }), 400, 'invalid_argument'],
  ];
  for (const [res, status, code, field] of cases) assertError(res, status, code, field);
  // a tag in another category may reuse the name
  const other = await mkTag({ category_id: sub.id, name: '扫码进粉' });
  assert.deepEqual((await snapshot()).cats, before0.cats);
  assert.equal((await snapshot()).tags.total, before0.tags.total + 1);
  assert.equal((await admin.del(`/api/v1/tags/${other.id}`)).status, 200);
  assert.deepEqual(await snapshot(), before0);
});

test('contact tags: add, list, remove; counts follow; merged ids resolve', async () => {
  const cat = await mkCat({ name: uniq('生命周期'), scenario: '复购唤醒' });
  const a = await mkTag({ category_id: cat.id, name: 'A' });
  const b = await mkTag({ category_id: cat.id, name: 'B' });
  const [c1, c2] = await someContacts(2);
  let r = await admin.post(`/api/v1/contacts/${c1}/tags`, { tag_ids: [a.id, b.id, a.id] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added, 2);
  assert.deepEqual(r.body.items.map((t) => t.tag_id), [a.id, b.id]);
  assert.equal(r.body.items[0].source, 'api');
  assert.ok(r.body.items[0].at > 0);
  r = await admin.get(`/api/v1/contacts/${c1}/tags`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);
  assert.equal(r.body.items[1].name, 'B');
  assert.equal(await tagCount(a.id), 1);

  // bad input changes nothing
  assertError(await admin.post(`/api/v1/contacts/${c2}/tags`, { tag_ids: [a.id, 999999] }), 404, 'not_found', 'tag_ids[1]');
  assertError(await admin.post(`/api/v1/contacts/${c2}/tags`, { tag_ids: [a.id], x: 1 }), 400, 'invalid_argument', 'x');
  assertError(await admin.post(`/api/v1/contacts/${c2}/tags`, { tag_ids: ['1'] }), 400, 'invalid_argument', 'tag_ids[0]');
  assertError(await admin.post(`/api/v1/contacts/${c2}/tags`, { tag_ids: [] }), 400, 'invalid_argument', 'tag_ids');
  assertError(await admin.post(`/api/v1/contacts/${c2}/tags`, { tag_ids: a.id }), 400, 'invalid_argument', 'tag_ids');
  assertError(await admin.post('/api/v1/contacts/99999999/tags', { tag_ids: [a.id] }), 404, 'not_found');
  assertError(await admin.get('/api/v1/contacts/99999999/tags'), 404, 'not_found');
  assertError(await admin.del(`/api/v1/contacts/${c1}/tags/999999`), 404, 'not_found');
  assert.equal((await admin.get(`/api/v1/contacts/${c2}/tags`)).body.items.filter((x) => x.source !== 'model').length, 0);
  assert.equal(await tagCount(a.id), 1);

  r = await admin.del(`/api/v1/contacts/${c1}/tags/${a.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.removed, true);
  r = await admin.del(`/api/v1/contacts/${c1}/tags/${a.id}`);
  assert.equal(r.body.removed, false);
  assert.equal(await tagCount(a.id), 0);
  assert.equal(await tagCount(b.id), 1);

  // merge c1 into c2: c1's own tag stops counting (not carried over)
  const winner = await admin.post('/api/v1/contacts', { name: uniq('合并目标'), phone: newPhone() });
  const loser = await admin.post('/api/v1/contacts', { name: uniq('合并来源'), phone: newPhone() });
  assert.equal(winner.status, 201, winner.text);
  await admin.post(`/api/v1/contacts/${loser.body.id}/tags`, { tag_ids: [a.id] });
  assert.equal(await tagCount(a.id), 1);
  const m = await admin.post('/api/v1/contacts/merge', { winner_id: winner.body.id, loser_id: loser.body.id });
  assert.equal(m.status, 200, m.text);
  assert.equal(await tagCount(a.id), 0);
  // a merged id answers for its winner
  r = await admin.get(`/api/v1/contacts/${loser.body.id}/tags`);
  assert.equal(r.body.contact_id, winner.body.id);
  // tagging through the merged id tags the winner
  r = await admin.post(`/api/v1/contacts/${loser.body.id}/tags`, { tag_ids: [a.id] });
  assert.equal(r.body.contact_id, winner.body.id);
  assert.equal(await tagCount(a.id), 1);
});

test('bulk membership by ids and phones; not_found for unknown; counts equal what was added', async () => {
  const cat = await mkCat({ name: uniq('活动'), scenario: '618 大促召回' });
  const t = await mkTag({ category_id: cat.id, name: '参加过 618' });
  const ids = await someContacts(60);
  let r = await admin.post(`/api/v1/tags/${t.id}/members`, { contact_ids: [...ids, ids[0], 99999999] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added, 60);
  assert.equal(r.body.skipped, 1);
  assert.deepEqual(r.body.not_found, [99999999]);
  assert.equal(await tagCount(t.id), 60);
  r = await admin.post(`/api/v1/tags/${t.id}/members`, { contact_ids: ids.slice(0, 10) });
  assert.deepEqual([r.body.added, r.body.skipped], [0, 10]);
  r = await admin.post(`/api/v1/tags/${t.id}/members/remove`, { contact_ids: ids.slice(0, 20) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.removed, r.body.skipped], [20, 0]);
  assert.equal(await tagCount(t.id), 40);
  for (const id of ids.slice(0, 3)) assert.equal((await admin.get(`/api/v1/contacts/${id}/tags`)).body.items.some((x) => x.tag_id === t.id), false);
  assert.equal((await admin.get(`/api/v1/contacts/${ids[30]}/tags`)).body.items.some((x) => x.tag_id === t.id), true);

  // phones, in any common spelling
  const p1 = newPhone(), p2 = newPhone();
  const k1 = await admin.post('/api/v1/contacts', { name: uniq('电话甲'), phone: p1 });
  const k2 = await admin.post('/api/v1/contacts', { name: uniq('电话乙'), phone: p2 });
  assert.equal(k1.status, 201, k1.text);
  const unknown = newPhone();
  r = await admin.post(`/api/v1/tags/${t.id}/members`, { phones: [`+86 ${p1.slice(0, 3)}-${p1.slice(3, 7)}-${p1.slice(7)}`, p2, unknown] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added, 2);
  assert.deepEqual(r.body.not_found, [unknown]);
  assert.equal(await tagCount(t.id), 42);
  r = await admin.post(`/api/v1/tags/${t.id}/members/remove`, { phones: [p2] });
  assert.equal(r.body.removed, 1);
  assert.equal(await tagCount(t.id), 41);
  assert.deepEqual((await admin.get(`/api/v1/contacts/${k1.body.id}/tags`)).body.items.map((x) => x.tag_id), [t.id]);

  // bad bulk input: 400/404 and nothing changes
  const cases = [
    [await admin.post(`/api/v1/tags/${t.id}/members`, { contact_ids: ids, phones: [p1] }), 400, 'invalid_argument'],
    [await admin.post(`/api/v1/tags/${t.id}/members`, {}), 400, 'invalid_argument', 'contact_ids'],
    [await admin.post(`/api/v1/tags/${t.id}/members`, { contact_ids: [1], who: 'x' }), 400, 'invalid_argument', 'who'],
    [await admin.post(`/api/v1/tags/${t.id}/members`, { contact_ids: [ids[25], 'x'] }), 400, 'invalid_argument', 'contact_ids[1]'],
    [await admin.post(`/api/v1/tags/${t.id}/members`, { phones: [p1, '12345'] }), 400, 'invalid_argument', 'phones[1]'],
    [await admin.post(`/api/v1/tags/${t.id}/members`, { phones: [7] }), 400, 'invalid_argument', 'phones[0]'],
    [await admin.post(`/api/v1/tags/${t.id}/members/remove`, { contact_ids: [] }), 400, 'invalid_argument', 'contact_ids'],
    [await admin.post(`/api/v1/tags/999999/members`, { contact_ids: [ids[25]] }), 404, 'not_found'],
    [await admin.post(`/api/v1/tags/999999/members/remove`, { contact_ids: [ids[25]] }), 404, 'not_found'],
  ];
  for (const [res, status, code, field] of cases) assertError(res, status, code, field);
  assert.equal(await tagCount(t.id), 41);

  // the tree and listings agree with the counts
  const tree = (await admin.get('/api/v1/tags/tree')).body.items.find((c) => c.id === cat.id);
  assert.equal(tree.tags[0].member_count, 41);
  const list = (await admin.get(`/api/v1/tags?category_id=${cat.id}`)).body.items;
  assert.equal(list[0].member_count, 41);

  // audited
  const audit = await admin.get('/api/v1/audit?limit=200');
  assert.equal(audit.status, 200, audit.text);
  assert.ok(audit.body.items.some((x) => x.action === 'tags.members.add' && x.target === `tag:${t.id}`), audit.text.slice(0, 500));
  assert.ok(audit.body.items.some((x) => x.action === 'tags.members.remove' && x.target === `tag:${t.id}`));

  // metrics
  const m = await srv.anon.get('/metrics');
  assert.match(m.text, /^siyu_tags_total \d+$/m);
  assert.match(m.text, /^siyu_contact_tags_total \d+$/m);
});

test('a sales user tags only contacts in scope and cannot edit the taxonomy', async () => {
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  assert.ok(sales);
  const s = await srv.login(sales.username, sales.password);
  const mine = (await s.get('/api/v1/contacts?limit=500')).body.items.map((c) => c.id);
  assert.ok(mine.length > 0, 'the sales user has demo contacts');
  const all = (await admin.get('/api/v1/contacts?limit=500')).body.items.map((c) => c.id);
  const theirs = all.filter((id) => !mine.includes(id)).slice(0, 3);
  assert.ok(theirs.length > 0);

  const cat = await mkCat({ name: uniq('销售'), scenario: '一对一跟进' });
  const t = await mkTag({ category_id: cat.id, name: '已加微信' });
  // reading the taxonomy is allowed
  assert.equal((await s.get('/api/v1/tags/tree')).status, 200);
  assert.equal((await s.get(`/api/v1/tags/${t.id}`)).status, 200);
  assert.equal((await s.get('/api/v1/tag-categories')).status, 200);
  // editing it is not
  const before0 = await snapshot();
  assertError(await s.post('/api/v1/tag-categories', { name: 'x', scenario: 'y' }), 403, 'permission_denied');
  assertError(await s.patch(`/api/v1/tag-categories/${cat.id}`, { name: 'x' }), 403, 'permission_denied');
  assertError(await s.del(`/api/v1/tag-categories/${cat.id}`), 403, 'permission_denied');
  assertError(await s.post('/api/v1/tags', { category_id: cat.id, name: 'x' }), 403, 'permission_denied');
  assertError(await s.patch(`/api/v1/tags/${t.id}`, { name: 'x' }), 403, 'permission_denied');
  assertError(await s.del(`/api/v1/tags/${t.id}`), 403, 'permission_denied');
  assert.deepEqual(await snapshot(), before0);

  // bulk: others' contacts are not_found, their own are tagged
  let r = await s.post(`/api/v1/tags/${t.id}/members`, { contact_ids: [mine[0], ...theirs] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added, 1);
  assert.deepEqual(r.body.not_found, theirs);
  assert.equal(await tagCount(t.id), 1);
  r = await admin.get(`/api/v1/contacts/${mine[0]}/tags`);
  assert.equal(r.body.items.find((x) => x.tag_id === t.id).source, 'staff');
  assert.equal(r.body.items.find((x) => x.tag_id === t.id).by_staff, sales.id);
  // single-contact routes answer 404 outside the scope
  assertError(await s.post(`/api/v1/contacts/${theirs[0]}/tags`, { tag_ids: [t.id] }), 404, 'not_found');
  assertError(await s.get(`/api/v1/contacts/${theirs[0]}/tags`), 404, 'not_found');
  assertError(await s.del(`/api/v1/contacts/${theirs[0]}/tags/${t.id}`), 404, 'not_found');
  r = await s.post(`/api/v1/tags/${t.id}/members/remove`, { contact_ids: theirs });
  assert.deepEqual([r.body.removed, r.body.not_found], [0, theirs]);
  assert.equal(await tagCount(t.id), 1);
  // unauthenticated
  assertError(await srv.anon.get('/api/v1/tags'), 401, 'unauthenticated');
});

test('tags and memberships survive a restart', async () => {
  const cat = await mkCat({ name: uniq('持久'), scenario: '重启校验' });
  const t = await mkTag({ category_id: cat.id, name: '重启前' });
  const ids = await someContacts(25);
  assert.equal((await admin.post(`/api/v1/tags/${t.id}/members`, { contact_ids: ids })).body.added, 25);
  const before0 = { tree: (await admin.get('/api/v1/tags/tree')).body, c: (await admin.get(`/api/v1/contacts/${ids[3]}/tags`)).body };
  await srv.stop();
  const dir = srv.dir;
  const demo = srv.demo;
  srv = await startServer({ dataDir: dir });
  srv.demo = demo;
  admin = new Client(srv.base, { token: demo.admin.api_token });
  assert.equal(await tagCount(t.id), 25);
  assert.deepEqual((await admin.get('/api/v1/tags/tree')).body, before0.tree);
  assert.deepEqual((await admin.get(`/api/v1/contacts/${ids[3]}/tags`)).body, before0.c);
});
