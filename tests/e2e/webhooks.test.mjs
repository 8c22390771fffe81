// Signed webhooks (src/channels/): endpoints CRUD with the secret shown once,
// bad input refused with the field named and nothing saved, a node receiver
// that verifies X-Siyu-Signature exactly as docs/channels.md tells
// receivers to, retries with backoff (a receiver failing twice), failure
// after 8 attempts and a manual retry, kill -9 (and a normal stop) with a
// delivery in flight → delivered after restart, permissions, audit and
// /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { startServer, Client } from './harness.mjs';

const BASE_MS = 40; // SIYU_WEBHOOK_RETRY_BASE_MS of the main server: retries after 40, 120, 480 ms …

// The receiver-side check from docs/channels.md.
function verify(secret, header, rawBody, toleranceS = 300) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header || '');
  if (!m) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > toleranceS) return false;
  const want = crypto.createHmac('sha256', secret).update(`${m[1]}.`).update(rawBody).digest();
  const got = Buffer.from(m[2], 'hex');
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

// A receiver on a free port. plan(n, req) → status to answer the n-th
// request (1-based) or 'hang' to never answer. Records every request.
async function receiver(plan = () => 200) {
  const reqs = [];
  const hanging = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      reqs.push({ at: Date.now(), method: req.method, url: req.url, headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) });
      const what = plan(reqs.length, reqs.at(-1));
      if (what === 'hang') { hanging.push(res); return; }
      res.writeHead(what, { 'content-type': 'text/plain' });
      res.end(what >= 300 ? `nope ${what}` : 'ok');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    reqs,
    url: `http://127.0.0.1:${srv.address().port}/hooks/siyu`,
    async close() { for (const r of hanging) r.destroy(); srv.closeAllConnections(); await new Promise((r) => srv.close(r)); },
  };
}

