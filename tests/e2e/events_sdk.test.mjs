// Real Segment-compatible clients from npm against a real siyu server:
// @segment/analytics-node (plain JSON, writeKey in header and body) and
// @rudderstack/rudder-sdk-node (gzip on: Content-Encoding gzip with a wrong
// Content-Type). A small proxy between client and server forces retries —
// once by failing a request before the server sees it, once by letting the
// server commit and then losing the answer — so the SDK re-sends the same
// messageIds. Every event must then be stored exactly once, on the right
// contact, with the properties the client sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { startServer } from './harness.mjs';

let srv;
let admin;
let proxy;
let mergedCase = null;

// A proxy that records every request (decoded) and follows a plan for the
// next requests: 'fail' answers 500 without forwarding, 'lose-answer'
// forwards (the server commits) and then answers 503, anything else forwards.
function startProxy(target) {
  const p = { requests: [], plan: [] };
  p.server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    let json = null;
    try {
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      json = JSON.parse(text.toString('utf8'));
    } catch { /* recorded as null */ }
    const action = p.plan.shift() || 'forward';
    p.requests.push({ url: req.url, headers: req.headers, json, action });
    if (action === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"injected failure"}');
      return;
    }
    const headers = {};
    for (const h of ['authorization', 'content-type', 'content-encoding', 'user-agent', 'x-retry-count'])
      if (req.headers[h]) headers[h] = req.headers[h];
    const r = await fetch(target + req.url, { method: req.method, headers, body: raw });
    const text = await r.text();
    p.answers = p.answers || [];
    p.answers.push({ status: r.status, text });
    if (action === 'lose-answer') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"injected: answer lost"}');
      return;
    }
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') || 'application/json' });
    res.end(text);
  });
  return new Promise((resolve) => p.server.listen(0, '127.0.0.1', () => {
    p.base = `http://127.0.0.1:${p.server.address().port}`;
    resolve(p);
  }));
}

// Every message the clients sent through the proxy, by messageId.
function sentMessages(pred = () => true) {
  const out = new Map();
  for (const r of proxy.requests)
    for (const m of r.json?.batch || []) if (pred(m, r)) out.set(m.messageId, m);
  return out;
}

async function contactOf(type, value) {
  const r = await admin.get(`/api/v1/contacts/lookup?type=${type}&value=${encodeURIComponent(value)}`);
  assert.equal(r.status, 200, `${type}=${value}: ${r.text}`);
  return r.body;
}

