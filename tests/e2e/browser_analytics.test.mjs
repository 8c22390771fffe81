// browser_analytics.test.mjs — the 分析 pages and the 概览 dashboard in a real
// browser on demo data: what the funnel, retention and trend pages draw and
// tabulate is exactly the API's answer to the same question; a funnel step's
// dropped contacts are listed and saved as a segment; a long query can be
// cancelled; an API error appears at its field; the metric dictionary is
// shown next to the metric; 概览 shows the default dashboard's cards with the
// values and colours of their data routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';
import { WEB_DIST, openBrowser, withArtifacts, uiLogin, waitIdle, pickOption, browserSkipReason } from './browser_helpers.mjs';

const missing = browserSkipReason();
const skip = process.env.CI ? null : missing;

let srv;
let admin;
let b;

before(async () => {
  if (skip) return;
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  srv = await startServer({ contacts: 300, args: ['--web', WEB_DIST] });
  admin = await srv.login();
  b = await openBrowser();
  await uiLogin(b.page, srv.base, srv.demo.admin.username, srv.demo.admin.password);
});

after(async () => {
  if (b) await b.close();
  if (srv) { await srv.stop(); srv.cleanup(); }
});

function step(name, fn) {
  test(name, { skip: skip || false }, () => withArtifacts(`browser-analytics-${name}`, b, () => fn(b.page)));
}

