// browser_events.test.mjs — the event pages of the console in a real browser
// (Debian chromium via playwright-core) against a real server whose demo
// workspace carries ~90 days of events for its contacts: the catalog
// (数据规范) lists what the API lists, the daily chart draws the API's
// numbers, a declared schema makes ingestion refuse a violating event, a
// contact's 行为 panel shows the API's profile, the write-key snippets, the
// order rules and the identity conflicts list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';
import { WEB_DIST, openBrowser, withArtifacts, uiLogin, pickOption, waitIdle, browserSkipReason } from './browser_helpers.mjs';

const missing = browserSkipReason();
const skip = process.env.CI ? null : missing;

let srv;
let admin; // API client (session) of the demo admin, to check what the UI shows
let b;

before(async () => {
  if (skip) return;
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  srv = await startServer({ contacts: 200, args: ['--web', WEB_DIST] });
  admin = await srv.login();
  b = await openBrowser();
});

after(async () => {
  if (b) await b.close();
  if (srv) { await srv.stop(); srv.cleanup(); }
});

function step(name, fn) {
  test(name, { skip: skip || false }, () => withArtifacts(`browser-events-${name}`, b, () => fn(b.page)));
}

// Sends one Segment call from the page (same origin as the console), with
// the write key as the HTTP Basic user name.
function track(page, body, path = '/v1/track') {
  return page.evaluate(async ({ key, body, path }) => {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${btoa(`${key}:`)}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, { key: srv.demo.write_key, body, path });
}

// Clicks the primary button of the open Element Plus confirmation box.
async function confirmBox(page) {
  const box = page.locator('.el-message-box');
  await box.waitFor();
  await box.locator('.el-message-box__btns .el-button--primary').click();
  await box.waitFor({ state: 'hidden' }).catch(() => {});
}

// The workspace-timezone formatting the console uses (format.js), run in the
// browser so that both sides use the same ICU.
function fmtTimeIn(page, ms) {
  return page.evaluate((v) => (v ? new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).format(new Date(v)) : '—'), ms);
}

step('the catalog lists the API event names and counts', async (page) => {
  await uiLogin(page, srv.base, srv.demo.admin.username, srv.demo.admin.password);
  await page.getByTestId('nav-events').click();
  await page.waitForURL(/\/events/);
  await waitIdle(page);
  const api = (await admin.get('/api/v1/events/catalog')).body.items;
  assert.ok(api.length >= 5, `the demo has events (${api.length} names)`);
  assert.ok(api.some((e) => e.name === 'order_paid'), 'the demo has order_paid');
  await page.getByTestId(`event-name-${api[0].name}`).waitFor();
  const shown = await page.evaluate(() => {
    const out = {};
    for (const el of document.querySelectorAll('[data-test^="event-count-"]')) {
      out[el.getAttribute('data-test').slice('event-count-'.length)] = el.textContent.trim();
    }
    return out;
  });
  assert.deepEqual(Object.keys(shown).sort(), api.map((e) => e.name).sort());
  for (const e of api) assert.equal(shown[e.name], e.count.toLocaleString('zh-CN'), `count of ${e.name}`);
  assert.match(await page.getByTestId('schema-explain').innerText(), /拒绝/);
});

step('order_paid: the daily chart draws the API numbers, the properties their fill rates', async (page) => {
  await page.getByTestId('event-name-order_paid').click();
  await page.waitForURL(/\/events\/order_paid$/);
  const api = (await admin.get('/api/v1/events/catalog/order_paid?days=30')).body;
  assert.equal(api.daily.length, 30);
  assert.ok(api.daily.some((d) => d.count > 0), 'order_paid happened in the last 30 days');
  await page.getByTestId('event-total').getByText(api.count.toLocaleString('zh-CN')).waitFor();
  const chart = page.getByTestId('event-daily-chart');
  await chart.locator('canvas').waitFor();
  // What ECharts holds (the component keeps the instance on its element).
  const drawn = async () => chart.evaluate((el) => {
    const o = el.__chart && el.__chart.getOption();
    return o ? { days: o.xAxis[0].data, counts: o.series[0].data, type: o.series[0].type } : null;
  });
  let got = null;
  for (let i = 0; i < 50 && !(got && got.counts.length === 30); i++) { got = await drawn(); if (!got || got.counts.length !== 30) await page.waitForTimeout(100); }
  assert.equal(got.type, 'line');
  assert.deepEqual(got.days, api.daily.map((d) => d.day));
  assert.deepEqual(got.counts, api.daily.map((d) => d.count));
  const sum = api.daily.reduce((s, d) => s + d.count, 0);
  assert.equal(await page.getByTestId('event-range-total').innerText(), sum.toLocaleString('zh-CN'));
  // Properties: each with its fill rate as a percentage.
  for (const p of api.properties) {
    const want = new Intl.NumberFormat('zh-CN', { style: 'percent', maximumFractionDigits: 1 }).format(p.fill_rate);
    assert.equal(await page.getByTestId(`fill-${p.name}`).innerText(), want, `fill rate of ${p.name}`);
  }
});