async function until(fn, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

let srv;
let admin;
const receivers = [];
before(async () => {
  srv = await startServer({ contacts: 0, env: { SIYU_WEBHOOK_RETRY_BASE_MS: String(BASE_MS) } });
  admin = srv.admin();
});
after(async () => {
  for (const r of receivers) await r.close();
  await srv.stop();
  srv.cleanup();
});

async function newReceiver(plan) {
  const r = await receiver(plan);
  receivers.push(r);
  return r;
}
const deliveries = async (c, id, q = '') => (await c.get(`/api/v1/webhooks/${id}/deliveries${q}`)).body;

test('create shows the secret once; list and read never show it; patch, rotate, delete', async () => {
  const rcv = await newReceiver();
  const c = await admin.post('/api/v1/webhooks', { name: '告警群机器人', url: rcv.url, topics: ['alert.*', 'webhook.test'] });
  assert.equal(c.status, 201, c.text);
  assert.match(c.body.secret, /^whsec_[0-9a-f]{64}$/);
  assert.deepEqual(c.body.topics, ['alert.*', 'webhook.test']);
  assert.equal(c.body.enabled, true);
  assert.equal(c.body.pending, 0);
  assert.ok(c.body.created_at > 0 && c.body.updated_at === c.body.created_at);
  const id = c.body.id;
  const list = await admin.get('/api/v1/webhooks');
  assert.equal(list.status, 200);
  const row = list.body.items.find((x) => x.id === id);
  assert.ok(row && !('secret' in row), list.text);
  assert.ok(!list.text.includes(c.body.secret));
  const one = await admin.get(`/api/v1/webhooks/${id}`);
  assert.equal(one.status, 200);
  assert.ok(!('secret' in one.body));
  // defaults: all topics, enabled; a chosen secret
  const d = await admin.post('/api/v1/webhooks', { name: 'all', url: 'https://example.com/x', secret: 'my-own-secret-0123456789', enabled: false });
  assert.equal(d.status, 201, d.text);
  assert.deepEqual(d.body.topics, ['*']);
  assert.equal(d.body.enabled, false);
  assert.equal(d.body.secret, 'my-own-secret-0123456789');

  const p = await admin.patch(`/api/v1/webhooks/${id}`, { name: '告警', enabled: false, topics: ['*'] });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.name, '告警');
  assert.equal(p.body.url, rcv.url);
  assert.equal(p.body.enabled, false);
  assert.deepEqual(p.body.topics, ['*']);
  assert.ok(!('secret' in p.body));

  // null means "not given": nothing changes
  const pn = await admin.patch(`/api/v1/webhooks/${id}`, { enabled: null, topics: null, name: null });
  assert.equal(pn.status, 200, pn.text);
  assert.equal(pn.body.enabled, false);
  assert.deepEqual(pn.body.topics, ['*']);
  assert.equal(pn.body.name, '告警');

  const r1 = await admin.post(`/api/v1/webhooks/${id}/rotate-secret`);
  assert.equal(r1.status, 200, r1.text);
  assert.match(r1.body.secret, /^whsec_[0-9a-f]{64}$/);
  assert.notEqual(r1.body.secret, c.body.secret);
  const r2 = await admin.post(`/api/v1/webhooks/${id}/rotate-secret`, { secret: 'rotated-secret-0123456789' });
  assert.equal(r2.body.secret, 'rotated-secret-0123456789');

  const del = await admin.del(`/api/v1/webhooks/${d.body.id}`);
  assert.equal(del.status, 200, del.text);
  assert.equal((await admin.get(`/api/v1/webhooks/${d.body.id}`)).status, 404);

  const audit = await admin.get('/api/v1/audit?limit=200');
  const acts = audit.body.items.filter((x) => x.target === `webhook:${id}`).map((x) => x.action);
  for (const a of ['webhooks.create', 'webhooks.update', 'webhooks.rotate_secret']) assert.ok(acts.includes(a), `${a} in ${acts}`);
  assert.ok(audit.body.items.some((x) => x.action === 'webhooks.delete' && x.target === `webhook:${d.body.id}`));
  assert.ok(!audit.text.includes('rotated-secret-0123456789') && !audit.text.includes('my-own-secret-0123456789'), 'secrets never in the audit log');
  await admin.del(`/api/v1/webhooks/${id}`);
});