async function eventsOf(contactId) {
  const items = [];
  let cursor = null;
  do {
    const r = await admin.get(`/api/v1/contacts/${contactId}/events?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    items.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  return items.filter((e) => e.source !== 'system'); // siyu's own (lifecycle_changed …) are not the SDK's
}

// siyu_events_total less the events siyu records itself (lifecycle_changed
// …), which arrive asynchronously after the ingestion that caused them.
const SYSTEM_EVENTS = new Set(['lifecycle_changed', 'segment_entered', 'segment_exited', 'tag_added', 'tag_removed']);
async function metric(name) {
  if (name === 'siyu_events_total') {
    const r = await admin.get('/api/v1/events/catalog');
    return r.body.items.filter((i) => !SYSTEM_EVENTS.has(i.name)).reduce((a, i) => a + i.count, 0);
  }
  const r = await srv.anon.get('/metrics');
  const m = r.text.match(new RegExp(`^${name} (\\d+)`, 'm'));
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

// Asserts that each sent message is stored exactly once, on `contact` (or a
// contact merged into it: see the merge test below), with the properties the
// client sent.
function assertStoredOnce(stored, sent, contactId, mergedIds = []) {
  const byId = new Map();
  for (const e of stored) byId.set(e.message_id, (byId.get(e.message_id) || 0) + 1);
  for (const [id, m] of sent) {
    assert.equal(byId.get(id), 1, `messageId ${id} (${m.type} ${m.event || ''}) stored ${byId.get(id) || 0} times`);
    const e = stored.find((x) => x.message_id === id);
    assert.ok([contactId, ...mergedIds].includes(e.contact_id), `messageId ${id} on contact ${e.contact_id}, expected ${contactId}`);
    assert.equal(e.type, m.type);
    if (m.type === 'track') assert.equal(e.event, m.event);
    if (m.properties && Object.keys(m.properties).length) assert.deepEqual(e.properties, m.properties, `properties of ${id}`);
  }
}

before(async () => {
  srv = await startServer({ contacts: 50 });
  admin = srv.admin();
  proxy = await startProxy(srv.base);
});
after(async () => {
  proxy?.server.closeAllConnections();
  proxy?.server.close();
  await srv.stop();
  srv.cleanup();
});

test('@segment/analytics-node: identify, page, track, alias with a forced retry; each event once on the right contact', async () => {
  const before = await metric('siyu_events_total');
  const start = proxy.requests.length;
  const errors = [];
  const seg = new SegmentAnalytics({
    writeKey: srv.demo.write_key, host: proxy.base, flushAt: 4, flushInterval: 100, maxRetries: 3,
  });
  seg.on('error', (e) => errors.push(e));
  // The first request fails before the server sees it: the SDK must re-send it.
  proxy.plan.push('fail');
  const historic = new Date('2026-05-01T08:00:00.000Z');
  // An anonymous visitor browses first …
  seg.page({ anonymousId: 'seg-anon-1', name: '首页', category: 'shop', properties: { url: 'https://shop.example.cn/', title: '首页' } });
  seg.track({ anonymousId: 'seg-anon-1', event: 'view_item', properties: { sku: 'SKU-9', category: '服饰', price: 59.5 } });
  // … then signs in.
  seg.identify({ userId: 'seg-u1', anonymousId: 'seg-anon-1', traits: { name: '李雷', phone: '13700000001', email: 'lilei@example.cn', plan: 'gold' } });
  seg.track({ userId: 'seg-u1', event: 'Order Completed', timestamp: historic, properties: { order_id: 'SEG-1', revenue: 199.9, currency: 'CNY', products: [{ sku: 'SKU-9', quantity: 2 }] } });
  seg.track({ userId: 'seg-u1', event: 'share', properties: { channel: 'wechat', note: '分享给朋友' } });
  // A second device, still anonymous, later joined to the user by alias.
  seg.track({ anonymousId: 'seg-anon-2', event: 'checkin', properties: { store: 'SH001' } });
  await seg.closeAndFlush({ timeout: 20000 });
  // A closed client drops calls: a second one sends the alias.
  const seg2 = new SegmentAnalytics({ writeKey: srv.demo.write_key, host: proxy.base, flushAt: 1, maxRetries: 3 });
  seg2.on('error', (e) => errors.push(e));
  seg2.alias({ userId: 'seg-u1', previousId: 'seg-anon-2' });
  seg2.track({ anonymousId: 'seg-anon-2', event: 'coupon_claim', properties: { coupon: 'C-2' } });
  await seg2.closeAndFlush({ timeout: 20000 });
  assert.deepEqual(errors, []);

  const reqs = proxy.requests.slice(start);
  // The SDK really retried: the failed request's messageIds were sent again.
  const failed = reqs.find((r) => r.action === 'fail');
  assert.ok(failed, 'the injected failure was hit');
  const retried = reqs.find((r) => r !== failed && r.json?.batch?.[0]?.messageId === failed.json.batch[0].messageId);
  assert.ok(retried, 'the SDK re-sent the failed batch with the same messageIds');
  assert.equal(retried.headers['x-retry-count'], '1');
  // What analytics-node sends: Basic auth with the write key, and writeKey in the body.
  assert.equal(reqs[0].headers.authorization, `Basic ${Buffer.from(`${srv.demo.write_key}:`).toString('base64')}`);
  assert.equal(reqs[0].json.writeKey, srv.demo.write_key);

  const sent = sentMessages((m, r) => reqs.includes(r));
  assert.equal(sent.size, 8);
  const c = await contactOf('user_id', 'seg-u1');
  assert.equal(c.name, '李雷');
  assert.equal(c.phone, '+8613700000001');
  assert.equal(c.email, 'lilei@example.cn');
  const ids = c.identities.map((i) => `${i.type}:${i.value}`);
  for (const want of ['user_id:seg-u1', 'anonymous_id:seg-anon-1', 'anonymous_id:seg-anon-2', 'phone:+8613700000001'])
    assert.ok(ids.includes(want), `${want} in ${ids}`);
  // A contact created from events has the SDK source channel.
  const ch = await admin.get(`/api/v1/channels/${c.source_id}`);
  assert.equal(ch.status, 200, ch.text);
  assert.equal(ch.body.code, 'sdk');
  // Both anonymous ids resolve to the identified contact now.
  assert.equal((await contactOf('anonymous_id', 'seg-anon-1')).id, c.id);
  assert.equal((await contactOf('anonymous_id', 'seg-anon-2')).id, c.id);

  const stored = await eventsOf(c.id);
  assertStoredOnce(stored, sent, c.id, c.merged_ids);
  assert.equal(stored.length, sent.size, 'no other events on this contact');
  mergedCase = { contact: c, stored };
  assert.equal(await metric('siyu_events_total'), before + sent.size, 'nothing stored twice anywhere');

  // The sender's timestamp is kept unchanged.
  const order = stored.find((e) => e.event === 'Order Completed');
  assert.equal(order.at, historic.getTime());
  assert.equal(order.revenue_fen, 19990);
  assert.equal(order.context?.library?.name, '@segment/analytics-node');
  const page = stored.find((e) => e.type === 'page');
  assert.equal(page.event, '$page');
  const prof = await admin.get(`/api/v1/contacts/${c.id}/profile`);
  assert.equal(prof.status, 200, prof.text);
  assert.equal(prof.body.orders, 1);
  assert.equal(prof.body.spend_fen, 19990);
  assert.equal(prof.body.last_order_at, historic.getTime());
  assert.equal(prof.body.event_counts.view_item, 1);
  assert.equal(prof.body.event_counts['Order Completed'], 1);
  assert.equal(prof.body.event_counts.$identify, 1);
  assert.equal(prof.body.event_counts.$alias, 1);
  assert.equal(prof.body.event_counts.coupon_claim, 1);
});

test('@rudderstack/rudder-sdk-node with gzip: a lost answer is retried; each event once, right contact, right properties', async () => {
  const before = await metric('siyu_events_total');
  const dupBefore = await metric('siyu_events_duplicates_total');
  const start = proxy.requests.length;
  const errors = [];
  const rs = new RudderAnalytics(srv.demo.write_key, {
    dataPlaneUrl: proxy.base, flushAt: 3, flushInterval: 100, retryCount: 3, logLevel: 'none',
    errorHandler: (e) => errors.push(e),
  });
  // rudder flushes its first event alone at once; the second request's
  // answer is lost after the server committed it, so the same messageIds
  // arrive twice.
  proxy.plan.push('forward', 'lose-answer');
  const when = new Date('2026-06-18T12:00:00.000Z');
  rs.identify({ userId: 'rs-u1', anonymousId: 'rs-anon-1', traits: { name: '韩梅梅', phone: '13800000002', wechat_unionid: 'o6_bmasdasdsad6_2sgVt7hMZOPfL' } });
  rs.track({ userId: 'rs-u1', event: 'order_paid', properties: { order_id: 'RS-1', amount: '19.90', category: '美妆', sku: 'SKU-1', store: 'GZ001' } });
  rs.track({ userId: 'rs-u1', event: 'order_paid', properties: { order_id: 'RS-2', amount: 100, category: '美妆', sku: 'SKU-2' } });
  rs.page({ anonymousId: 'rs-anon-1', name: '活动页', properties: { url: 'https://m.example.cn/act?utm_source=wx', path: '/act' } });
  await rs.flush();
  rs.track({ userId: 'rs-u1', event: 'order_refunded', timestamp: when, properties: { order_id: 'RS-2', amount: 100 } });
  rs.track({ anonymousId: 'rs-anon-1', event: 'form_submitted', properties: { form: '预约', answers: { 时间: '周六', 人数: 2 } } });
  // The same order again (a second messageId): counted once.
  rs.track({ userId: 'rs-u1', event: 'order_paid', properties: { order_id: 'RS-1', amount: '19.90' } });
  for (let i = 0; i < 5 && (rs.queue.length || rs.pendingFlush); i++) {
    await rs.flush();
    if (!rs.queue.length) break;
  }
  await rs.pendingFlush;
  assert.deepEqual(errors, []);
  assert.equal(rs.queue.length, 0);

  const reqs = proxy.requests.slice(start);
  // What rudder sends with gzip on.
  for (const r of reqs) {
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.match(r.headers['content-type'], /x-www-form-urlencoded/);
    assert.equal(r.json.writeKey, undefined);
  }
  const lost = reqs.find((r) => r.action === 'lose-answer');
  assert.ok(lost, 'the injected lost answer was hit');
  assert.equal(proxy.answers.at(-1).status, 200);
  const again = reqs.filter((r) => r.json?.batch?.[0]?.messageId === lost.json.batch[0].messageId);
  assert.ok(again.length >= 2, 'rudder re-sent the batch whose answer was lost');
  const resent = lost.json.batch.length;

  const sent = sentMessages((m, r) => reqs.includes(r));
  assert.equal(sent.size, 7);
  const c = await contactOf('user_id', 'rs-u1');
  assert.equal(c.name, '韩梅梅');
  assert.equal(c.phone, '+8613800000002');
  assert.equal((await contactOf('wechat_unionid', 'o6_bmasdasdsad6_2sgVt7hMZOPfL')).id, c.id);
  assert.equal((await contactOf('anonymous_id', 'rs-anon-1')).id, c.id);
  const stored = await eventsOf(c.id);
  assertStoredOnce(stored, sent, c.id);
  assert.equal(stored.length, sent.size);
  assert.equal(await metric('siyu_events_total'), before + sent.size);
  assert.ok(await metric('siyu_events_duplicates_total') >= dupBefore + resent, 'the re-sent messages were counted as duplicates');

  // rudder sends originalTimestamp + sentAt: the stored time is corrected
  // for clock skew, i.e. close to the received time here (same clock).
  const form = stored.find((e) => e.event === 'form_submitted');
  assert.ok(Math.abs(form.at - form.received_at) < 5000, `at ${form.at} vs received ${form.received_at}`);
  assert.equal(stored.find((e) => e.event === 'order_refunded').at, when.getTime());
  assert.equal(form.context?.library?.name, 'analytics-node');
  const page = stored.find((e) => e.type === 'page');
  assert.equal(page.properties.url, 'https://m.example.cn/act?utm_source=wx');

  const prof = await admin.get(`/api/v1/contacts/${c.id}/profile`);
  assert.equal(prof.status, 200, prof.text);
  assert.equal(prof.body.orders, 2, 'RS-1 twice counts once');
  assert.equal(prof.body.spend_fen, 1990 + 10000 - 10000);
  assert.equal(prof.body.event_counts.order_paid, 3);
  assert.equal(prof.body.event_counts.order_refunded, 1);
  assert.equal(prof.body.event_counts.$page, 1);
  // The contact timeline shows the events.
  const tl = await admin.get(`/api/v1/contacts/${c.id}/timeline`);
  assert.equal(tl.status, 200, tl.text);
  assert.ok(tl.body.items.some((i) => i.kind === 'event' && i.event === 'form_submitted'), tl.text);
});

test('events of a contact merged by alias report the surviving contact id', {
}, async () => {
  assert.ok(mergedCase, 'the analytics-node test ran');
  const { contact, stored } = mergedCase;
  assert.ok(contact.merged_ids.length > 0, JSON.stringify(contact));
  for (const e of stored) assert.equal(e.contact_id, contact.id, `${e.event} ${e.message_id}`);
});