// The console's formatting (analyticsApi.fmtValue, zh-CN).
const nf = (n, o) => new Intl.NumberFormat('zh-CN', o).format(n);
const pct = (r) => `${(r * 100).toFixed(2)}%`;
function fmtValue(v, unit) {
  if (v === null || v === undefined) return '—';
  if (unit === 'fen') return `¥${nf(v / 100, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (unit === 'ratio') return pct(v);
  if (unit === 'days') return nf(v, { maximumFractionDigits: 1 });
  return nf(v, { maximumFractionDigits: 2 });
}

async function post(path, body) {
  const r = await admin.post(path, body);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.body;
}

// Reads the option an <e-chart data-test=…> has drawn, once it has `n` points.
async function drawn(page, testId, pick, ready = (x) => x && x.length) {
  let v = null;
  for (let i = 0; i < 100; i++) {
    v = await page.locator(`[data-test="${testId}"]`).evaluate((el, p) => {
      const o = el.__chart && el.__chart.getOption();
      return o ? new Function('o', `return ${p}`)(o) : null;
    }, pick);
    if (ready(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  return v;
}
const text = (page, id) => page.getByTestId(id).innerText().then((s) => s.trim());

const FUNNEL = {
  steps: [{ event: 'view_item' }, { event: 'add_to_cart' }, { event: 'order_paid' }],
  window: { value: 7, unit: 'day' },
  order: 'loose',
};

step('a funnel built in the form draws and tabulates the API answer', async (page) => {
  const api = await post('/api/v1/analytics/funnel', FUNNEL);
  assert.equal(api.steps.length, 3);
  await page.goto(`${srv.base}/analytics/funnels`);
  await page.getByTestId('funnel-form').waitFor();
  await pickOption(page, 'funnel-step-0-event', 'view_item');
  await pickOption(page, 'funnel-step-1-event', 'add_to_cart');
  await page.getByTestId('funnel-add-step').click();
  await pickOption(page, 'funnel-step-2-event', 'order_paid');
  await page.getByTestId('an-run').click();
  await page.getByTestId('funnel-table').waitFor();
  await waitIdle(page);
  // The page keeps the question it sent in the URL: the same body.
  const q = JSON.parse(new URL(page.url()).searchParams.get('q'));
  assert.deepEqual(q, FUNNEL);
  const bars = await drawn(page, 'funnel-chart', 'o.series[0].data', (x) => x && x.length === 3);
  assert.deepEqual(bars, api.steps.map((s) => s.count));
  const drops = await drawn(page, 'funnel-chart', 'o.series[1].data');
  assert.deepEqual(drops, api.steps.map((s) => (s.index === 1 ? 0 : s.dropped)));
  for (const s of api.steps) {
    assert.equal(await text(page, `funnel-count-${s.index}`), nf(s.count));
    assert.equal(await text(page, `funnel-conv-${s.index}`), pct(s.conversion));
    if (s.index > 1) {
      assert.equal(await text(page, `funnel-stepconv-${s.index}`), s.step_conversion === null ? '—' : pct(s.step_conversion));
      assert.equal(await text(page, `funnel-dropped-${s.index}`), nf(s.dropped));
    }
  }
});

step('the contacts who dropped at a step are listed and saved as a segment', async (page) => {
  const api = await post('/api/v1/analytics/funnel/contacts', { ...FUNNEL, step: 2, status: 'dropped', limit: 100 });
  await page.getByTestId('funnel-droplist-2').click();
  const dlg = page.getByTestId('funnel-contacts');
  await dlg.waitFor();
  await waitIdle(page);
  assert.match(await text(page, 'funnel-contacts-total'), new RegExp(`共 ${nf(api.total)} 条`));
  const rows = await dlg.locator('tbody tr').count();
  assert.equal(rows, Math.min(api.items.length, 100));
  // The page asks exactly what the API was asked (same total, same rows).
  const ids = await dlg.locator('tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(ids.map((x) => Number(x.trim())), api.items.slice(0, 100).map((c) => c.id));
  await page.getByTestId('funnel-save-name').fill('加购未支付（浏览器测试）');
  await page.getByTestId('funnel-save').click();
  await page.getByTestId('funnel-saved').waitFor();
  const href = await page.getByTestId('funnel-saved').locator('a').getAttribute('href');
  const id = Number(href.split('/').pop());
  const seg = await admin.get(`/api/v1/segments/${id}`);
  assert.equal(seg.status, 200);
  assert.equal(seg.body.name, '加购未支付（浏览器测试）');
  await page.keyboard.press('Escape');
});

step('a long query shows its progress and can be cancelled', async (page) => {
  await page.goto(`${srv.base}/analytics/funnels?q=${encodeURIComponent(JSON.stringify(FUNNEL))}`);
  await page.getByTestId('funnel-table').waitFor();
  await waitIdle(page);
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/api/v1/analytics/funnel', async (route) => { await held; await route.continue().catch(() => {}); });
  await page.getByTestId('an-run').click();
  await page.getByTestId('an-loading').waitFor();
  await page.getByTestId('an-cancel').click();
  await page.getByTestId('an-cancelled').waitFor();
  release();
  await page.unroute('**/api/v1/analytics/funnel');
});

const RETENTION = { start_event: 'page_view', return_event: '$active', interval: 'day', periods: 7, mode: 'exact' };

step('the retention page draws the API cohorts as a heat map and a table', async (page) => {
  const api = await post('/api/v1/analytics/retention', RETENTION);
  assert.ok(api.cohorts.length > 0, 'demo data has cohorts');
  await page.goto(`${srv.base}/analytics/retention?q=${encodeURIComponent(JSON.stringify(RETENTION))}`);
  await page.getByTestId('retention-table').waitFor();
  await waitIdle(page);
  const want = [];
  api.cohorts.forEach((c, y) => c.values.forEach((v, x) => {
    if (v !== null && c.size) want.push([x, y, Math.round((v / c.size) * 10000) / 100]);
  }));
  const cells = await drawn(page, 'retention-chart', 'o.series[0].data', (x) => x && x.length === want.length);
  assert.deepEqual(cells, want);
  const labels = await drawn(page, 'retention-chart', 'o.yAxis[0].data');
  assert.deepEqual(labels, api.cohorts.map((c) => `${c.cohort}（${c.size}）`));
  for (const c of api.cohorts.slice(0, 3)) {
    assert.equal(await text(page, `retention-size-${c.cohort}`), nf(c.size));
    for (let i = 0; i < c.values.length; i++) {
      const v = c.values[i];
      const want1 = v === null || !c.size ? '' : pct(v / c.size);
      assert.equal(await text(page, `retention-cell-${c.cohort}-${i}`), want1, `${c.cohort} period ${i}`);
    }
  }
});

step('an API error names its field and is shown there', async (page) => {
  const bad = { ...RETENTION, start_event: 'no_such_event_xyz' };
  const r = await admin.post('/api/v1/analytics/retention', bad);
  assert.equal(r.status, 400);
  assert.equal(r.body.error.details.field, 'start_event');
  await page.goto(`${srv.base}/analytics/retention?q=${encodeURIComponent(JSON.stringify(bad))}`);
  const item = page.getByTestId('retention-form').locator('.el-form-item', { has: page.getByTestId('retention-start') });
  await item.locator('.el-form-item__error').getByText(r.body.error.message).waitFor();
  assert.equal(await page.getByTestId('retention-table').count(), 0);
});

step('a trend by day draws the API series', async (page) => {
  const body = { event: 'order_paid', measure: 'count', interval: 'day' };
  const api = await post('/api/v1/analytics/trend', body);
  await page.goto(`${srv.base}/analytics/trends?q=${encodeURIComponent(JSON.stringify(body))}`);
  await page.getByTestId('trend-table').waitFor();
  await waitIdle(page);
  const xs = await drawn(page, 'trend-chart', 'o.xAxis[0].data', (x) => x && x.length === api.periods.length);
  assert.deepEqual(xs, api.periods);
  const ys = await drawn(page, 'trend-chart', 'o.series[0].data');
  assert.deepEqual(ys, api.series[0].values);
  assert.equal(await text(page, `trend-row-total-${api.series[0].key}`), fmtValue(api.series[0].total, api.unit));
});

step('the metric page shows the definition next to the metric', async (page) => {
  const dict = (await admin.get('/api/v1/analytics/metrics')).body.items;
  const dau = dict.find((m) => m.key === 'dau');
  await page.goto(`${srv.base}/analytics/metrics`);
  const def = page.getByTestId('metric-dictionary').getByTestId('metric-def-formula');
  await def.waitFor();
  assert.equal((await def.innerText()).trim(), dau.formula);
  await page.getByTestId('metric-table').waitFor();
});

step('概览 shows the default dashboard with its cards and colours', async (page) => {
  const list = (await admin.get('/api/v1/dashboards')).body.items;
  const d0 = list.find((d) => d.name === '概览' || d.is_default) || list[0];
  const d = (await admin.get(`/api/v1/dashboards/${d0.id}`)).body;
  assert.ok(d.cards.length > 0, 'the seeded dashboard has cards');
  await page.goto(`${srv.base}/overview`);
  await page.getByTestId('overview-dashboard').waitFor();
  for (const c of d.cards) {
    const data = (await admin.get(`/api/v1/dashboards/${d.id}/cards/${c.id}/data`)).body;
    const el = page.getByTestId(`card-${c.id}`);
    await el.waitFor();
    const want = fmtValue(data.headline?.value ?? null, data.headline?.unit || data.result?.unit);
    const valueEl = page.getByTestId(`card-value-${c.id}`);
    await valueEl.getByText(want, { exact: true }).waitFor();
    const status = data.status && data.status !== 'none' ? data.status : '';
    assert.equal(await el.getAttribute('data-status'), status, `card ${c.title}`);
  }
});

step('a dashboard gets a card with thresholds and an alert rule from the editors', async (page) => {
  await page.goto(`${srv.base}/dashboards`);
  await page.waitForURL(/\/dashboards\/\d+$/); // the first dashboard opens
  const first = page.url();
  await page.getByTestId('dashboard-new').click();
  await page.locator('.el-message-box input').fill('运营周报（浏览器测试）');
  await page.locator('.el-message-box__btns .el-button--primary').click();
  await page.waitForURL((u) => /\/dashboards\/\d+$/.test(u.pathname) && u.href !== first);
  const id = Number(page.url().split('/').pop());
  assert.equal((await admin.get(`/api/v1/dashboards/${id}`)).body.name, '运营周报（浏览器测试）');
  await page.getByTestId('card-new').click();
  await page.getByTestId('card-editor').waitFor();
  await page.getByTestId('card-title').fill('GMV 周');
  await pickOption(page, 'metric-pick', 'GMV');
  await page.getByTestId('metric-interval').getByText('按周').click();
  await page.getByTestId('card-chart').getByText('柱状').click();
  await page.getByTestId('card-th-on').click();
  await page.getByTestId('card-th-green').locator('input').fill('20000');
  await page.getByTestId('card-th-red').locator('input').fill('10000.5');
  await page.getByTestId('card-th-red').locator('input').blur();
  await page.getByTestId('card-save').click();
  await page.getByTestId('card-editor').waitFor({ state: 'hidden' });
  const d = (await admin.get(`/api/v1/dashboards/${id}`)).body;
  assert.equal(d.cards.length, 1);
  const c = d.cards[0];
  assert.equal(c.title, 'GMV 周');
  assert.equal(c.chart, 'bar');
  assert.deepEqual(c.question, { kind: 'metric', metric: 'gmv', interval: 'week' });
  // Yuan in the form, fen in the API.
  assert.deepEqual(c.thresholds, { direction: 'higher_is_better', green: 2000000, red: 1000050 });
  const data = (await admin.get(`/api/v1/dashboards/${id}/cards/${c.id}/data`)).body;
  const el = page.getByTestId(`card-${c.id}`);
  await page.getByTestId(`card-value-${c.id}`).getByText(fmtValue(data.headline.value, 'fen'), { exact: true }).waitFor();
  assert.equal(await el.getAttribute('data-status'), data.status === 'none' ? '' : data.status);

  await page.getByRole('tab', { name: '告警' }).click();
  await page.getByTestId('alert-new').click();
  await page.getByTestId('alert-dialog').waitFor();
  await page.getByTestId('alert-name').fill('GMV 下滑');
  await page.getByTestId('alert-save').click();
  await page.getByTestId('alert-dialog').waitFor({ state: 'hidden' });
  const rules = (await admin.get('/api/v1/alerts')).body.items.filter((r) => r.card_id === c.id);
  assert.equal(rules.length, 1);
  assert.equal(rules[0].name, 'GMV 下滑');
  assert.deepEqual(rules[0].condition, { type: 'drop_pct_vs_trailing_7', value: 15 });
  await page.getByTestId('alerts-table').getByText('比前 7 期均值下降超过 15%').waitFor();
});
