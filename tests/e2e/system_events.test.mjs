// Events siyu produces itself (source "system"): tagging a contact records
// tag_added / tag_removed in the event log for journeys, and they never
// count as the contact's activity (profile first/last seen unchanged).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';

let srv;
let admin;
before(async () => { srv = await startServer({ contacts: 20 }); admin = srv.admin(); });
after(async () => { await srv.stop(); srv.cleanup(); });

async function until(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('tag changes are recorded as system events that are not activity', async () => {
  const cat = await admin.post('/api/v1/tag-categories', { name: '系统事件', scenario: '旅程触发' });
  assert.equal(cat.status, 201, cat.text);
  const tag = await admin.post('/api/v1/tags', { category_id: cat.body.id, name: '高价值' });
  assert.equal(tag.status, 201, tag.text);
  const id = (await admin.get('/api/v1/contacts?limit=1')).body.items[0].id;
  const before = (await admin.get(`/api/v1/contacts/${id}/profile`)).body;

  let r = await admin.post(`/api/v1/contacts/${id}/tags`, { tag_ids: [tag.body.id] });
  assert.equal(r.status, 200, r.text);
  // adding it again changes nothing and records nothing
  await admin.post(`/api/v1/contacts/${id}/tags`, { tag_ids: [tag.body.id] });
  r = await admin.del(`/api/v1/contacts/${id}/tags/${tag.body.id}`);
  assert.equal(r.status, 200, r.text);

  // (the contact may also carry model tags, recorded the same way)
  const ofTag = async (name) => (await admin.get(`/api/v1/contacts/${id}/events?event=${name}&limit=500`)).body.items
    .filter((e) => e.properties?.tag_id === tag.body.id);
  const added = await until(async () => { const l = await ofTag('tag_added'); return l.length ? l : null; });
  assert.ok(added, 'tag_added recorded');
  assert.equal(added.length, 1);
  assert.equal(added[0].source, 'system');
  const removed = await until(async () => { const l = await ofTag('tag_removed'); return l.length ? l : null; });
  assert.ok(removed, 'tag_removed recorded');
  assert.equal(removed.length, 1);

  const afterP = (await admin.get(`/api/v1/contacts/${id}/profile`)).body;
  assert.equal(afterP.first_seen, before.first_seen);
  assert.equal(afterP.last_seen, before.last_seen);
  assert.ok(afterP.events >= before.events + 2, 'system events are stored (model tags may add more)');
  const cat2 = await admin.get('/api/v1/events/catalog/tag_added');
  assert.equal(cat2.status, 200);
  assert.ok(cat2.body.count >= 1);
});
