// The events module over HTTP: the Segment endpoints (auth, gzip, limits,
// whole-batch validation, de-duplication, timestamp rules), identity
// resolution (merges and conflicts), orders, the catalog and declared
// schemas, a contact's events and profile, data scopes, and the
// `siyu export events` CLI. Every bad input asserts status, error code, a
// message naming the problem, and that nothing was stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, runSiyu, Client } from './harness.mjs';

let srv;
let admin;
let basic;

before(async () => {
  srv = await startServer({ contacts: 50 });
  admin = srv.admin();
  basic = `Basic ${Buffer.from(`${srv.demo.write_key}:`).toString('base64')}`;
});
after(async () => { await srv.stop(); srv.cleanup(); });

// POSTs to a Segment endpoint. opts.auth: Authorization header (default the
// demo write key as Basic user; null for none); opts.gzip compresses;
// opts.headers adds headers. body: object (JSON) or string/Buffer as is.
async function send(endpoint, body, opts = {}) {
  const headers = { 'content-type': 'application/json', ...(opts.headers || {}) };
  const auth = opts.auth === undefined ? basic : opts.auth;
  if (auth) headers.authorization = auth;
  let payload = typeof body === 'object' && !Buffer.isBuffer(body) ? JSON.stringify(body) : body;
  if (opts.gzip) {
    payload = gzipSync(Buffer.from(payload));
    headers['content-encoding'] = 'gzip';
  }
  const res = await fetch(`${srv.base}/v1/${endpoint}`, { method: 'POST', headers, body: payload });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

async function ok(endpoint, body, opts) {
  const r = await send(endpoint, body, opts);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { success: true });
  return r;
}

// Events siyu records itself (lifecycle_changed after a contact's stage
// changes, …) arrive asynchronously after the ingestion that caused them;
// counts here are of the events the tests send, taken from the catalog.
const SYSTEM_EVENTS = new Set(['lifecycle_changed', 'segment_entered', 'segment_exited', 'tag_added', 'tag_removed']);

async function metrics() {
  const r = await srv.anon.get('/metrics');
  const get = (n) => Number(r.text.match(new RegExp(`^${n} (\\d+)`, 'm'))[1]);
  const counts = await catalogCounts();
  return { events: Object.values(counts).reduce((a, n) => a + n, 0), duplicates: get('siyu_events_duplicates_total') };
}

async function catalogCounts() {
  const r = await admin.get('/api/v1/events/catalog');
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.body.items.filter((i) => !SYSTEM_EVENTS.has(i.name)).map((i) => [i.name, i.count]));
}

// Runs fn and asserts that no event was stored and the catalog did not change.
async function storesNothing(fn) {
  const m0 = await metrics();
  const c0 = await catalogCounts();
  await fn();
  assert.equal((await metrics()).events, m0.events, 'no event stored');
  assert.deepEqual(await catalogCounts(), c0, 'catalog unchanged');
}

function assertError(res, status, code, messageRe) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.body?.error?.code, code, res.text);
  if (messageRe) assert.match(res.body.error.message, messageRe);
}

async function lookup(type, value) {
  return admin.get(`/api/v1/contacts/lookup?type=${type}&value=${encodeURIComponent(value)}`);
}

async function contactOf(type, value) {
  const r = await lookup(type, value);
  assert.equal(r.status, 200, `${type}=${value}: ${r.text}`);
  return r.body;
}

// A contact's events as sent by the tests (source=user: system events such
// as lifecycle_changed arrive asynchronously and are left out).
async function eventsOf(id, query = '') {
  const r = await admin.get(`/api/v1/contacts/${id}/events?limit=500&source=user${query}`);
  assert.equal(r.status, 200, r.text);
  return r.body.items;
}

