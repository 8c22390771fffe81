// Durability of event ingestion: under concurrent load the server is killed
// with SIGKILL (twice, with a restart and more load in between), restarted
// on the same data dir, and every messageId that was acknowledged with a 200
// must be stored exactly once — in `siyu export events` and in the rebuilt
// index. Unacknowledged messages may or may not be stored, but never twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, runSiyu, Client } from './harness.mjs';

const LOOPS = 8;
const BATCH = 100;
const LOAD_MS = 2000;
const USERS = 40;

// Sends batches from LOOPS concurrent loops until the server dies or `ms`
// passes, then kills it with SIGKILL while requests are in flight. Returns
// the acknowledged messageIds.
async function loadAndKill(srv, round, writeKey, ms) {
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  const acked = [];
  let sent = 0;
  let stop = false;
  const loop = async (l) => {
    for (let b = 0; !stop; b++) {
      const batch = [];
      for (let i = 0; i < BATCH; i++) {
        const n = (l * 7919 + b * BATCH + i) % USERS;
        batch.push({
          type: 'track',
          ...(i % 10 === 9 ? { anonymousId: `crash-anon-${round}-${l}-${b}` } : { userId: `crash-u${n}` }),
          event: i % 5 === 0 ? 'order_paid' : 'crash_view',
          properties: { loop: l, batch: b, i, amount: '1.00', order_id: `co-${round}-${l}-${b}-${i}` },
          messageId: `crash-${round}-${l}-${b}-${i}`,
        });
      }
      const body = JSON.stringify({ batch, sentAt: new Date().toISOString() });
      const gz = l % 2 === 1;
      sent += BATCH;
      try {
        const res = await fetch(`${srv.base}/v1/batch`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json', ...(gz ? { 'content-encoding': 'gzip' } : {}) },
          body: gz ? gzipSync(body) : body,
        });
        const text = await res.text();
        if (res.status === 200) {
          assert.equal(text, '{"success":true}');
          for (const m of batch) acked.push(m.messageId);
        } else if (!stop) {
          throw new Error(`batch answered ${res.status}: ${text}`);
        }
      } catch (e) {
        if (e instanceof assert.AssertionError || /answered/.test(e.message)) throw e;
        return; // the server is gone
      }
    }
  };
  const loops = Array.from({ length: LOOPS }, (_, l) => loop(l));
  await new Promise((r) => setTimeout(r, ms));
  await srv.stop('SIGKILL');
  stop = true;
  await Promise.all(loops);
  return { acked, sent };
}

async function metric(srv, name) {
  const r = await srv.anon.get('/metrics');
  return Number(r.text.match(new RegExp(`^${name} (\\d+)`, 'm'))[1]);
}

test('kill -9 under load: every acknowledged messageId is stored exactly once after restart', { timeout: 60_000 }, async () => {
  const t0 = Date.now();
  let srv = await startServer({ contacts: 20 });
  const { write_key: writeKey, admin } = srv.demo;
  const dir = srv.dir;
  const acked = new Set();
  let sent = 0;
  try {
    for (let round = 0; round < 2; round++) {
      const r = await loadAndKill(srv, round, writeKey, LOAD_MS);
      assert.equal(srv.proc.signalCode, 'SIGKILL');
      for (const id of r.acked) acked.add(id);
      sent += r.sent;
      assert.ok(r.acked.length > 0, `round ${round}: some batches were acknowledged`);
      srv = await startServer({ dataDir: dir });
    }
    assert.ok(acked.size >= 1000, `only ${acked.size} acknowledged`);

    const file = path.join(dir, 'crash-events.jsonl');
    const ex = runSiyu(['export', 'events', '--data', dir, '--to', file]);
    assert.equal(ex.status, 0, ex.stderr);
    const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const count = new Map();
    for (const row of rows) if (row.messageId?.startsWith('crash-')) count.set(row.messageId, (count.get(row.messageId) || 0) + 1);
    const missing = [...acked].filter((id) => !count.has(id));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged messages lost`);
    const twice = [...count].filter(([, n]) => n > 1);
    assert.deepEqual(twice.slice(0, 10), [], `${twice.length} messages stored more than once`);
    // the rebuilt index agrees with the log
    assert.equal(await metric(srv, 'siyu_events_total'), rows.length);
    console.log(`# crash: ${sent} sent, ${acked.size} acknowledged, ${count.size} stored, ${rows.length} events in all, ${Date.now() - t0} ms`);

    // After the restart the messageId set is rebuilt: re-sending acknowledged
    // messages stores nothing new.
    const client = new Client(srv.base, { token: admin.api_token });
    const some = [...acked].slice(0, 50).map((id, i) => ({ type: 'track', userId: 'crash-u1', event: 'crash_view', messageId: id, properties: { again: i } }));
    const dup0 = await metric(srv, 'siyu_events_duplicates_total');
    const res = await fetch(`${srv.base}/v1/batch`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: some }),
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal(await metric(srv, 'siyu_events_total'), rows.length);
    assert.equal(await metric(srv, 'siyu_events_duplicates_total'), dup0 + 50);

    // one contact's profile (rebuilt from the log) matches the export
    const lk = await client.get('/api/v1/contacts/lookup?type=user_id&value=crash-u1');
    assert.equal(lk.status, 200, lk.text);
    const mine = rows.filter((r) => r.contact_id === lk.body.id);
    const prof = await client.get(`/api/v1/contacts/${lk.body.id}/profile`);
    assert.equal(prof.status, 200, prof.text);
    const byName = (n) => mine.filter((r) => r.event === n).length;
    assert.equal(prof.body.event_counts.crash_view || 0, byName('crash_view'));
    assert.equal(prof.body.event_counts.order_paid || 0, byName('order_paid'));
    assert.equal(prof.body.orders, byName('order_paid'), 'each order_paid has its own order_id');
    assert.equal(prof.body.spend_fen, 100 * byName('order_paid'));
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});
