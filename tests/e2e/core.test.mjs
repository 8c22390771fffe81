// Core server behaviour: health, metrics, request ids, JSON errors, the
// OpenAPI document's completeness, the command line, backup while serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, runSiyu, Client } from './harness.mjs';

let srv;
before(async () => { srv = await startServer({ contacts: 50 }); });
after(async () => { await srv.stop(); srv.cleanup(); });

test('healthz answers ok with a request id', async () => {
  const r = await srv.anon.get('/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
});

test('a client request id is echoed and appears in the log', async () => {
  const r = await srv.anon.get('/healthz', { 'x-request-id': 'trace-abc-123' });
  assert.equal(r.headers.get('x-request-id'), 'trace-abc-123');
  await new Promise((res) => setTimeout(res, 50));
  assert.match(srv.log, /rid=trace-abc-123 .*path=\/healthz/);
});

test('unknown API paths are JSON 404s, wrong methods 405', async () => {
  const r = await srv.anon.get('/api/v1/no-such-thing');
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'not_found');
  assert.ok(r.body.error.message.length > 0);
  const m = await srv.anon.req('PUT', '/healthz');
  assert.equal(m.status, 405);
  assert.equal(m.body.error.code, 'method_not_allowed');
});

test('API routes need credentials', async () => {
  const r = await srv.anon.get('/api/v1/contacts');
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'unauthenticated');
});

test('metrics expose per-route counters, latency and database size', async () => {
  await srv.admin().get('/api/v1/contacts?limit=1');
  const r = await srv.anon.get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.text, /siyu_http_requests_total\{method="GET",route="\/api\/v1\/contacts"\} [1-9]/);
  assert.match(r.text, /siyu_http_request_duration_seconds_bucket\{method="GET",route="\/api\/v1\/contacts",le="\+Inf"\}/);
  assert.match(r.text, /siyu_database_bytes [1-9]\d*/);
  assert.match(r.text, /siyu_contacts_total \d+/);
});

test('every registered route is in the OpenAPI document', async () => {
  const doc = (await srv.anon.get('/api/openapi.json')).body;
  assert.equal(doc.openapi, '3.0.3');
  const routes = runSiyu(['routes']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(routes.length > 20, `only ${routes.length} routes registered`);
  const missing = routes.filter((r) => !doc.paths[r.path] || !doc.paths[r.path][r.method.toLowerCase()])
    .map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(missing, [], `routes missing from docs/openapi: ${missing.join(', ')}`);
  // and the document describes nothing the server does not serve
  const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${r.path}`));
  const extra = [];
  for (const [p, ops] of Object.entries(doc.paths))
    for (const m of Object.keys(ops))
      if (['get', 'post', 'put', 'patch', 'delete'].includes(m) && !served.has(`${m} ${p}`)) extra.push(`${m} ${p}`);
  assert.deepEqual(extra, [], `documented but not served: ${extra.join(', ')}`);
});

test('command line: unknown flags and bad values exit 2 with a message', () => {
  let r = runSiyu(['serve', '--bogus']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option "--bogus"/);
  r = runSiyu(['demo', '--seed', 'abc']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--seed must be a whole number/);
  r = runSiyu(['serve', '--listen']);
  assert.equal(r.status, 2);
  r = runSiyu(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  for (const cmd of ['serve', 'demo', 'import', 'export', 'backup', 'restore', 'routes']) {
    r = runSiyu([cmd, '--help']);
    assert.equal(r.status, 0, cmd);
    assert.match(r.stdout, /usage: siyu/, cmd);
  }
  r = runSiyu(['version']);
  assert.match(r.stdout, /^siyu \d+\.\d+\.\d+/);
});

test('serve refuses a bad listen address with exit 1 and a message', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'siyu-e2e-'));
  const r = runSiyu(['serve', '--data', dir, '--listen', 'nonsense']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /listen address "nonsense"/);
  rmSync(dir, { recursive: true, force: true });
});

test('demo refuses a data dir that already holds a workspace', () => {
  const r = runSiyu(['demo', '--data', srv.dir, '--contacts', '1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /already holds a workspace/);
});

test('backup while serving, restore into a new dir, data intact', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'siyu-bak-'));
  const file = path.join(out, 'backup.db');
  const before = (await srv.admin().get('/api/v1/contacts?limit=1')).body.total;
  const r = runSiyu(['backup', '--data', srv.dir, '--to', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(file));
  const restored = path.join(out, 'restored');
  const rr = runSiyu(['restore', '--data', restored, '--from', file]);
  assert.equal(rr.status, 0, rr.stderr);
  const s2 = await startServer({ args: [] , dataDir: restored });
  try {
    const c = new Client(s2.base, { token: srv.demo.admin.api_token });
    const list = await c.get('/api/v1/contacts?limit=1');
    assert.equal(list.status, 200);
    assert.equal(list.body.total, before);
  } finally {
    await s2.stop();
  }
  rmSync(out, { recursive: true, force: true });
  const bad = runSiyu(['restore', '--data', restored, '--from', '/etc/hostname']);
  assert.notEqual(bad.status, 0);
});
