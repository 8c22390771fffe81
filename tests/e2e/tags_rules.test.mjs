// tags_rules.test.mjs — rule tags (members follow a segments-language
// definition in real time, tag_added recorded), form tags (a submission
// applies the chosen options' tags), tagging a whole segment, bad input
// (400 naming the field, nothing saved) and permissions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';

let srv;
let admin;
before(async () => { srv = await startServer({ contacts: 40 }); admin = srv.admin(); });
after(async () => {
  await srv?.stop();
  const log = srv?.log || '';
  srv?.cleanup();
  // under SIYU_SANITIZE builds the server reports leaks and UB on its log
  assert.ok(!/Sanitizer|runtime error/.test(log), log.split('\n').filter((l) => /Sanitizer|runtime error|#\d/.test(l)).slice(0, 30).join('\n'));
});

function assertError(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.body?.error?.code, code, res.text);
  if (field) assert.equal(res.body.error.details?.field, field, res.text);
}

async function until(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

let seq = 0;
const uniq = (p) => `${p}-${process.pid}-${++seq}`;

async function track(userId, event, messageId, properties = {}) {
  const res = await fetch(`${srv.base}/v1/track`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${srv.demo.write_key}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId, event, messageId, properties }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function mkCat() {
  const r = await admin.post('/api/v1/tag-categories', { name: uniq('规则'), scenario: '自动分层' });
  assert.equal(r.status, 201, r.text);
  return r.body;
}
const tagCount = async (id) => (await admin.get(`/api/v1/tags/${id}`)).body.member_count;
const tagsOf = async (cid) => (await admin.get(`/api/v1/contacts/${cid}/tags`)).body.items.map((x) => x.tag_id);
const eventsOf = async (id, name) => (await admin.get(`/api/v1/contacts/${id}/events?event=${name}`)).body.items;
const tagList = async () => (await admin.get('/api/v1/tags?limit=500')).body;

test('a rule tag gains a contact within 1.5 s of its order event; tag_added recorded; hand edits 409', async () => {
  const cat = await mkCat();
  const def = { event: 'order_paid', did: true, count: { gte: 1 }, last_days: 30 };
  const r = await admin.post('/api/v1/tags', { category_id: cat.id, name: '近30天下单', kind: 'rule', definition: def });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.kind, 'rule');
  assert.deepEqual(r.body.definition, def);
  const tag = r.body;
  await track('rule-u1', 'page_view', 'rule-0'); // the contact exists, no order yet
  const cid = (await admin.get('/api/v1/contacts/lookup?type=user_id&value=rule-u1')).body.id;
  await new Promise((res) => setTimeout(res, 400));
  assert.ok(!(await tagsOf(cid)).includes(tag.id));
  const demoMembers = await tagCount(tag.id); // demo buyers of the last 30 days
  assert.ok(demoMembers > 0, 'demo orders made members');

  const t0 = Date.now();
  await track('rule-u1', 'order_paid', 'rule-1', { revenue: 12.5 });
  const ok = await until(async () => (await tagsOf(cid)).includes(tag.id), 3000);
  const latency = Date.now() - t0;
  assert.ok(ok, 'the rule tag was applied');
  assert.ok(latency < 1500, `event to rule-tag membership took ${latency} ms`);
  assert.equal(await tagCount(tag.id), demoMembers + 1);
  const ct = (await admin.get(`/api/v1/contacts/${cid}/tags`)).body.items.find((x) => x.tag_id === tag.id);
  assert.equal(ct.source, 'rule');
  const added = await until(async () => (await eventsOf(cid, 'tag_added')).find((e) => e.properties.tag_id === tag.id));
  assert.ok(added, 'tag_added recorded');
  assert.equal(added.source, 'system');

  // hand edits of a rule tag are refused, nothing changes
  const n = await tagCount(tag.id);
  const others = (await admin.get('/api/v1/contacts?limit=5')).body.items.map((c) => c.id);
  assertError(await admin.post(`/api/v1/contacts/${others[0]}/tags`, { tag_ids: [tag.id] }), 409, 'conflict', 'tag_ids[0]');
  assertError(await admin.del(`/api/v1/contacts/${cid}/tags/${tag.id}`), 409, 'conflict');
  assertError(await admin.post(`/api/v1/tags/${tag.id}/members`, { contact_ids: others }), 409, 'conflict');
  assertError(await admin.post(`/api/v1/tags/${tag.id}/members/remove`, { contact_ids: [cid] }), 409, 'conflict');
  assert.equal(await tagCount(tag.id), n);

  // a new definition that no longer matches: members leave, tag_removed recorded
  const upd = await admin.patch(`/api/v1/tags/${tag.id}`, { definition: { event: 'order_paid', did: true, count: { gte: 1000 } } });
  assert.equal(upd.status, 200, upd.text);
  assert.ok(await until(async () => (await tagCount(tag.id)) === 0), 'members left');
  assert.ok(await until(async () => (await eventsOf(cid, 'tag_removed')).find((e) => e.properties.tag_id === tag.id)));
});

test('bad rule definitions: 400 naming the path, nothing saved', async () => {
  const cat = await mkCat();
  const before0 = await tagList();
  const cases = [
    [{ category_id: cat.id, name: 'x', kind: 'rule' }, 'definition'],
    [{ category_id: cat.id, name: 'x', kind: 'rule', definition: { and: [{ event: 'no_such_event_xyz', did: true }] } }, 'definition.and[0].event'],
    [{ category_id: cat.id, name: 'x', kind: 'rule', definition: 5 }, 'definition'],
    [{ category_id: cat.id, name: 'x', kind: 'manual', definition: { tag: 1 } }, 'definition'],
  ];
  for (const [body, field] of cases) {
    const r = await admin.post('/api/v1/tags', body);
    assertError(r, 400, 'invalid_argument');
    assert.ok(r.body.error.details.field.startsWith(field), `${r.body.error.details.field} vs ${field}`);
  }
  assert.deepEqual(await tagList(), before0);
  // a rule tag cannot refer to itself; a manual tag has no definition
  const rt = (await admin.post('/api/v1/tags', { category_id: cat.id, name: '活跃', kind: 'rule', definition: { event: 'order_paid', did: true } })).body;
  const mt = (await admin.post('/api/v1/tags', { category_id: cat.id, name: '手工', kind: 'manual' })).body;
  assertError(await admin.patch(`/api/v1/tags/${rt.id}`, { definition: { and: [{ tag: rt.id }, { event: 'order_paid', did: true }] } }), 400, 'invalid_argument', 'definition');
  assertError(await admin.patch(`/api/v1/tags/${mt.id}`, { definition: { event: 'order_paid', did: true } }), 400, 'invalid_argument', 'definition');
  assert.deepEqual((await admin.get(`/api/v1/tags/${rt.id}`)).body.definition, { event: 'order_paid', did: true });
  assert.equal((await admin.get(`/api/v1/tags/${mt.id}`)).body.definition, null);
});

async function mkForm(tagA, tagB, tagC) {
  const r = await admin.post('/api/v1/forms', {
    name: uniq('问卷'),
    questions: [
      { id: 'skin', title: '肤质', options: [{ id: 'dry', label: '干性', tag_ids: [tagA] }, { id: 'oily', label: '油性', tag_ids: [tagB] }] },
      { id: 'care', title: '关注', multiple: true, options: [{ id: 'spf', label: '防晒', tag_ids: [tagC] }, { id: 'none', label: '无', tag_ids: [] }] },
    ],
  });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test('a form submission applies the chosen options\' tags; bad answers 400, nothing saved', async () => {
  const cat = await mkCat();
  const mk = async (name, kind) => (await admin.post('/api/v1/tags', { category_id: cat.id, name, kind })).body;
  const a = await mk('干皮', 'form'), b = await mk('油皮', 'form'), c = await mk('关注防晒', 'manual');
  const form = await mkForm(a.id, b.id, c.id);
  assert.equal((await admin.get(`/api/v1/forms/${form.id}`)).body.questions.length, 2);
  assert.ok((await admin.get('/api/v1/forms')).body.items.some((f) => f.id === form.id));
  const cid = (await admin.get('/api/v1/contacts?limit=1')).body.items[0].id;

  const r = await admin.post(`/api/v1/forms/${form.id}/submissions`, { contact_id: cid, answers: { skin: 'dry', care: ['spf', 'none'] } });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.tag_ids, [a.id, c.id].sort((x, y) => x - y));
  const mine = await tagsOf(cid);
  assert.ok(mine.includes(a.id) && mine.includes(c.id) && !mine.includes(b.id));
  assert.equal((await admin.get(`/api/v1/contacts/${cid}/tags`)).body.items.find((x) => x.tag_id === a.id).source, 'form');

  // bad answers: the field names the question, nothing changes
  const other = (await admin.get('/api/v1/contacts?limit=2')).body.items[1].id;
  const before0 = await tagsOf(other);
  const bad = [
    [{ contact_id: other, answers: { nope: 'dry' } }, 'answers.nope'],
    [{ contact_id: other, answers: { skin: 'wet' } }, 'answers.skin'],
    [{ contact_id: other, answers: { skin: ['dry', 'oily'] } }, 'answers.skin'],
    [{ contact_id: other, answers: {} }, 'answers'],
    [{ contact_id: other, answers: { skin: 'dry' }, extra: 1 }, 'extra'],
  ];
  for (const [body, field] of bad) assertError(await admin.post(`/api/v1/forms/${form.id}/submissions`, body), 400, 'invalid_argument', field);
  assert.deepEqual(await tagsOf(other), before0);
  assertError(await admin.post('/api/v1/forms/999999/submissions', { contact_id: other, answers: { skin: 'dry' } }), 404, 'not_found');

  // bad forms: unknown tags, rule tags, duplicate ids — nothing saved
  const forms0 = (await admin.get('/api/v1/forms')).body;
  const rule = (await admin.post('/api/v1/tags', { category_id: cat.id, name: '规则X', kind: 'rule', definition: { event: 'order_paid', did: true } })).body;
  const q = (tagIds, id2 = 'b') => ({ name: uniq('坏问卷'), questions: [{ id: 'q', title: 't', options: [{ id: 'a', label: 'A', tag_ids: tagIds }, { id: id2, label: 'B', tag_ids: [] }] }] });
  assertError(await admin.post('/api/v1/forms', q([999999])), 400, 'invalid_argument', 'questions[0].options[0].tag_ids[0]');
  assertError(await admin.post('/api/v1/forms', q([rule.id])), 400, 'invalid_argument', 'questions[0].options[0].tag_ids[0]');
  assertError(await admin.post('/api/v1/forms', q([a.id], 'a')), 400, 'invalid_argument', 'questions[0].options[1].id');
  assertError(await admin.post('/api/v1/forms', { name: 'x', questions: [] }), 400, 'invalid_argument', 'questions');
  assertError(await admin.patch(`/api/v1/forms/${form.id}`, { questions: [{ id: 'q', title: 't', options: [{ id: 'a', label: 'A', tag_ids: [999999] }] }] }), 400, 'invalid_argument', 'questions[0].options[0].tag_ids[0]');
  assert.deepEqual((await admin.get('/api/v1/forms')).body, forms0);
  // a good PATCH
  const p = await admin.patch(`/api/v1/forms/${form.id}`, { description: '皮肤问卷' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.description, '皮肤问卷');
});

test('tag a whole segment: every current member is added', async () => {
  const cat = await mkCat();
  const t = (await admin.post('/api/v1/tags', { category_id: cat.id, name: '买家', kind: 'manual' })).body;
  const seg = await admin.post('/api/v1/segments', { name: uniq('买家'), definition: { event: 'order_paid', did: true } });
  assert.equal(seg.status, 201, seg.text);
  const count = (await admin.post('/api/v1/segments/preview', { definition: { event: 'order_paid', did: true } })).body.count;
  assert.ok(count > 0);
  const r = await admin.post(`/api/v1/tags/${t.id}/members`, { segment_id: seg.body.id });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added, count);
  assert.equal(await tagCount(t.id), count);
  assertError(await admin.post(`/api/v1/tags/${t.id}/members`, { segment_id: 999999 }), 404, 'not_found', 'segment_id');
  assertError(await admin.post(`/api/v1/tags/${t.id}/members`, { segment_id: seg.body.id, contact_ids: [1] }), 400, 'invalid_argument');
  assert.equal(await tagCount(t.id), count);
});

test('sales cannot edit forms or rule tags (403); they can submit forms', async () => {
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  const s = await srv.login(sales.username, sales.password);
  const cat = await mkCat();
  const ft = (await admin.post('/api/v1/tags', { category_id: cat.id, name: '表单', kind: 'form' })).body;
  const form = await mkForm(ft.id, ft.id, ft.id);
  const forms0 = (await admin.get('/api/v1/forms')).body;
  assertError(await s.post('/api/v1/forms', { name: 'x', questions: [] }), 403, 'permission_denied');
  assertError(await s.patch(`/api/v1/forms/${form.id}`, { name: 'x' }), 403, 'permission_denied');
  assertError(await s.post('/api/v1/tags', { category_id: cat.id, name: 'r', kind: 'rule', definition: { event: 'order_paid', did: true } }), 403, 'permission_denied');
  assert.deepEqual((await admin.get('/api/v1/forms')).body, forms0);
  assert.equal((await s.get(`/api/v1/forms/${form.id}`)).status, 200);
  const mine = (await s.get('/api/v1/contacts?limit=1')).body.items[0].id;
  const r = await s.post(`/api/v1/forms/${form.id}/submissions`, { contact_id: mine, answers: { skin: 'oily' } });
  assert.equal(r.status, 201, r.text);
  assert.ok((await tagsOf(mine)).includes(ft.id));
});

test('an ingested form_submitted event applies the chosen options\' tags within 1.5 s', async () => {
  const cat = await mkCat();
  const mk = async (name, kind) => (await admin.post('/api/v1/tags', { category_id: cat.id, name, kind })).body;
  const a = await mk(uniq('干皮'), 'form'), b = await mk(uniq('油皮'), 'form'), c = await mk(uniq('关注防晒'), 'manual');
  const form = await mkForm(a.id, b.id, c.id);
  const user = uniq('form-u');
  await track(user, 'form_viewed', uniq('fv')); // creates the contact
  const cid = (await admin.get(`/api/v1/contacts/lookup?type=user_id&value=${user}`)).body.id;
  const t0 = Date.now();
  await track(user, 'form_submitted', uniq('fs'), { form_id: form.id, answers: { skin: 'oily', care: ['spf'] } });
  const got = await until(async () => {
    const mine = await tagsOf(cid);
    return mine.includes(b.id) && mine.includes(c.id) ? mine : null;
  });
  assert.ok(got, 'the form\'s tags were applied');
  assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
  assert.ok(!got.includes(a.id));
  assert.equal((await admin.get(`/api/v1/contacts/${cid}/tags`)).body.items.find((x) => x.tag_id === b.id).source, 'form');
  // a submission naming an unknown option applies nothing (and is logged, not stored)
  const user2 = uniq('form-u');
  await track(user2, 'form_submitted', uniq('fs'), { form_id: form.id, answers: { skin: 'wet' } });
  const cid2 = (await admin.get(`/api/v1/contacts/lookup?type=user_id&value=${user2}`)).body.id;
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual(await tagsOf(cid2), []);
});