async function profile(id) {
  const r = await admin.get(`/api/v1/contacts/${id}/profile`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

// A profile without what siyu records by itself (system events come and go
// with model tags, stages and segments): what the customer did.
function userProfile(p) {
  const counts = Object.fromEntries(Object.entries(p.event_counts).filter(([k]) => !SYSTEM_EVENTS.has(k)));
  const { events, ...rest } = p;
  return { ...rest, event_counts: counts };
}

let seq = 0;
const mid = (p = 'm') => `${p}-${process.pid}-${++seq}`;

async function until(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------- accepted input

test('every endpoint, Basic or body writeKey, gzip with a wrong Content-Type, unknown fields accepted', async () => {
  const m0 = await metrics();
  await ok('identify', { userId: 'ep-u1', traits: { name: '王五', email: 'WangWu@Example.cn' }, messageId: mid() });
  await ok('track', { userId: 'ep-u1', event: 'add_to_cart', properties: { sku: 'S1', price: 9.9 }, messageId: mid(), _metadata: { nodeVersion: 'v20' }, channel: 'server', integrations: { All: true }, version: 2 });
  await ok('page', { userId: 'ep-u1', name: '首页', properties: { url: 'https://x.cn/' }, messageId: mid() });
  await ok('screen', { userId: 'ep-u1', name: 'Home', messageId: mid() });
  await ok('group', { userId: 'ep-u1', groupId: 'org-9', traits: { name: '星辰科技' }, messageId: mid() });
  await ok('alias', { userId: 'ep-u1', previousId: 'ep-prev', messageId: mid() });
  // writeKey in the body and no Authorization header
  await ok('track', { writeKey: srv.demo.write_key, userId: 'ep-u1', event: 'share', messageId: mid() }, { auth: null });
  // rudder-sdk-node: gzip body, Content-Type application/x-www-form-urlencoded
  await ok('batch', {
    batch: [
      { type: 'track', userId: 'ep-u1', event: 'checkin', properties: { store: 'SH001' }, messageId: mid(), context: { locale: 'zh-CN' } },
      { type: 'page', userId: 'ep-u1', name: 'Act', messageId: mid() },
    ],
    context: { ip: '203.0.113.9', campaign: { source: 'wx', medium: 'social' } },
    sentAt: new Date().toISOString(),
  }, { gzip: true, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  // gzip recognised by its magic bytes even without Content-Encoding
  await ok('track', gzipSync(Buffer.from(JSON.stringify({ userId: 'ep-u1', event: 'checkin', messageId: mid() }))),
    { headers: { 'content-type': 'text/plain' } });
  const m1 = await metrics();
  assert.equal(m1.events, m0.events + 10);

  const c = await contactOf('user_id', 'ep-u1');
  assert.equal(c.name, '王五');
  assert.equal(c.email, 'wangwu@example.cn');
  assert.equal((await contactOf('anonymous_id', 'ep-prev')).id, c.id, 'alias linked previousId');
  const evs = await eventsOf(c.id);
  assert.equal(evs.length, 10);
  assert.deepEqual([...new Set(evs.map((e) => e.type))].sort(), ['alias', 'group', 'identify', 'page', 'screen', 'track']);
  const cart = evs.find((e) => e.event === 'add_to_cart');
  assert.deepEqual(cart.properties, { sku: 'S1', price: 9.9 });
  assert.equal(cart._metadata, undefined, 'unknown fields are accepted, not echoed into the event');
  assert.equal(evs.find((e) => e.type === 'group').groupId, 'org-9');
  // batch-level context is merged into each item
  const checkin = evs.find((e) => e.event === 'checkin' && e.properties?.store === 'SH001');
  assert.equal(checkin.context.ip, '203.0.113.9');
  assert.equal(checkin.context.locale, 'zh-CN');
  assert.deepEqual(checkin.context.campaign, { source: 'wx', medium: 'social' });
  // the timeline shows events
  const tl = await admin.get(`/api/v1/contacts/${c.id}/timeline`);
  assert.equal(tl.status, 200, tl.text);
  assert.ok(tl.body.items.some((i) => i.kind === 'event' && i.event === 'add_to_cart'), tl.text);
});

test('page and screen keep their name and category', {
}, async () => {
  await ok('page', { userId: 'pg-u1', name: '首页', category: 'shop', properties: { url: 'https://x.cn/' }, messageId: mid() });
  await ok('screen', { userId: 'pg-u1', name: '我的订单', messageId: mid() });
  const evs = await eventsOf((await contactOf('user_id', 'pg-u1')).id);
  const page = evs.find((e) => e.type === 'page');
  const screen = evs.find((e) => e.type === 'screen');
  assert.equal(page.name ?? page.properties?.name, '首页', JSON.stringify(page));
  assert.equal(page.category ?? page.properties?.category, 'shop', JSON.stringify(page));
  assert.equal(screen.name ?? screen.properties?.name, '我的订单', JSON.stringify(screen));
});

// ---------------------------------------------------------------- authentication

test('unknown, missing or malformed write keys → 401; a write key on the management API → 403; nothing stored', async () => {
  const msg = { userId: 'auth-u1', event: 'auth_probe', messageId: mid() };
  await storesNothing(async () => {
    const bad = `Basic ${Buffer.from('swk_0000000000000000000000000000dead:').toString('base64')}`;
    assertError(await send('track', msg, { auth: bad }), 401, 'unauthenticated', /write key/);
    assertError(await send('batch', { batch: [{ type: 'track', ...msg }] }, { auth: bad }), 401, 'unauthenticated', /write key/);
    assertError(await send('track', { ...msg, writeKey: 'swk_nope' }, { auth: null }), 401, 'unauthenticated', /write key/);
    assertError(await send('track', msg, { auth: null }), 401, 'unauthenticated', /write key/);
    assertError(await send('track', msg, { auth: 'Basic !!!' }), 401, 'unauthenticated');
    // an unknown key is reported before the body is judged
    assertError(await send('track', '{"userId":', { auth: bad }), 401, 'unauthenticated');
    // an API token is not a write key
    assertError(await send('track', msg, { auth: `Bearer ${srv.demo.admin.api_token}` }), 401, 'unauthenticated', /write key/);
  });
  assert.equal((await lookup('user_id', 'auth-u1')).status, 404);
  const r = await fetch(`${srv.base}/api/v1/events/catalog`, { headers: { authorization: basic } });
  assert.equal(r.status, 403);
  assert.equal((await r.json()).error.code, 'permission_denied');
});

// ---------------------------------------------------------------- bad input

test('malformed JSON, a non-object body, bad or truncated gzip, an unsupported encoding: clear errors, nothing stored', async () => {
  await storesNothing(async () => {
    let r = await send('track', '{"userId":"bad-json","event":"x",');
    assertError(r, 400, 'invalid_argument', /malformed JSON/);
    r = await send('batch', '{"batch":[{"type":"track","userId":"bad-json","event":"x"}, ]}');
    assertError(r, 400, 'invalid_argument', /malformed JSON at line 1/);
    r = await send('batch', '[{"type":"track","userId":"bad-json","event":"x"}]');
    assertError(r, 400, 'invalid_argument', /JSON object/);
    r = await send('batch', { batch: { type: 'track', userId: 'bad-json', event: 'x' } });
    assertError(r, 400, 'invalid_argument', /"batch"/);
    r = await send('track', Buffer.from('this is not gzip data'), { headers: { 'content-encoding': 'gzip' } });
    assertError(r, 400, 'invalid_argument', /gzip/);
    const gz = gzipSync(Buffer.from(JSON.stringify({ batch: [{ type: 'track', userId: 'bad-json', event: 'x', properties: { s: 'y'.repeat(2000) } }] })));
    r = await send('batch', gz.subarray(0, 40), { headers: { 'content-encoding': 'gzip', 'content-type': 'application/x-www-form-urlencoded' } });
    assertError(r, 400, 'invalid_argument', /gzip/);
    r = await send('batch', gz.subarray(0, 40), { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertError(r, 400, 'invalid_argument', /gzip/);
    r = await send('track', '{"userId":"bad-json","event":"x"}', { headers: { 'content-encoding': 'br' } });
    assertError(r, 415, 'unsupported_media_type', /"br"/);
  });
  assert.equal((await lookup('user_id', 'bad-json')).status, 404);
});

test('wrong types: every bad message listed by index, field and reason; nothing from the batch stored', async () => {
  const good0 = { type: 'track', userId: 'wt-u1', event: 'wt_ok', messageId: mid('wt') };
  const good7 = { type: 'identify', userId: 'wt-u1', traits: { name: '赵六' }, messageId: mid('wt') };
  const batch = [
    good0,
    { type: 'track', userId: { id: 1 }, event: 'wt', messageId: mid('wt') },
    { type: 'track', userId: 'wt-u1', event: 'wt', properties: ['a', 'b'], messageId: mid('wt') },
    { type: 'track', userId: 'wt-u1', messageId: mid('wt') },
    { type: 'track', event: 'wt', messageId: mid('wt') },
    { type: 'bogus', userId: 'wt-u1', messageId: mid('wt') },
    { type: 'identify', userId: 'wt-u1', traits: 'vip', context: 7, messageId: mid('wt') },
    good7,
    'not an object',
    { type: 'alias', userId: 'wt-u1', messageId: mid('wt') },
  ];
  let r;
  await storesNothing(async () => {
    r = await send('batch', { batch });
    assertError(r, 400, 'invalid_argument', /^message 1: userId must be a string \(and \d+ more problems\)$/);
  });
  const errs = r.body.error.details.errors;
  const got = errs.map((e) => `${e.index}:${e.field}`);
  for (const want of ['1:userId', '2:properties', '3:event', '4:userId', '5:type', '6:traits', '6:context', '8:message', '9:previousId'])
    assert.ok(got.includes(want), `${want} in ${JSON.stringify(errs)}`);
  assert.ok(!got.some((g) => g.startsWith('0:') || g.startsWith('7:')), 'good messages are not listed');
  for (const e of errs) assert.ok(e.reason.length > 3, JSON.stringify(e));
  assert.match(errs.find((e) => e.index === 5).reason, /"bogus"/);
  assert.equal((await lookup('user_id', 'wt-u1')).status, 404, 'the identify in the batch did not run');
  // single-message endpoints
  await storesNothing(async () => {
    assertError(await send('track', { userId: 'wt-u1', event: 42 }), 400, 'invalid_argument', /event/);
    assertError(await send('track', { userId: 'wt-u1', event: '$page' }), 400, 'invalid_argument', /reserved/);
    assertError(await send('track', { userId: 'wt-u1', event: 'wt', properties: 'x' }), 400, 'invalid_argument', /properties must be an object/);
    assertError(await send('group', { userId: 'wt-u1' }), 400, 'invalid_argument', /groupId/);
    assertError(await send('identify', { userId: 'wt-u1', traits: { phone: '12345' } }), 400, 'invalid_argument', /phone/);
    assertError(await send('track', { userId: 'x'.repeat(201), event: 'wt' }), 400, 'invalid_argument', /userId/);
  });
  // The good messages were not stored: sent alone now, both are new.
  const m0 = await metrics();
  await ok('batch', { batch: [good0, good7] });
  const m1 = await metrics();
  assert.equal(m1.events, m0.events + 2);
  assert.equal(m1.duplicates, m0.duplicates);
});

test('limits: a message over 32 KB and a batch over 2500 → 400; a body over 500 KB → 413, also after gunzip', async () => {
  await storesNothing(async () => {
    const big = { type: 'track', userId: 'lim-u1', event: 'lim', properties: { blob: 'x'.repeat(33 * 1024) } };
    let r = await send('batch', { batch: [{ type: 'track', userId: 'lim-u1', event: 'lim' }, big] });
    assertError(r, 400, 'invalid_argument', /32 KB/);
    assert.deepEqual(r.body.error.details.errors.map((e) => e.index), [1]);
    r = await send('track', { ...big, type: undefined });
    assertError(r, 400, 'invalid_argument', /32 KB/);
    const many = Array.from({ length: 2501 }, (_, i) => ({ type: 'track', userId: 'lim-u1', event: 'lim', messageId: `lim-${i}` }));
    r = await send('batch', { batch: many });
    assertError(r, 400, 'invalid_argument', /2501.*2500/);
    // 20 messages of 30 KB: each under 32 KB, together over 500 KB
    const fat = Array.from({ length: 20 }, () => ({ type: 'track', userId: 'lim-u1', event: 'lim', properties: { s: 'y'.repeat(30000) } }));
    r = await send('batch', { batch: fat });
    assertError(r, 413, 'payload_too_large', /limit/);
    // the same compressed to under 1 KB: judged by its decompressed size
    r = await send('batch', { batch: fat }, { gzip: true, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertError(r, 413, 'payload_too_large', /decompressed/);
  });
  // exactly 2500 small messages are fine
  const m0 = await metrics();
  const full = Array.from({ length: 2500 }, (_, i) => ({ type: 'track', userId: 'lim-u2', event: 'lim_ok', messageId: `lim-ok-${i}` }));
  await ok('batch', { batch: full }, { gzip: true });
  assert.equal((await metrics()).events, m0.events + 2500);
});

test('timestamps that are not ISO-8601 → 400 naming the field; nothing stored', async () => {
  await storesNothing(async () => {
    for (const [field, value] of [['timestamp', '2026/11/22 09:00'], ['timestamp', 1795341809000], ['timestamp', 'yesterday'],
      ['timestamp', '2026-02-30T00:00:00Z'], ['originalTimestamp', '22.11.2026'], ['sentAt', '2026-11-22T25:00:00Z']]) {
      const r = await send('track', { userId: 'ts-bad', event: 'ts', [field]: value });
      assertError(r, 400, 'invalid_argument', new RegExp(`${field} (must be an|"[^"]*" is not an) ISO-8601`));
      assert.equal(r.body.error.details.field, field);
    }
    const r = await send('batch', { batch: [{ type: 'track', userId: 'ts-bad', event: 'ts' }], sentAt: 'now' });
    assertError(r, 400, 'invalid_argument', /sentAt "now" is not an ISO-8601/);
  });
  assert.equal((await lookup('user_id', 'ts-bad')).status, 404);
});

// ---------------------------------------------------------------- de-duplication and time

test('a repeated messageId is acknowledged and stored once (across requests and within a batch)', async () => {
  const id = mid('dup');
  const m0 = await metrics();
  await ok('track', { userId: 'dup-u1', event: 'dup', properties: { n: 1 }, messageId: id });
  await ok('track', { userId: 'dup-u1', event: 'dup', properties: { n: 2 }, messageId: id });
  await ok('batch', { batch: [
    { type: 'track', userId: 'dup-u1', event: 'dup', properties: { n: 3 }, messageId: id },
    { type: 'track', userId: 'dup-u1', event: 'dup', properties: { n: 4 }, messageId: 'dup-inner' },
    { type: 'track', userId: 'dup-u1', event: 'dup', properties: { n: 5 }, messageId: 'dup-inner' },
  ] }, { gzip: true });
  // without a messageId there is nothing to de-duplicate on
  await ok('track', { userId: 'dup-u1', event: 'dup', properties: { n: 6 } });
  await ok('track', { userId: 'dup-u1', event: 'dup', properties: { n: 6 } });
  const m1 = await metrics();
  assert.equal(m1.events, m0.events + 4);
  assert.equal(m1.duplicates, m0.duplicates + 3);
  const c = await contactOf('user_id', 'dup-u1');
  const evs = await eventsOf(c.id, '&event=dup');
  assert.deepEqual(evs.map((e) => e.properties.n).sort(), [1, 4, 6, 6], 'the first copy is the one kept');
  assert.equal((await profile(c.id)).event_counts.dup, 4);
});

test('messageIds are de-duplicated per write key; a revoked write key → 401', async () => {
  const k = await admin.post('/api/v1/write-keys', { name: 'events e2e' });
  assert.equal(k.status, 201, k.text);
  const auth2 = `Basic ${Buffer.from(`${k.body.key}:`).toString('base64')}`;
  const m0 = await metrics();
  await ok('track', { userId: 'wk-u1', event: 'wk_probe', messageId: 'wk-same' });
  await ok('track', { userId: 'wk-u1', event: 'wk_probe', messageId: 'wk-same' }, { auth: auth2 });
  await ok('track', { userId: 'wk-u1', event: 'wk_probe', messageId: 'wk-same' }, { auth: auth2 });
  const m1 = await metrics();
  assert.equal(m1.events, m0.events + 2, 'one per write key');
  assert.equal(m1.duplicates, m0.duplicates + 1);
  const del = await admin.del(`/api/v1/write-keys/${k.body.id}`);
  assert.ok(del.status === 200 || del.status === 204, del.text);
  await storesNothing(async () => {
    assertError(await send('track', { userId: 'wk-u1', event: 'wk_probe', messageId: 'wk-after' }, { auth: auth2 }), 401, 'unauthenticated', /revoked/);
    assertError(await send('track', { userId: 'wk-u1', event: 'wk_probe', writeKey: k.body.key }, { auth: null }), 401, 'unauthenticated', /revoked/);
  });
});

test('timestamp rules: timestamp kept; originalTimestamp corrected by receivedAt − (sentAt − originalTimestamp)', async () => {
  const t0 = Date.parse('2020-01-01T00:00:00.000Z');
  const iso = (ms) => new Date(ms).toISOString();
  await ok('batch', {
    sentAt: iso(t0 + 10_000),
    batch: [
      // client clock 10 s behind the send: event happened 10 s before receipt
      { type: 'track', userId: 'ts-u1', event: 'ts_orig', originalTimestamp: iso(t0), messageId: 'ts-1' },
      // a per-message sentAt wins over the batch's
      { type: 'track', userId: 'ts-u1', event: 'ts_own_sent', originalTimestamp: iso(t0), sentAt: iso(t0 + 3000), messageId: 'ts-2' },
      // a sender's timestamp is stored unchanged, even with originalTimestamp and sentAt
      { type: 'track', userId: 'ts-u1', event: 'ts_given', timestamp: '2024-05-01T16:00:00.123+08:00', originalTimestamp: iso(t0), messageId: 'ts-3' },
      // neither: the received time
      { type: 'track', userId: 'ts-u1', event: 'ts_none', messageId: 'ts-4' },
    ],
  });
  // originalTimestamp without any sentAt is taken as is
  await ok('track', { userId: 'ts-u1', event: 'ts_orig_only', originalTimestamp: iso(t0 + 777), messageId: 'ts-5' });
  const c = await contactOf('user_id', 'ts-u1');
  const evs = Object.fromEntries((await eventsOf(c.id)).map((e) => [e.event, e]));
  assert.equal(evs.ts_orig.at, evs.ts_orig.received_at - 10_000);
  assert.equal(evs.ts_own_sent.at, evs.ts_own_sent.received_at - 3000);
  assert.equal(evs.ts_given.at, Date.parse('2024-05-01T08:00:00.123Z'));
  assert.equal(evs.ts_none.at, evs.ts_none.received_at);
  assert.equal(evs.ts_orig_only.at, t0 + 777);
  const now = Date.now();
  assert.ok(Math.abs(evs.ts_none.received_at - now) < 60_000);
  // a contact's events come newest first
  const order = (await eventsOf(c.id)).map((e) => e.at);
  assert.deepEqual(order, [...order].sort((a, b) => b - a));
});

// ---------------------------------------------------------------- identity

test('identity: an anonymous visitor merges into the identified contact on identify', async () => {
  await ok('identify', { userId: 'idm-u1', traits: { name: '周七', phone: '13600000007' }, messageId: mid() });
  const y = await contactOf('user_id', 'idm-u1');
  await ok('batch', { batch: [
    { type: 'page', anonymousId: 'idm-anon', name: '落地页', properties: { url: 'https://x.cn/l' }, messageId: mid() },
    { type: 'track', anonymousId: 'idm-anon', event: 'view_item', properties: { sku: 'S9' }, messageId: mid() },
  ] });
  const x = await contactOf('anonymous_id', 'idm-anon');
  assert.notEqual(x.id, y.id, 'the anonymous visitor got a contact of its own');
  assert.equal(x.name, null);
  const ch = await admin.get(`/api/v1/channels/${x.source_id}`);
  assert.equal(ch.body?.code, 'sdk', ch.text);
  assert.equal((await profile(x.id)).event_counts.view_item, 1);
  // the visitor signs in
  await ok('identify', { userId: 'idm-u1', anonymousId: 'idm-anon', messageId: mid() });
  const y2 = await contactOf('user_id', 'idm-u1');
  assert.equal(y2.id, y.id, 'the identified contact survives');
  assert.ok(y2.merged_ids.includes(x.id), JSON.stringify(y2));
  assert.equal((await contactOf('anonymous_id', 'idm-anon')).id, y.id);
  assert.equal(y2.name, '周七');
  const evs = await eventsOf(y.id);
  assert.deepEqual(evs.map((e) => e.event).sort(), ['$identify', '$identify', '$page', 'view_item']);
  const p = await profile(y.id);
  assert.equal(p.event_counts.view_item, 1);
  assert.equal(p.event_counts.$page, 1);
  // reading the merged-away contact leads to the survivor
  const old = await admin.get(`/api/v1/contacts/${x.id}/events?source=user`);
  assert.equal(old.status, 200, old.text);
  assert.equal(old.body.total, 4);
  // later anonymous events land on the survivor too
  await ok('track', { anonymousId: 'idm-anon', event: 'share', messageId: mid() });
  assert.equal((await profile(y.id)).event_counts.share, 1);
});

test('identity: two userIds sharing one phone are never merged; the conflict is listed and can be dismissed', async () => {
  await ok('identify', { userId: 'cf-u1', traits: { name: '钱一', phone: '13500000001' }, messageId: mid() });
  await ok('identify', { userId: 'cf-u2', traits: { name: '钱二' }, messageId: mid() });
  const a = await contactOf('user_id', 'cf-u1');
  const b = await contactOf('user_id', 'cf-u2');
  const before = (await admin.get('/api/v1/identity/conflicts?status=all')).body.total;
  // cf-u2 now claims cf-u1's phone
  await ok('identify', { userId: 'cf-u2', traits: { phone: '13500000001' }, messageId: 'cf-claim' });
  const a2 = await contactOf('user_id', 'cf-u1');
  const b2 = await contactOf('user_id', 'cf-u2');
  assert.notEqual(a2.id, b2.id, 'not merged');
  assert.equal(a2.id, a.id);
  assert.equal(b2.id, b.id);
  assert.deepEqual(a2.merged_ids, []);
  assert.deepEqual(b2.merged_ids, []);
  assert.equal(a2.name, '钱一');
  assert.equal(b2.name, '钱二');
  assert.equal((await contactOf('phone', '13500000001')).id, a.id, 'the phone stays where it was');
  const list = await admin.get('/api/v1/identity/conflicts');
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.total, before + 1);
  const cf = list.body.items.find((i) => i.message_id === 'cf-claim');
  assert.ok(cf, list.text);
  assert.equal(cf.identity_type, 'phone');
  assert.equal(cf.identity_value, '+8613500000001');
  assert.deepEqual([cf.contact_id, cf.other_contact_id].sort(), [a.id, b.id].sort());
  assert.equal(cf.status, 'open');
  // dismiss it
  const d = await admin.post(`/api/v1/identity/conflicts/${cf.id}/dismiss`);
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.status, 'dismissed');
  assertError(await admin.post(`/api/v1/identity/conflicts/${cf.id}/dismiss`), 404, 'not_found');
  assert.ok(!(await admin.get('/api/v1/identity/conflicts')).body.items.some((i) => i.id === cf.id));
  assert.ok((await admin.get('/api/v1/identity/conflicts?status=dismissed')).body.items.some((i) => i.id === cf.id));
  assertError(await admin.get('/api/v1/identity/conflicts?status=maybe'), 400, 'invalid_argument', /maybe/);
});

test('identity: a new userId with a phone that belongs to another userId does not take over that contact', {
}, async () => {
  await ok('identify', { userId: 'cfa-u1', traits: { name: '孙甲', phone: '13511112222' }, messageId: mid() });
  const a = await contactOf('user_id', 'cfa-u1');
  await ok('identify', { userId: 'cfa-u2', traits: { name: '孙乙', phone: '13511112222' }, messageId: 'cfa-claim' });
  await ok('track', { userId: 'cfa-u2', event: 'after_claim', messageId: mid() });
  const a2 = await contactOf('user_id', 'cfa-u1');
  assert.equal(a2.name, '孙甲', 'the other person\'s traits did not overwrite this contact');
  assert.equal((await profile(a.id)).event_counts.$identify, 1, 'cfa-u2\'s identify is not on cfa-u1\'s contact');
  const b = await contactOf('user_id', 'cfa-u2');
  assert.notEqual(b.id, a.id);
  assert.equal(b.name, '孙乙');
  const p = await profile(b.id);
  assert.equal(p.event_counts.$identify, 1);
  assert.equal(p.event_counts.after_claim, 1);
});

test('identity: two users signing in on one device (same anonymousId) keep their own contacts', {
}, async () => {
  await ok('identify', { userId: 'dev-v', anonymousId: 'dev-shared', traits: { name: '卫先生', email: 'v@dev.example.cn' }, messageId: mid() });
  const v = await contactOf('user_id', 'dev-v');
  await ok('identify', { userId: 'dev-u', anonymousId: 'dev-shared', traits: { name: '于女士', email: 'u@dev.example.cn' }, messageId: mid() });
  await ok('track', { userId: 'dev-u', anonymousId: 'dev-shared', event: 'dev_bought', messageId: mid() });
  await ok('track', { userId: 'dev-u', anonymousId: 'dev-shared', event: 'dev_bought', messageId: mid() });
  const v2 = await contactOf('user_id', 'dev-v');
  assert.equal(v2.name, '卫先生');
  assert.equal(v2.email, 'v@dev.example.cn');
  assert.equal((await profile(v.id)).event_counts.dev_bought, undefined, 'dev-u\'s events are not on dev-v\'s contact');
  const u = await contactOf('user_id', 'dev-u');
  assert.notEqual(u.id, v.id);
  assert.equal(u.name, '于女士');
  assert.equal((await profile(u.id)).event_counts.dev_bought, 2);
  const cf = (await admin.get('/api/v1/identity/conflicts?limit=500')).body.items.filter((i) => i.identity_value === 'dev-u' || i.identity_value === 'dev-shared');
  assert.ok(cf.length <= 1, `one conflict, not one per message: ${JSON.stringify(cf)}`);
});

test('alias joins previousId to userId: earlier anonymous events follow the user', async () => {
  await ok('track', { anonymousId: 'al-dev', event: 'checkin', properties: { store: 'BJ01' }, messageId: mid() });
  await ok('identify', { userId: 'al-u1', traits: { name: '吴九' }, messageId: mid() });
  const u = await contactOf('user_id', 'al-u1');
  await ok('alias', { userId: 'al-u1', previousId: 'al-dev', messageId: mid() });
  assert.equal((await contactOf('anonymous_id', 'al-dev')).id, u.id);
  const p = await profile(u.id);
  assert.equal(p.event_counts.checkin, 1);
  assert.equal(p.event_counts.$alias, 1);
  // alias needs both ids
  await storesNothing(async () => {
    assertError(await send('alias', { userId: 'al-u1' }), 400, 'invalid_argument', /previousId/);
    assertError(await send('alias', { previousId: 'al-dev' }), 400, 'invalid_argument', /userId/);
  });
});

// ---------------------------------------------------------------- orders

test('orders: amounts parsed exactly into fen, an order_id counted once, refunds subtract; rules are settings', async () => {
  const u = 'ord-u1';
  await ok('batch', { batch: [
    { type: 'track', userId: u, event: 'order_paid', properties: { order_id: 'O-1', amount: '19.90', category: '美妆', sku: 'K1' }, messageId: mid() },
    { type: 'track', userId: u, event: 'order_paid', properties: { order_id: 'O-1', amount: '19.90' }, messageId: mid() },
    { type: 'track', userId: u, event: 'order_paid', properties: { order_id: 'O-2', amount: 0.1 }, messageId: mid() },
    { type: 'track', userId: u, event: 'Order Completed', properties: { order_id: 'O-3', revenue: 1234.5 }, messageId: mid() },
    { type: 'track', userId: u, event: 'Order Completed', properties: { order_id: 'O-4', total: '88' }, messageId: mid() },
  ] });
  const c = await contactOf('user_id', u);
  let p = await profile(c.id);
  assert.equal(p.orders, 4);
  assert.equal(p.spend_fen, 1990 + 10 + 123450 + 8800);
  assert.ok(p.last_order_at > 0);
  // the same order_id in a later request is not counted again
  await ok('track', { userId: u, event: 'order_paid', properties: { order_id: 'O-1', amount: '19.90' }, messageId: mid() });
  // refunds subtract, once per order_id
  await ok('track', { userId: u, event: 'order_refunded', properties: { order_id: 'O-1', amount: '19.90' }, messageId: mid() });
  await ok('track', { userId: u, event: 'order_refunded', properties: { order_id: 'O-1', amount: '19.90' }, messageId: mid() });
  await ok('track', { userId: u, event: 'Order Refunded', properties: { order_id: 'O-4', total: 8 }, messageId: mid() });
  p = await profile(c.id);
  assert.equal(p.orders, 4);
  assert.equal(p.spend_fen, 10 + 123450 + 8800 - 800);
  assert.equal(p.event_counts.order_paid, 4);
  assert.equal(p.event_counts.order_refunded, 2);
  // amounts that are not exact yuan are stored as events but not counted
  await ok('batch', { batch: [
    { type: 'track', userId: u, event: 'order_paid', properties: { order_id: 'O-5', amount: '19.999' }, messageId: mid() },
    { type: 'track', userId: u, event: 'order_paid', properties: { order_id: 'O-6', amount: 'abc' }, messageId: mid() },
    { type: 'track', userId: u, event: 'order_paid', properties: { order_id: 'O-7', amount: 1e300 }, messageId: mid() },
  ] });
  p = await profile(c.id);
  assert.equal(p.orders, 4);
  assert.equal(p.spend_fen, 10 + 123450 + 8800 - 800);
  assert.equal(p.event_counts.order_paid, 7);
  const first = (await eventsOf(c.id, '&event=order_paid')).find((e) => e.properties.amount === '19.90' && e.revenue_fen);
  assert.equal(first.revenue_fen, 1990);
  assert.equal(first.order, 'order');

  // settings: a custom order event
  const s0 = await admin.get('/api/v1/events/settings');
  assert.equal(s0.status, 200, s0.text);
  assert.deepEqual(s0.body.orders.map((r) => r.event).sort(), ['Order Completed', 'order_paid']);
  const bad = await admin.put('/api/v1/events/settings', { orders: [{ event: 'purchase' }], refunds: [] });
  assertError(bad, 400, 'invalid_argument', /amount/);
  assertError(await admin.put('/api/v1/events/settings', { orders: [], refunds: [], extra: 1 }), 400, 'invalid_argument', /extra/);
  assert.deepEqual((await admin.get('/api/v1/events/settings')).body, s0.body, 'bad settings changed nothing');
  const put = await admin.put('/api/v1/events/settings', { orders: [...s0.body.orders, { event: 'purchase', amount: ['price'] }], refunds: s0.body.refunds });
  assert.equal(put.status, 200, put.text);
  await ok('track', { userId: u, event: 'purchase', properties: { order_id: 'P-1', price: '5.05' }, messageId: mid() });
  p = await profile(c.id);
  assert.equal(p.orders, 5);
  assert.equal(p.event_counts.order_paid, 7);
  assert.equal(p.spend_fen, 10 + 123450 + 8800 - 800 + 505);
  const restore = await admin.put('/api/v1/events/settings', s0.body);
  assert.equal(restore.status, 200, restore.text);
});

// ---------------------------------------------------------------- catalog and schemas

test('catalog: names with counts and property stats; a declared schema is enforced on ingestion', async () => {
  await ok('batch', { batch: [
    { type: 'track', userId: 'sc-u1', event: 'signup_done', properties: { plan: 'pro', amount: 10 }, messageId: mid() },
    { type: 'track', userId: 'sc-u1', event: 'signup_done', properties: { plan: 'free' }, messageId: mid() },
  ] });
  let one = await admin.get('/api/v1/events/catalog/signup_done');
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.count, 2);
  assert.equal(one.body.schema, null);
  const plan = one.body.properties.find((p) => p.name === 'plan');
  const amount = one.body.properties.find((p) => p.name === 'amount');
  assert.equal(plan.fill_rate, 1);
  assert.equal(amount.fill_rate, 0.5);
  assert.equal(amount.type, 'number');
  assert.ok(Array.isArray(one.body.daily) && one.body.daily.length > 0);
  assertError(await admin.get('/api/v1/events/catalog/never_sent'), 404, 'not_found');

  // bad schemas change nothing
  assertError(await admin.put('/api/v1/events/catalog/signup_done', { schema: { properties: { amount: 'money' } } }), 400, 'invalid_argument', /amount/);
  assertError(await admin.put('/api/v1/events/catalog/signup_done', { schema: { required: 'plan' } }), 400, 'invalid_argument', /required/);
  assertError(await admin.put('/api/v1/events/catalog/signup_done', { schema: { required: [] }, color: 'red' }), 400, 'invalid_argument', /color/);
  assertError(await admin.put('/api/v1/events/catalog/never_sent', { schema: { required: ['x'] } }), 404, 'not_found');
  assert.equal((await admin.get('/api/v1/events/catalog/signup_done')).body.schema, null);

  const schema = { required: ['plan'], properties: { amount: 'number', plan: 'string' } };
  const put = await admin.put('/api/v1/events/catalog/signup_done', { schema, description: '注册完成' });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.body.schema, schema);
  one = await admin.get('/api/v1/events/catalog/signup_done');
  assert.deepEqual(one.body.schema, schema);
  assert.equal(one.body.description, '注册完成');

  let r;
  await storesNothing(async () => {
    r = await send('batch', { batch: [
      { type: 'track', userId: 'sc-u2', event: 'signup_done', properties: { plan: 'pro', amount: 5 } },
      { type: 'track', userId: 'sc-u2', event: 'signup_done', properties: { amount: 5 } },
      { type: 'track', userId: 'sc-u2', event: 'signup_done', properties: { plan: 'pro', amount: 'abc' } },
      { type: 'track', userId: 'sc-u2', event: 'signup_done' },
    ] });
    assertError(r, 400, 'invalid_argument', /^message 1: properties\.plan is required by the declared schema/);
    assertError(await send('track', { userId: 'sc-u2', event: 'signup_done', properties: { plan: 7 } }), 400, 'invalid_argument', /plan must be of type string/);
  });
  const got = r.body.error.details.errors.map((e) => `${e.index}:${e.field}`).sort();
  assert.deepEqual(got, ['1:properties.plan', '2:properties.amount', '3:properties.plan']);
  assert.match(r.body.error.details.errors.find((e) => e.index === 2).reason, /number/);
  assert.equal((await lookup('user_id', 'sc-u2')).status, 404);
  await ok('track', { userId: 'sc-u2', event: 'signup_done', properties: { plan: 'pro', amount: 5.5 } });
  // clearing the schema lifts the check
  const clear = await admin.put('/api/v1/events/catalog/signup_done', { schema: null });
  assert.equal(clear.status, 200, clear.text);
  await ok('track', { userId: 'sc-u2', event: 'signup_done', properties: { amount: 'abc' } });
  const cat = await admin.get('/api/v1/events/catalog');
  const item = cat.body.items.find((i) => i.name === 'signup_done');
  assert.equal(item.count, 4);
  assert.equal(item.description, '注册完成');
});

// ---------------------------------------------------------------- reading events

test('a contact\'s events: pagination, filters by name and time, bad arguments; events by name across contacts', async () => {
  const base = Date.parse('2025-03-01T00:00:00.000Z');
  const batch = [];
  for (let i = 0; i < 7; i++)
    batch.push({ type: 'track', userId: 'rd-u1', event: i % 2 ? 'rd_odd' : 'rd_even', properties: { i }, timestamp: new Date(base + i * 60_000).toISOString(), messageId: `rd-${i}` });
  await ok('batch', { batch });
  const c = await contactOf('user_id', 'rd-u1');
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const r = await admin.get(`/api/v1/contacts/${c.id}/events?source=user&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.total, 7);
    assert.ok(r.body.items.length <= 3);
    seen.push(...r.body.items.map((e) => e.properties.i));
    cursor = r.body.next_cursor;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen, [6, 5, 4, 3, 2, 1, 0]);
  const odd = await eventsOf(c.id, '&event=rd_odd');
  assert.deepEqual(odd.map((e) => e.properties.i), [5, 3, 1]);
  assert.deepEqual(await eventsOf(c.id, '&event=no_such_event'), []);
  const win = await eventsOf(c.id, `&from=${base + 60_000}&to=${new Date(base + 3 * 60_000).toISOString()}`);
  assert.deepEqual(win.map((e) => e.properties.i), [2, 1], 'from inclusive, to exclusive');
  assertError(await admin.get(`/api/v1/contacts/${c.id}/events?limit=0`), 400, 'invalid_argument', /limit/);
  assertError(await admin.get(`/api/v1/contacts/${c.id}/events?limit=501`), 400, 'invalid_argument', /limit/);
  assertError(await admin.get(`/api/v1/contacts/${c.id}/events?from=last-week`), 400, 'invalid_argument', /from/);
  assertError(await admin.get(`/api/v1/contacts/${c.id}/events?cursor=abc`), 400, 'invalid_argument', /cursor/);
  assertError(await admin.get('/api/v1/contacts/99999999/events'), 404, 'not_found');
  assertError(await admin.get('/api/v1/contacts/99999999/profile'), 404, 'not_found');
  const p = await profile(c.id);
  assert.equal(p.first_seen, base);
  assert.equal(p.last_seen, base + 6 * 60_000);
  assert.deepEqual(p.event_counts, { rd_even: 4, rd_odd: 3 });
  // events by name and time across contacts
  const all = await admin.get('/api/v1/events?event=rd_even&limit=2');
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.body.items.map((e) => e.properties.i), [6, 4]);
  assert.ok(all.body.next_cursor);
  const rest = await admin.get(`/api/v1/events?event=rd_even&limit=10&cursor=${all.body.next_cursor}`);
  assert.deepEqual(rest.body.items.map((e) => e.properties.i), [2, 0]);
  const byTime = await admin.get(`/api/v1/events?event=rd_odd&from=${base + 2 * 60_000}&to=${base + 4 * 60_000}`);
  assert.deepEqual(byTime.body.items.map((e) => e.properties.i), [3]);
});

// ---------------------------------------------------------------- permissions

test('data scopes: a sales user cannot read events or profiles of contacts outside their scope', async () => {
  await ok('identify', { userId: 'perm-u1', traits: { name: '郑十' }, messageId: mid() });
  await ok('track', { userId: 'perm-u1', event: 'perm_probe', messageId: mid() });
  const c = await contactOf('user_id', 'perm-u1');
  assert.equal(c.owner_id, null);
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  assert.ok(sales, 'demo has a sales user');
  const s = await srv.login(sales.username, sales.password);
  assertError(await s.get(`/api/v1/contacts/${c.id}/events`), 404, 'not_found');
  assertError(await s.get(`/api/v1/contacts/${c.id}/profile`), 404, 'not_found');
  const tl = await s.get(`/api/v1/contacts/${c.id}/timeline`);
  assert.equal(tl.status, 404, tl.text);
  // another staff member's demo contact with demo events
  const others = await admin.get(`/api/v1/contacts?limit=500`);
  const theirs = others.body.items.find((x) => x.owner_id && x.owner_id !== sales.id);
  assert.ok(theirs);
  assert.ok((await profile(theirs.id)).events > 0, 'demo contacts have events');
  assertError(await s.get(`/api/v1/contacts/${theirs.id}/events`), 404, 'not_found');
  // events across contacts leave out what the user may not see
  const list = await s.get('/api/v1/events?event=perm_probe');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.items, []);
  assert.equal((await admin.get('/api/v1/events?event=perm_probe')).body.items.length, 1);
  // their own contact's events are readable
  const mine = (await s.get('/api/v1/contacts?limit=1')).body.items[0];
  if (mine) assert.equal((await s.get(`/api/v1/contacts/${mine.id}/events`)).status, 200);
  // changing schemas and order rules is not for sales
  assertError(await s.put('/api/v1/events/catalog/perm_probe', { schema: null }), 403, 'permission_denied');
  assertError(await s.put('/api/v1/events/settings', { orders: [], refunds: [] }), 403, 'permission_denied');
});

// ---------------------------------------------------------------- export

test('siyu export events writes every stored event as JSON Lines', async () => {
  await ok('track', { userId: 'exp-u1', event: 'exp_probe', properties: { 城市: '成都', n: 1 }, messageId: 'exp-1' });
  const file = path.join(srv.dir, 'events.jsonl');
  const r = runSiyu(['export', 'events', '--data', srv.dir, '--to', file]);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const { events } = await metrics();
  assert.match(r.stdout, new RegExp(`exported ${lines.length} events`));
  const rows = lines.map((l) => JSON.parse(l));
  assert.equal(rows.filter((x) => !SYSTEM_EVENTS.has(x.event)).length, events);
  const row = rows.find((x) => x.messageId === 'exp-1');
  const c = await contactOf('user_id', 'exp-u1');
  assert.equal(row.contact_id, c.id);
  assert.equal(row.event, 'exp_probe');
  assert.deepEqual(row.properties, { 城市: '成都', n: 1 });
  assert.equal(typeof row.timestamp, 'number');
  assert.equal(typeof row.received_at, 'number');
  // messageIds are unique per write key; only wk-same was sent with two keys
  const ids = rows.map((x) => x.messageId).filter((x) => x && x !== 'wk-same');
  assert.equal(new Set(ids).size, ids.length, 'no messageId exported twice');
  assert.equal(rows.filter((x) => x.messageId === 'wk-same').length, 2);
  // bad usage
  const bad = runSiyu(['export', 'events', '--data', srv.dir]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr + bad.stdout, /--to/);
});

// ---------------------------------------------------------------- demo data

test('demo events: none in the future, no two events of one contact in the same second', {
}, async () => {
  const file = path.join(srv.dir, 'demo-events.jsonl');
  const r = runSiyu(['export', 'events', '--data', srv.dir, '--to', file]);
  assert.equal(r.status, 0, r.stderr);
  const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.messageId?.startsWith('demo-'));
  assert.ok(rows.length > 0);
  const now = Date.now();
  const future = rows.filter((x) => x.timestamp > now);
  const seen = new Map();
  const clashes = [];
  for (const x of rows) {
    const k = `${x.contact_id}/${Math.floor(x.timestamp / 1000)}`;
    if (seen.has(k)) clashes.push(`${seen.get(k)} & ${x.event} (contact ${x.contact_id})`);
    else seen.set(k, x.event);
  }
  assert.deepEqual(clashes.slice(0, 3), [], `${clashes.length} same-second pairs`);
  assert.deepEqual(future.map((x) => x.messageId), [], 'demo events after now');
});

// ---------------------------------------------------------------- merges and restart

test('an identify merge can be undone by an admin; after a restart the index, merges and messageIds are rebuilt', async () => {
  await ok('identify', { userId: 'un-u1', traits: { name: '冯十一' }, messageId: 'un-1' });
  await ok('track', { anonymousId: 'un-anon', event: 'un_browse', messageId: 'un-2' });
  const x = await contactOf('anonymous_id', 'un-anon');
  await ok('identify', { userId: 'un-u1', anonymousId: 'un-anon', messageId: 'un-3' });
  const y = await contactOf('user_id', 'un-u1');
  assert.ok(y.merged_ids.includes(x.id));
  assert.equal((await profile(y.id)).event_counts.un_browse, 1);
  const tl = await admin.get(`/api/v1/contacts/${y.id}/timeline`);
  const merge = tl.body.items.find((i) => i.kind === 'merge' && i.loser_id === x.id);
  assert.ok(merge, tl.text);
  const undo = await admin.post(`/api/v1/contacts/merges/${merge.merge_id}/undo`);
  assert.equal(undo.status, 200, undo.text);
  assert.equal((await profile(y.id)).event_counts.un_browse, undefined, 'the event went back');
  assert.equal((await profile(x.id)).event_counts.un_browse, 1);

  const before = {
    metrics: await metrics(),
    catalog: await catalogCounts(),
    x: await profile(x.id),
    y: await profile(y.id),
    ord: await profile((await contactOf('user_id', 'ord-u1')).id),
  };
  await srv.stop();
  const dir = srv.dir;
  const demo = srv.demo;
  srv = await startServer({ dataDir: dir });
  srv.demo = demo;
  admin = new Client(srv.base, { token: demo.admin.api_token });
  const m = await metrics();
  assert.equal(m.events, before.metrics.events);
  assert.deepEqual(await catalogCounts(), before.catalog);
  assert.deepEqual(userProfile(await profile(x.id)), userProfile(before.x));
  assert.deepEqual(userProfile(await profile(y.id)), userProfile(before.y));
  assert.deepEqual(userProfile(await profile(before.ord.contact_id)), userProfile(before.ord));
  // messageIds are remembered across the restart; order_ids too
  await ok('batch', { batch: [
    { type: 'track', userId: 'un-u1', event: 'un_again', messageId: 'un-2' },
    { type: 'track', userId: 'dup-u1', event: 'dup', messageId: 'dup-inner' },
  ] });
  await ok('track', { userId: 'ord-u1', event: 'order_paid', properties: { order_id: 'O-1', amount: '19.90' }, messageId: mid() });
  const m2 = await metrics();
  assert.equal(m2.events, m.events + 1);
  assert.equal(m2.duplicates, m.duplicates + 2);
  const ord = await profile(before.ord.contact_id);
  assert.equal(ord.orders, before.ord.orders);
  assert.equal(ord.spend_fen, before.ord.spend_fen);
});

test('phones in event traits are masked for viewers without contacts.phone', async () => {
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  const phone = '13912340000';
  await ok('identify', { userId: `mask-${sales.id}`, traits: { phone, name: '遮罩' }, messageId: mid('mask') });
  const found = await admin.get(`/api/v1/contacts/lookup?type=user_id&value=mask-${sales.id}`);
  assert.equal(found.status, 200, found.text);
  const id = found.body.id;
  // the admin sees the number; give the contact to the sales user, who must not
  const adminEv = await admin.get(`/api/v1/contacts/${id}/events?event=$identify`);
  assert.equal(adminEv.body.items[0].traits.phone, phone);
  const moved = await admin.patch(`/api/v1/contacts/${id}`, { owner_id: sales.id });
  assert.equal(moved.status, 200, moved.text);
  const c = await srv.login(sales.username, sales.password);
  for (const url of [`/api/v1/contacts/${id}/events?event=$identify`, `/api/v1/contacts/${id}/timeline`]) {
    const r = await c.get(url);
    assert.equal(r.status, 200, r.text);
    const ev = r.body.items.find((i) => i.kind === 'event' && i.event === '$identify');
    assert.ok(ev, url);
    assert.equal(ev.traits.phone, '139****0000', url);
    assert.ok(!r.text.includes(phone), `${url} leaks the phone`);
  }
});

test('a contact\'s events can be limited to what the customer did or what siyu recorded', async () => {
  const user = `src-${process.pid}`;
  await ok('track', { userId: user, event: 'src_view', messageId: mid() });
  const id = (await contactOf('user_id', user)).id;
  const sys = await until(async () => {
    const r = await admin.get(`/api/v1/contacts/${id}/events?source=system`);
    return r.body.items.length ? r.body : null;
  }, 5000);
  assert.ok(sys, 'the new contact got a life-cycle stage, recorded as a system event');
  assert.ok(sys.items.every((e) => e.source === 'system'));
  const usr = (await admin.get(`/api/v1/contacts/${id}/events?source=user`)).body;
  assert.deepEqual(usr.items.map((e) => e.event), ['src_view']);
  const all = (await admin.get(`/api/v1/contacts/${id}/events`)).body;
  assert.equal(all.total, usr.total + sys.total);
  assertError(await admin.get(`/api/v1/contacts/${id}/events?source=robots`), 400, 'invalid_argument', /source/);
});
