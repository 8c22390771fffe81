// Real-time segment membership: a saved segment's members follow the events
// within a second; entering and leaving are recorded as system events
// segment_entered / segment_exited for journeys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';

let srv;
let admin;
before(async () => { srv = await startServer({ contacts: 10, args: [] }); admin = srv.admin(); });
after(async () => { await srv.stop(); srv.cleanup(); });

async function until(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function track(userId, event, messageId) {
  const res = await fetch(`${srv.base}/v1/track`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${srv.demo.write_key}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId, event, messageId }),
  });
  assert.equal(res.status, 200, await res.text());
}

const eventsOf = async (id, name) => (await admin.get(`/api/v1/contacts/${id}/events?event=${name}`)).body.items;

test('entering and leaving a segment are recorded within a second of the change', async () => {
  await track('rt-u1', 'rt_probe', 'rt-0'); // the event name must be in the catalog to define the segment
  const seg = await admin.post('/api/v1/segments', {
    name: '实时探针', definition: { event: 'rt_probe', did: true, count: { gte: 2 } },
  });
  assert.equal(seg.status, 201, seg.text);
  const id = (await admin.get('/api/v1/contacts/lookup?type=user_id&value=rt-u1')).body.id;
  await new Promise((r) => setTimeout(r, 400)); // the segment's first members (none) are taken
  assert.equal((await eventsOf(id, 'segment_entered')).length, 0, 'creating a segment records nothing');

  const t0 = Date.now();
  await track('rt-u1', 'rt_probe', 'rt-1'); // second time: now a member
  const entered = await until(async () => (await eventsOf(id, 'segment_entered'))[0]);
  const latency = Date.now() - t0;
  assert.ok(entered, 'segment_entered recorded');
  assert.equal(entered.source, 'system');
  assert.equal(entered.properties.segment_id, seg.body.id);
  assert.ok(latency < 1500, `event to membership took ${latency} ms`);

  // a new version that no longer matches: the contact leaves
  const upd = await admin.patch(`/api/v1/segments/${seg.body.id}`, { definition: { event: 'rt_probe', did: true, count: { gte: 5 } } });
  assert.equal(upd.status, 200, upd.text);
  const exited = await until(async () => (await eventsOf(id, 'segment_exited'))[0]);
  assert.ok(exited, 'segment_exited recorded');
  assert.equal(exited.properties.version, 2);
  // nothing changes after that: no repeated entries
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await eventsOf(id, 'segment_entered')).length, 1);
  assert.equal((await eventsOf(id, 'segment_exited')).length, 1);
  // system events are not activity
  const p = (await admin.get(`/api/v1/contacts/${id}/profile`)).body;
  assert.equal(p.event_counts.rt_probe, 2);
});