step('a declared schema is saved, its API error shown at the field, and ingestion refuses a violating event', async (page) => {
  const name = 'coupon_claim';
  const before = (await admin.get(`/api/v1/events/catalog/${name}`)).body;
  assert.ok(before.properties.some((p) => p.name === 'coupon'));
  assert.equal(before.schema, null);
  await page.getByTestId(`event-name-${name}`).click();
  await page.waitForURL(new RegExp(`/events/${name}$`));
  await page.getByTestId('prop-coupon').waitFor();

  // An error the API names (schema.properties.coupon) appears at that row.
  await page.route(`**/api/v1/events/catalog/${name}`, (route) => (route.request().method() === 'PUT'
    ? route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'invalid_argument', message: 'type of "coupon" must be string, number, integer, boolean, object or array', details: { field: 'schema.properties.coupon' } } }) })
    : route.continue()));
  await pickOption(page, 'schema-type-coupon', '字符串');
  await page.getByTestId('schema-required-coupon').click();
  await page.getByTestId('schema-save').click();
  await confirmBox(page);
  await page.getByTestId('schema-error-coupon').getByText('must be string').waitFor();
  assert.equal((await admin.get(`/api/v1/events/catalog/${name}`)).body.schema, null, 'nothing saved');
  await page.unroute(`**/api/v1/events/catalog/${name}`);

  // For real now: coupon is a required string, with a description.
  await page.getByTestId('schema-description').fill('领取优惠券');
  await page.getByTestId('schema-save').click();
  await confirmBox(page);
  await page.getByTestId('schema-clear').waitFor();
  await page.getByTestId('event-description').getByText('领取优惠券').waitFor();
  const after = (await admin.get(`/api/v1/events/catalog/${name}`)).body;
  assert.deepEqual(after.schema, { required: ['coupon'], properties: { coupon: 'string' } });
  assert.equal(after.description, '领取优惠券');

  // Ingestion now refuses a message without coupon, and one with a number.
  const missingProp = await track(page, { userId: 'u1', event: name, properties: { channel: 'h5' } });
  assert.equal(missingProp.status, 400, JSON.stringify(missingProp.body));
  assert.match(JSON.stringify(missingProp.body.error), /coupon/);
  const wrongType = await track(page, { userId: 'u1', event: name, properties: { coupon: 5 } });
  assert.equal(wrongType.status, 400, JSON.stringify(wrongType.body));
  assert.equal((await admin.get(`/api/v1/events/catalog/${name}`)).body.count, before.count, 'nothing stored');
  // A conforming one is accepted and counted.
  const ok = await track(page, { userId: 'u1', event: name, properties: { coupon: 'C-9', channel: 'h5' } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal((await admin.get(`/api/v1/events/catalog/${name}`)).body.count, before.count + 1);
});

step('a contact with orders: the 行为 panel shows the API profile, the timeline its events', async (page) => {
  const ev = (await admin.get('/api/v1/events?event=order_paid&limit=1')).body.items[0];
  const id = ev.contact_id;
  const p = (await admin.get(`/api/v1/contacts/${id}/profile`)).body;
  assert.ok(p.orders >= 1 && p.spend_fen > 0, `contact ${id} has orders`);
  await page.goto(`${srv.base}/contacts/${id}`);
  await page.locator('.el-drawer__header').getByText(`#${id}`).waitFor();
  await page.getByTestId('contact-drawer').getByRole('tab', { name: '行为' }).click();
  await page.getByTestId('profile-panel').waitFor();
  const money = new Intl.NumberFormat('zh-CN', { style: 'currency', currency: 'CNY' }).format(p.spend_fen / 100);
  await page.getByTestId('profile-spend').getByText(money).waitFor();
  assert.equal(await page.getByTestId('profile-orders').innerText(), p.orders.toLocaleString('zh-CN'));
  assert.equal(await page.getByTestId('profile-events').innerText(), p.events.toLocaleString('zh-CN'));
  assert.equal(await page.getByTestId('profile-first-seen').innerText(), await fmtTimeIn(page, p.first_seen));
  assert.equal(await page.getByTestId('profile-last-seen').innerText(), await fmtTimeIn(page, p.last_seen));
  assert.equal(await page.getByTestId('profile-last-order').innerText(), await fmtTimeIn(page, p.last_order_at));
  for (const [name, n] of Object.entries(p.event_counts)) {
    assert.match(await page.getByTestId(`profile-count-${name}`).innerText(), new RegExp(`${name.replace('$', '\\$')}\\s*·\\s*${n}\\b`));
  }
  // The events list: the API's total, and filtering by order_paid.
  const evs = (await admin.get(`/api/v1/contacts/${id}/events?limit=1`)).body;
  await page.getByTestId('contact-events-total').getByText(`共 ${evs.total.toLocaleString('zh-CN')} 条`).waitFor();
  await page.getByTestId('profile-count-order_paid').click();
  await page.getByTestId('contact-events-total').getByText(`共 ${p.event_counts.order_paid} 条`).waitFor();
  await page.getByTestId('contact-events').getByText(new Intl.NumberFormat('zh-CN', { style: 'currency', currency: 'CNY' }).format(ev.revenue_fen / 100)).first().waitFor();
  // The timeline has the events beside follow-ups, the order with its amount.
  await page.getByTestId('contact-drawer').getByRole('tab', { name: '时间线' }).click();
  const tl = page.getByTestId('timeline');
  await tl.getByTestId('timeline-event').getByText('order_paid').first().waitFor();
  assert.ok((await tl.getByTestId('timeline-amount').count()) >= 1, 'an order shows its amount');
});

