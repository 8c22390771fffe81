// browser_lifecycle.test.mjs — the 生命周期 parts of the console in a real
// browser: the overview's stage chart draws the API's distribution, and the
// contact drawer's 生命周期 tab shows the stage and its history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';
import { WEB_DIST, openBrowser, withArtifacts, uiLogin, waitIdle, browserSkipReason } from './browser_helpers.mjs';

const missing = browserSkipReason();
const skip = process.env.CI ? null : missing;

let srv;
let admin;
let b;

before(async () => {
  if (skip) return;
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  srv = await startServer({ contacts: 100, args: ['--web', WEB_DIST] });
  admin = await srv.login();
  b = await openBrowser();
});

after(async () => {
  if (b) await b.close();
  if (srv) { await srv.stop(); srv.cleanup(); }
});

function step(name, fn) {
  test(name, { skip: skip || false }, () => withArtifacts(`browser-lifecycle-${name}`, b, () => fn(b.page)));
}

step('the overview draws the stage distribution of the API', async (page) => {
  await uiLogin(page, srv.base, srv.demo.admin.username, srv.demo.admin.password);
  await page.waitForURL(/\/overview$/);
  await page.locator('[data-test="chart-lifecycle"] canvas').waitFor();
  await page.locator('[data-test="chart-lifecycle-daily"] canvas').waitFor();
  const api = (await admin.get('/api/v1/lifecycle/distribution')).body.stages.map((s) => s.count);
  let drawn = null;
  for (let i = 0; i < 100; i++) {
    drawn = await page.locator('[data-test="chart-lifecycle"]').evaluate((el) => el.__chart.getOption().series[0].data);
    if (drawn.length === api.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(drawn, api);
});

step('the contact drawer shows the stage and its history', async (page) => {
  const id = (await admin.get('/api/v1/contacts?limit=1')).body.items[0].id;
  const st = (await admin.get(`/api/v1/contacts/${id}/stage`)).body;
  await page.goto(`${srv.base}/contacts/${id}`);
  await page.getByTestId('contact-drawer').waitFor();
  await page.getByRole('tab', { name: '生命周期' }).click();
  await waitIdle(page);
  const label = { added: '新加微', in_group: '已入群', retained: '留存', active: '活跃', converted: '已转化', repurchased: '复购', silent: '沉默', churned: '流失' }[st.stage];
  await page.getByTestId('contact-stage-current').getByText(label).waitFor();
  assert.equal(await page.getByTestId('contact-stage-history').locator('tbody tr').count(), st.history.length);
});
