// Graceful stop under load: SIGTERM while batches are in flight. The server
// must stop taking requests, answer the ones its group committer holds, exit
// 0, and every acknowledged messageId must be stored exactly once; requests
// that arrive during the stop get 503 (clients retry) or a refused connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer, runSiyu } from './harness.mjs';

test('SIGTERM under ingestion load: exit 0, acknowledged events stored once, late requests 503', async () => {
  const srv = await startServer({ contacts: 5, args: [] });
  const auth = `Basic ${Buffer.from(`${srv.demo.write_key}:`).toString('base64')}`;
  const acked = [];
  const statuses = new Set();
  let stop = false;
  const loop = async (l) => {
    for (let b = 0; !stop; b++) {
      const batch = Array.from({ length: 50 }, (_, i) => ({
        type: 'track', userId: `sd-u${(l + i) % 20}`, event: 'sd_view', messageId: `sd-${l}-${b}-${i}`,
      }));
      try {
        const res = await fetch(`${srv.base}/v1/batch`, {
          method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        const text = await res.text();
        statuses.add(res.status);
        if (res.status === 200) for (const m of batch) acked.push(m.messageId);
        else assert.equal(res.status, 503, text);
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        return; // connection refused or reset: the server is gone
      }
    }
  };
  const loops = Array.from({ length: 6 }, (_, l) => loop(l));
  await new Promise((r) => setTimeout(r, 1200));
  const exited = new Promise((r) => srv.proc.on('exit', (code, signal) => r({ code, signal })));
  srv.proc.kill('SIGTERM');
  const { code } = await exited;
  stop = true;
  await Promise.all(loops);
  assert.equal(code, 0, srv.log.slice(-2000));
  assert.ok(acked.length > 0, 'some batches were acknowledged before the stop');
  assert.ok(!/AddressSanitizer|runtime error/.test(srv.log));

  const out = path.join(srv.dir, 'events.jsonl');
  const r = runSiyu(['export', 'events', '--data', srv.dir, '--to', out]);
  assert.equal(r.status, 0, r.stderr);
  const counts = new Map();
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    if (!line) continue;
    const id = JSON.parse(line).messageId;
    if (id?.startsWith('sd-')) counts.set(id, (counts.get(id) || 0) + 1);
  }
  for (const id of acked) assert.equal(counts.get(id), 1, `acknowledged ${id} stored ${counts.get(id) || 0} times`);
  for (const [id, n] of counts) assert.equal(n, 1, `${id} stored ${n} times`);
  rmSync(srv.dir, { recursive: true, force: true });
});