step('write keys: SDK snippets carry a new key, then a placeholder', async (page) => {
  await page.goto(`${srv.base}/settings/writekeys`);
  const snippets = page.getByTestId('sdk-snippets');
  await snippets.getByTestId('sdk-template').waitFor();
  assert.match(await page.getByTestId('sdk-segment').innerText(), /YOUR_WRITE_KEY/);
  await page.getByTestId('writekeys-new').click();
  await page.getByTestId('writekeys-dialog').getByTestId('field-name').fill('小程序');
  await page.getByTestId('writekeys-save').click();
  const secret = (await page.getByTestId('secret-shown').locator('code').innerText()).trim();
  assert.match(secret, /^swk_/);
  await snippets.getByTestId('sdk-with-key').waitFor();
  const seg = await page.getByTestId('sdk-segment').innerText();
  assert.ok(seg.includes(`writeKey: '${secret}'`) && seg.includes(`host: '${srv.base}'`), seg);
  await snippets.getByRole('tab', { name: '@rudderstack/rudder-sdk-node' }).click();
  assert.ok((await page.getByTestId('sdk-rudder').innerText()).includes(`dataPlaneUrl: '${srv.base}'`));
  await snippets.getByRole('tab', { name: 'curl' }).click();
  const curl = await page.getByTestId('sdk-curl').innerText();
  assert.ok(curl.includes(`-u '${secret}:'`) && curl.includes(`${srv.base}/v1/track`), curl);
  // The curl snippet really works with the new key.
  const key = srv.demo.write_key;
  srv.demo.write_key = secret;
  try {
    const r = await track(page, { userId: 'snippet-u1', event: 'snippet_test', properties: { order_id: 'SO-1', amount: '199.00' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  } finally { srv.demo.write_key = key; }
  // Once the secret is dismissed the snippets go back to the placeholder.
  await page.getByTestId('secret-shown').locator('.el-alert__close-btn').click();
  await snippets.getByTestId('sdk-template').waitFor();
  assert.match(await page.getByTestId('sdk-curl').innerText(), /YOUR_WRITE_KEY/);
});

step('order rules: the API settings shown, a bad rule refused at its field', async (page) => {
  await page.goto(`${srv.base}/settings/orders`);
  const api = (await admin.get('/api/v1/events/settings')).body;
  const form = page.getByTestId('orders-form');
  await form.getByTestId('orders-orders-0').getByText(api.orders[0].event).waitFor();
  assert.equal(await form.locator('[data-test^="orders-orders-"][data-test$="-event"]').count(), api.orders.length);
  // A new rule without an event name: the API's message at that rule.
  await page.getByTestId('orders-add-orders').click();
  await page.getByTestId('orders-save').click();
  const i = api.orders.length;
  await page.getByTestId(`orders-orders-${i}`).locator('.el-form-item__error').getByText('required').waitFor();
  assert.deepEqual((await admin.get('/api/v1/events/settings')).body, api, 'nothing changed');
});

step('identity conflicts: both contacts linked, dismissed after a confirmation', async (page) => {
  // u1 is contact 1's user id in the demo; give it contact 2's phone.
  const c2 = (await admin.get('/api/v1/contacts/2')).body;
  const c1 = (await admin.get('/api/v1/contacts/1')).body;
  const uid = (c1.identities || []).find((x) => x.type === 'user_id')?.value;
  assert.ok(uid && c2.phone, 'demo contacts 1 and 2 are identified');
  const r = await track(page, { userId: uid, traits: { phone: c2.phone } }, '/v1/identify');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const open = (await admin.get('/api/v1/identity/conflicts')).body.items;
  assert.ok(open.length >= 1, 'a conflict was recorded');
  const cf = open[0];
  await page.getByTestId('nav-identity-conflicts').click();
  await page.waitForURL(/\/identity-conflicts$/);
  await page.getByTestId(`conflict-contact-${cf.id}`).waitFor();
  assert.equal(await page.getByTestId(`conflict-contact-${cf.id}`).getAttribute('href'), `/contacts/${cf.contact_id}`);
  assert.equal(await page.getByTestId(`conflict-other-${cf.id}`).getAttribute('href'), `/contacts/${cf.other_contact_id}`);
  await page.getByTestId(`conflict-dismiss-${cf.id}`).click();
  await confirmBox(page);
  await page.getByTestId(`conflict-contact-${cf.id}`).waitFor({ state: 'detached' });
  const all = (await admin.get('/api/v1/identity/conflicts?status=all')).body.items;
  assert.equal(all.find((x) => x.id === cf.id).status, 'dismissed');
});