test('bad input: 400 naming the field, nothing saved or changed', async () => {
  const before = (await admin.get('/api/v1/webhooks')).body.total;
  const ok = { name: 'n', url: 'https://example.com/hook' };
  const cases = [
    [{ url: ok.url }, 'name'],
    [{ ...ok, name: '   ' }, 'name'],
    [{ ...ok, name: 'x'.repeat(101) }, 'name'],
    [{ ...ok, name: 7 }, 'name'],
    [{ name: 'n' }, 'url'],
    [{ ...ok, url: 'ftp://example.com/x' }, 'url'],
    [{ ...ok, url: 'example.com/hook' }, 'url'],
    [{ ...ok, url: 'https://exa mple.com/' }, 'url'],
    [{ ...ok, url: 'http:///hook' }, 'url'],
    [{ ...ok, url: 'https://' + 'a'.repeat(2050) }, 'url'],
    [{ ...ok, topics: 'alert.fired' }, 'topics'],
    [{ ...ok, topics: [] }, 'topics'],
    [{ ...ok, topics: ['alert.fired', 'Alert Fired'] }, 'topics[1]'],
    [{ ...ok, topics: ['alert.fired', 3] }, 'topics[1]'],
    [{ ...ok, topics: ['a.**'] }, 'topics[0]'],
    [{ ...ok, enabled: 'yes' }, 'enabled'],
    [{ ...ok, secret: 'short' }, 'secret'],
    [{ ...ok, secret: 'has spaces in the secret' }, 'secret'],
    [{ ...ok, colour: 'red' }, 'colour'],
  ];
  for (const [body, field] of cases) {
    const r = await admin.post('/api/v1/webhooks', body);
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${r.text}`);
    assert.equal(r.body.error.code, 'invalid_argument');
    assert.equal(r.body.error.details.field, field, `${JSON.stringify(body).slice(0, 80)} → ${r.text}`);
  }
  const notJson = await admin.post('/api/v1/webhooks', '{"name":', { 'content-type': 'application/json' });
  assert.equal(notJson.status, 400);
  assert.equal((await admin.get('/api/v1/webhooks')).body.total, before, 'nothing created');

  // patch and rotate: refused whole, the endpoint unchanged
  const rcv = await newReceiver();
  const c = await admin.post('/api/v1/webhooks', { name: 'keep', url: rcv.url, topics: ['webhook.test'] });
  const id = c.body.id;
  const snap = (await admin.get(`/api/v1/webhooks/${id}`)).body;
  const patches = [
    [{ name: 'changed', url: 'gopher://x' }, 'url'],
    [{ name: 'changed', topics: [] }, 'topics'],
    [{ name: 'changed', secret: 'another-secret-0123456' }, 'secret'],
    [{ enabled: 1 }, 'enabled'],
    [{ name: '' }, 'name'],
  ];
  for (const [body, field] of patches) {
    const r = await admin.patch(`/api/v1/webhooks/${id}`, body);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.details.field, field, r.text);
  }
  const rot = await admin.post(`/api/v1/webhooks/${id}/rotate-secret`, { secret: 'tiny' });
  assert.equal(rot.status, 400);
  assert.equal(rot.body.error.details.field, 'secret');
  const rot2 = await admin.post(`/api/v1/webhooks/${id}/rotate-secret`, { secrets: 'x' });
  assert.equal(rot2.status, 400);
  assert.equal(rot2.body.error.details.field, 'secrets');
  assert.deepEqual((await admin.get(`/api/v1/webhooks/${id}`)).body, snap, 'unchanged');
  // the secret is still the original one: a test delivery verifies with it
  const t = await admin.post(`/api/v1/webhooks/${id}/test`);
  assert.equal(t.status, 202, t.text);
  await until(() => rcv.reqs.length >= 1);
  assert.ok(verify(c.body.secret, rcv.reqs[0].headers['x-siyu-signature'], rcv.reqs[0].raw));

  // test body is strict too; listings check their arguments
  const tb = await admin.post(`/api/v1/webhooks/${id}/test`, { date: 1 });
  assert.equal(tb.status, 400);
  assert.equal(tb.body.error.details.field, 'date');
  let r = await admin.get(`/api/v1/webhooks/${id}/deliveries?status=lost`);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.details.field, 'status');
  r = await admin.get(`/api/v1/webhooks/${id}/deliveries?limit=0`);
  assert.equal(r.body.error.details.field, 'limit');
  r = await admin.get('/api/v1/webhooks?cursor=abc');
  assert.equal(r.body.error.details.field, 'cursor');
  assert.equal((await deliveries(admin, id)).total, 1, 'refused tests queued nothing');

  // missing ids are 404 everywhere; a disabled endpoint cannot be tested
  for (const [m, u] of [['GET', '/api/v1/webhooks/999999'], ['PATCH', '/api/v1/webhooks/999999'], ['DELETE', '/api/v1/webhooks/999999'],
    ['POST', '/api/v1/webhooks/999999/rotate-secret'], ['POST', '/api/v1/webhooks/999999/test'],
    ['GET', '/api/v1/webhooks/999999/deliveries'], ['POST', '/api/v1/webhook-deliveries/999999/retry']]) {
    const x = await admin.req(m, u, m === 'PATCH' ? { name: 'x' } : undefined);
    assert.equal(x.status, 404, `${m} ${u} → ${x.text}`);
    assert.equal(x.body.error.code, 'not_found');
  }
  assert.equal((await admin.get('/api/v1/webhooks/abc')).status, 400);
  await admin.patch(`/api/v1/webhooks/${id}`, { enabled: false });
  const off = await admin.post(`/api/v1/webhooks/${id}/test`);
  assert.equal(off.status, 409, off.text);
  assert.equal((await deliveries(admin, id)).total, 1);
  await admin.del(`/api/v1/webhooks/${id}`);
});

test('a delivery is POSTed as signed JSON with the documented headers', async () => {
  const rcv = await newReceiver();
  const c = await admin.post('/api/v1/webhooks', { name: 'verify', url: rcv.url });
  const t = await admin.post(`/api/v1/webhooks/${c.body.id}/test`, { data: { hello: '世界' } });
  assert.equal(t.status, 202, t.text);
  // queued; the sender may already have delivered it by the time the
  // answer reads it back (a local receiver answers in microseconds)
  assert.ok(['pending', 'delivered'].includes(t.body.status), t.text);
  assert.equal(t.body.topic, 'webhook.test');
  await until(() => rcv.reqs.length >= 1);
  const q = rcv.reqs[0];
  assert.equal(q.method, 'POST');
  assert.equal(q.url, '/hooks/siyu');
  assert.equal(q.headers['content-type'], 'application/json');
  assert.equal(q.headers['x-siyu-delivery'], String(t.body.id));
  assert.equal(q.headers['x-siyu-topic'], 'webhook.test');
  assert.ok(verify(c.body.secret, q.headers['x-siyu-signature'], q.raw), q.headers['x-siyu-signature']);
  assert.ok(!verify('whsec_wrong', q.headers['x-siyu-signature'], q.raw));
  assert.ok(!verify(c.body.secret, q.headers['x-siyu-signature'], Buffer.concat([q.raw, Buffer.from(' ')])), 'a changed body fails');
  const ts = Number(/t=(\d+)/.exec(q.headers['x-siyu-signature'])[1]);
  assert.ok(Math.abs(ts - Date.now() / 1000) < 5);
  assert.equal(q.body.id, t.body.id);
  assert.equal(q.body.topic, 'webhook.test');
  assert.equal(q.body.created_at, t.body.created_at);
  assert.equal(q.body.data.endpoint_id, c.body.id);
  assert.deepEqual(q.body.data.data, { hello: '世界' });
  const d = await until(async () => {
    const x = (await deliveries(admin, c.body.id)).items[0];
    return x.status === 'delivered' && x;
  });
  assert.ok(d, 'delivered');
  assert.equal(d.attempts, 1);
  assert.equal(d.last_status_code, 200);
  assert.equal(d.last_error, null);
  assert.equal(d.next_attempt_at, null);
  assert.ok(d.delivered_at >= d.created_at);
  assert.equal(d.finished_at, d.delivered_at, 'a delivered delivery finished when delivered');
  assert.equal(d.body, q.raw.toString('utf8'), 'the stored body is the exact bytes sent');
  const audit = await admin.get('/api/v1/audit?limit=50');
  assert.ok(audit.body.items.some((x) => x.action === 'webhooks.test' && x.target === `webhook:${c.body.id}`));
  await admin.del(`/api/v1/webhooks/${c.body.id}`);
});

test('a receiver failing twice gets the delivery on the third attempt, after backoff', async () => {
  const rcv = await newReceiver((n) => (n <= 2 ? 503 : 200));
  const c = await admin.post('/api/v1/webhooks', { name: 'flaky', url: rcv.url });
  const t = await admin.post(`/api/v1/webhooks/${c.body.id}/test`);
  // after the first failure the row shows the error and the next attempt
  const mid = await until(async () => {
    const x = (await deliveries(admin, c.body.id)).items[0];
    return x.attempts >= 1 && x;
  });
  assert.equal(mid.last_status_code, 503);
  assert.match(mid.last_error, /HTTP 503: nope 503/);
  const d = await until(async () => {
    const x = (await deliveries(admin, c.body.id)).items[0];
    return x.status === 'delivered' && x;
  });
  assert.ok(d, JSON.stringify((await deliveries(admin, c.body.id)).items[0]));
  assert.equal(d.attempts, 3);
  assert.equal(d.last_status_code, 200);
  assert.equal(rcv.reqs.length, 3);
  for (const q of rcv.reqs) {
    assert.equal(q.headers['x-siyu-delivery'], String(t.body.id), 'the same delivery each time');
    assert.ok(verify(c.body.secret, q.headers['x-siyu-signature'], q.raw));
    assert.deepEqual(q.raw, rcv.reqs[0].raw, 'the same body each time');
  }
  const gap1 = rcv.reqs[1].at - rcv.reqs[0].at;
  const gap2 = rcv.reqs[2].at - rcv.reqs[1].at;
  assert.ok(gap1 >= BASE_MS - 5, `first retry after ${gap1} ms`);
  assert.ok(gap2 >= 3 * BASE_MS - 5, `second retry after ${gap2} ms`);
  assert.ok(gap2 > gap1, 'backoff grows');
  await admin.del(`/api/v1/webhooks/${c.body.id}`);
});

test('permissions: only settings.manage may see or change webhooks', async () => {
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  const u = await srv.login(sales.username, sales.password);
  const before = (await admin.get('/api/v1/webhooks')).body.total;
  for (const [m, url, body] of [['GET', '/api/v1/webhooks'], ['POST', '/api/v1/webhooks', { name: 'x', url: 'https://example.com' }],
    ['GET', '/api/v1/webhooks/1/deliveries'], ['POST', '/api/v1/webhook-deliveries/1/retry']]) {
    const r = await u.req(m, url, body);
    assert.equal(r.status, 403, `${m} ${url} → ${r.text}`);
  }
  assert.equal((await srv.anon.get('/api/v1/webhooks')).status, 401);
  assert.equal((await admin.get('/api/v1/webhooks')).body.total, before);
});

test('a webhook to a loopback address is refused unless SIYU_WEBHOOK_ALLOW_PRIVATE=1', async () => {
  const s3 = await startServer({ contacts: 0, env: { SIYU_WEBHOOK_ALLOW_PRIVATE: '0', SIYU_WEBHOOK_RETRY_BASE_MS: '1' } });
  try {
    const a3 = s3.admin();
    const rcv = await newReceiver(() => 200);
    const c = await a3.post('/api/v1/webhooks', { name: 'inside', url: rcv.url });
    assert.equal(c.status, 201, c.text);
    await a3.post(`/api/v1/webhooks/${c.body.id}/test`);
    const f = await until(async () => {
      const x = (await deliveries(a3, c.body.id)).items[0];
      return x.status === 'failed' && x;
    }, 15000);
    assert.ok(f, 'failed after its attempts');
    assert.equal(f.attempts, 8);
    assert.match(f.last_error, /^127\.0\.0\.1 is a loopback address: not delivered \(SIYU_WEBHOOK_ALLOW_PRIVATE=1 allows it\)$/);
    assert.equal(f.last_status_code, null);
    assert.equal(rcv.reqs.length, 0, 'nothing reached the receiver');
  } finally {
    await s3.stop();
    s3.cleanup();
  }
});

test('8 failed attempts mark a delivery failed; a manual retry sends it again', async () => {
  // its own server with a 1 ms base: the whole schedule takes about 2.6 s
  const s2 = await startServer({ contacts: 0, env: { SIYU_WEBHOOK_RETRY_BASE_MS: '1' } });
  try {
    const a2 = s2.admin();
    let healthy = false;
    const rcv = await newReceiver(() => (healthy ? 200 : 500));
    const c = await a2.post('/api/v1/webhooks', { name: 'down', url: rcv.url });
    const t = await a2.post(`/api/v1/webhooks/${c.body.id}/test`);
    const f = await until(async () => {
      const x = (await deliveries(a2, c.body.id)).items[0];
      return x.status === 'failed' && x;
    }, 15000);
    assert.ok(f, 'failed');
    assert.equal(f.attempts, 8);
    assert.equal(f.next_attempt_at, null);
    assert.ok(f.finished_at >= f.created_at, 'a failed delivery finished at its last attempt');
    assert.equal(rcv.reqs.length, 8);
    assert.equal((await deliveries(a2, c.body.id, '?status=failed')).total, 1);
    assert.equal((await deliveries(a2, c.body.id, '?status=pending')).total, 0);
    assert.equal((await a2.get('/api/v1/webhooks')).body.items.find((x) => x.id === c.body.id).failed, 1);
    const m = await s2.anon.get('/metrics');
    assert.match(m.text, /siyu_webhook_deliveries\{status="failed"\} 1\b/);
    healthy = true;
    const r = await a2.post(`/api/v1/webhook-deliveries/${t.body.id}/retry`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.id, t.body.id);
    assert.equal(r.body.status, 'pending', 'the answer is read in the retry\'s own transaction');
    assert.equal(r.body.finished_at, null, 'a retried delivery is unfinished again');
    const d = await until(async () => {
      const x = (await deliveries(a2, c.body.id)).items[0];
      return x.status === 'delivered' && x;
    });
    assert.ok(d, 'delivered after the manual retry');
    assert.equal(d.attempts, 1);
    assert.equal(rcv.reqs.length, 9);
    const audit = await a2.get('/api/v1/audit?limit=50');
    assert.ok(audit.body.items.some((x) => x.action === 'webhooks.delivery_retry' && x.target === `webhook_delivery:${t.body.id}`));
    // deleting the endpoint deletes its outbox
    await a2.del(`/api/v1/webhooks/${c.body.id}`);
    assert.equal((await a2.post(`/api/v1/webhook-deliveries/${t.body.id}/retry`)).status, 404);
  } finally {
    await s2.stop();
    s2.cleanup();
  }
});

for (const signal of ['SIGKILL', 'SIGTERM']) test(`${signal} with a delivery in flight: after restart it is delivered`, async () => {
  const s1 = await startServer({ contacts: 0, env: { SIYU_WEBHOOK_RETRY_BASE_MS: '50' } });
  let s2;
  try {
    let hang = true;
    const rcv = await newReceiver(() => (hang ? 'hang' : 200));
    const a1 = s1.admin();
    const c = await a1.post('/api/v1/webhooks', { name: 'crash', url: rcv.url });
    const t = await a1.post(`/api/v1/webhooks/${c.body.id}/test`);
    assert.equal(t.status, 202);
    assert.ok(await until(() => rcv.reqs.length >= 1), 'first attempt reached the receiver');
    const t0 = Date.now();
    await s1.stop(signal);
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms with a request in flight`);
    hang = false;
    s2 = await startServer({ dataDir: s1.dir, env: { SIYU_WEBHOOK_RETRY_BASE_MS: '50' } });
    const a2 = new Client(s2.base, { token: s1.demo.admin.api_token });
    const d = await until(async () => {
      const x = (await deliveries(a2, c.body.id)).items[0];
      return x.status === 'delivered' && x;
    });
    assert.ok(d, 'delivered after restart');
    assert.equal(d.id, t.body.id);
    assert.equal(rcv.reqs.length, 2);
    assert.equal(rcv.reqs[1].headers['x-siyu-delivery'], String(t.body.id), 'same id: receivers de-duplicate on it');
    assert.ok(verify(c.body.secret, rcv.reqs[1].headers['x-siyu-signature'], rcv.reqs[1].raw));
    const m = await s2.anon.get('/metrics');
    assert.match(m.text, /siyu_webhook_deliveries\{status="pending"\} 0\b/);
  } finally {
    if (s2) await s2.stop();
    if (s1.proc.exitCode === null && s1.proc.signalCode === null) await s1.stop();
    s1.cleanup();
  }
});
