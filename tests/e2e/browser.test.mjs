// browser.test.mjs — the console in a real browser (Debian chromium driven by
// playwright-core) against a real server with a fresh demo workspace: log
// in; import the GBK fixture through the wizard and see the rows; filter and
// open a contact; add a follow-up; claim and return a lead; export; and a
// sales user who sees none of the other staff's contacts anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from './harness.mjs';
import {
  ROOT, WEB_DIST, openBrowser, withArtifacts, uiLogin, pickOption, waitIdle, shownContactIds, browserSkipReason,
} from './browser_helpers.mjs';

// Outside CI a machine without chromium or a built console skips with the
// reason; under CI (CI=true) that is a failure, never a silent skip.
const missing = browserSkipReason();
const skip = process.env.CI ? null : missing;
const GBK = path.join(ROOT, 'tests', 'data', 'contacts_gbk.csv');

let srv;
let admin; // API client (session) of the demo admin, to check what the UI shows
let b;     // the admin's browser

before(async () => {
  if (skip) return;
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  srv = await startServer({ contacts: 300, args: ['--web', WEB_DIST] });
  admin = await srv.login();
  b = await openBrowser();
});

after(async () => {
  if (b) await b.close();
  if (srv) { await srv.stop(); srv.cleanup(); }
});

// Runs one step with artifacts on failure.
function step(name, fn) {
  test(name, { skip: skip || false }, () => withArtifacts(`browser-${name}`, b, () => fn(b.page)));
}

step('login shows the permitted menu and the overview charts', async (page) => {
  // A bad password first: the API's message, no navigation.
  await page.goto(`${srv.base}/login`);
  await page.getByTestId('login-username').fill(srv.demo.admin.username);
  await page.getByTestId('login-password').fill('wrong-password');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('login-error').waitFor();

  await uiLogin(page, srv.base, srv.demo.admin.username, srv.demo.admin.password);
  await page.waitForURL(/\/overview$/);
  for (const m of ['overview', 'contacts', 'pool', 'import', 'export', 'settings']) {
    assert.ok(await page.getByTestId(`nav-${m}`).isVisible(), `admin menu has ${m}`);
  }
  // The chart canvases are drawn from real counts.
  const total = (await admin.get('/api/v1/contacts?limit=1')).body.total;
  await page.getByTestId('stat-all').getByText(total.toLocaleString('zh-CN')).waitFor();
  assert.equal(await page.locator('[data-test="chart-status"] canvas').count(), 1);
  assert.equal(await page.locator('[data-test="chart-store"] canvas').count(), 1);
  // zh-CN by default.
  assert.ok(await page.getByTestId('nav-contacts').getByText('客户').isVisible());
});

step('import the GBK fixture through the wizard and see the rows', async (page) => {
  await page.getByTestId('nav-import').click();
  await page.waitForURL(/\/import$/);
  await page.locator('[data-test="import-upload"] input[type=file]').setInputFiles(GBK);
  // Encoding detected as GB18030/GBK; the header mapping is pre-filled.
  const detected = await page.getByTestId('import-detected').innerText();
  assert.match(detected, /gb/i);
  const mapping = page.getByTestId('import-mapping');
  await mapping.getByText('张伟').waitFor();
  assert.ok(await mapping.getByText('上海悦享餐饮管理有限公司').isVisible());
  // Dry run with the auto-mapping: the demo workspace has no staff 陈晓, no
  // channel 门店扫码 and no store 杭州西湖店, so every row has problems, shown
  // per row and column, and nothing can be imported.
  await page.getByTestId('import-dryrun').click();
  const problems = page.getByTestId('import-problems');
  await problems.waitFor();
  await problems.getByText('is not an active staff member').first().waitFor();
  assert.ok(await problems.getByText('第 2 行').first().isVisible());
  assert.ok(await page.getByTestId('import-run').isDisabled(), 'nothing valid to import');
  // Back to the mapping: do not import 来源, 负责人 and 门店 (columns 8–10).
  await page.getByRole('button', { name: '上一步' }).click();
  for (const i of [7, 8, 9]) await pickOption(page, `map-${i}`, '不导入');
  await page.getByTestId('import-dryrun').click();
  await page.getByTestId('dry-ok').getByText('15').waitFor();
  assert.equal(await page.getByTestId('dry-bad').innerText(), '0');
  assert.equal(await page.getByTestId('import-problems').count(), 0, 'no problems left');
  await page.getByTestId('import-run').click();
  await page.getByTestId('import-result').waitFor({ timeout: 30000 });
  assert.ok(await page.getByTestId('import-progress').isVisible());
  await page.getByTestId('import-see').click();
  await page.waitForURL(/\/contacts/);
  await page.getByTestId('filter-q').fill('上海悦享餐饮管理有限公司');
  await page.getByTestId('filter-apply').click();
  await waitIdle(page);
  await page.getByTestId('contacts-table').getByText('张伟').waitFor();
  await page.getByTestId('contacts-table').getByText('13812345678').waitFor(); // admin holds contacts.phone
});

let opened; // the contact opened by the filter step

step('filter and open a contact', async (page) => {
  await page.goto(`${srv.base}/contacts`);
  await pickOption(page, 'filter-status', '跟进中');
  await waitIdle(page);
  const api = (await admin.get('/api/v1/contacts?status=following&limit=1')).body;
  await page.getByTestId('contacts-total').getByText(api.total.toLocaleString('zh-CN')).waitFor();
  const ids = await shownContactIds(page);
  assert.ok(ids.length > 0, 'rows shown for 跟进中');
  assert.ok(new URL(page.url()).searchParams.get('status') === 'following');
  opened = ids[0];
  await page.getByTestId(`contact-name-${opened}`).click();
  await page.waitForURL(new RegExp(`/contacts/${opened}`));
  const c = (await admin.get(`/api/v1/contacts/${opened}`)).body;
  await page.locator('.el-drawer__header').getByText(`#${opened}`).waitFor();
  assert.equal(await page.getByTestId('profile-name').inputValue(), c.name || '');
});

step('a bad value shows the API\'s message at its field and changes nothing', async (page) => {
  const before = (await admin.get(`/api/v1/contacts/${opened}`)).body;
  await page.getByTestId('profile-email').fill('not-an-email');
  await page.getByTestId('profile-save').click();
  const err = page.getByTestId('profile-form').locator('.el-form-item__error');
  await err.getByText('is not a valid address').waitFor();
  const after = (await admin.get(`/api/v1/contacts/${opened}`)).body;
  assert.equal(after.email, before.email);
  assert.equal(after.updated_at, before.updated_at);
  await page.getByTestId('profile-email').fill(before.email || '');
});

step('add a follow-up', async (page) => {
  const note = `电话回访：客户对新品感兴趣 ${Date.now()}`;
  await page.getByRole('tab', { name: '跟进记录' }).click();
  await page.getByTestId('followup-note').fill(note);
  await page.getByTestId('followup-add').click();
  await page.getByTestId('followups').getByText(note).waitFor();
  const list = (await admin.get(`/api/v1/contacts/${opened}/follow-ups`)).body;
  assert.ok(list.items.some((f) => f.note === note), 'the follow-up is stored');
  await page.getByRole('tab', { name: '时间线' }).click();
  await page.getByTestId('timeline').getByText(note).waitFor();
});

step('claim and return a lead', async (page) => {
  await page.goto(`${srv.base}/pool`);
  await waitIdle(page);
  const ids = await shownContactIds(page);
  assert.ok(ids.length > 0, 'the pool has leads');
  const id = ids[0];
  const before = (await admin.get('/api/v1/contacts/pool?limit=1')).body.total;
  await page.getByTestId(`claim-${id}`).click();
  await page.locator('.el-message--success').waitFor();
  await waitIdle(page);
  let c = (await admin.get(`/api/v1/contacts/${id}`)).body;
  const me = (await admin.get('/api/v1/auth/me')).body.staff;
  assert.equal(c.owner_id, me.id, 'claimed by the admin');
  assert.equal((await admin.get('/api/v1/contacts/pool?limit=1')).body.total, before - 1);

  await page.goto(`${srv.base}/contacts/${id}`);
  await page.getByTestId('detail-owner').getByText(me.name).waitFor();
  await page.getByTestId('detail-return').click();
  // A reason is required: the field says so.
  await page.getByTestId('return-confirm').click();
  await page.getByTestId('return-dialog').locator('.el-form-item__error').waitFor();
  await page.getByTestId('return-reason').fill('客户暂无需求');
  await page.getByTestId('return-confirm').click();
  await page.locator('.el-message--success', { hasText: '公海' }).waitFor();
  c = (await admin.get(`/api/v1/contacts/${id}`)).body;
  assert.equal(c.owner_id ?? null, null, 'back in the pool');
});

step('merge two contacts with a side-by-side preview', async (page) => {
  await page.goto(`${srv.base}/contacts?q=${encodeURIComponent('有限公司')}`);
  await waitIdle(page);
  const ids = await shownContactIds(page);
  assert.ok(ids.length >= 2, 'imported contacts found');
  const rows = page.getByTestId('contacts-table').locator('.el-table__body tbody tr');
  await rows.nth(0).locator('.el-checkbox').click();
  await rows.nth(1).locator('.el-checkbox').click();
  await page.getByTestId('merge-open').click();
  const dialog = page.getByTestId('merge-dialog');
  const preview = dialog.getByTestId('merge-preview');
  await preview.waitFor();
  const [a, b2] = [(await admin.get(`/api/v1/contacts/${ids[0]}`)).body, (await admin.get(`/api/v1/contacts/${ids[1]}`)).body];
  assert.ok(await preview.getByText(a.name).first().isVisible());
  assert.ok(await preview.getByText(b2.name).first().isVisible());
  // Keep the second one: pick it as the winner, then confirm twice.
  await dialog.getByTestId('merge-winner-1').click();
  await dialog.getByTestId('merge-confirm').click();
  await page.locator('.el-message-box__btns .el-button--primary').click();
  await page.waitForURL(new RegExp(`/contacts/${ids[1]}`));
  const loser = (await admin.get(`/api/v1/contacts/${ids[0]}`)).body;
  assert.equal(loser.id, ids[1], 'the merged id now reads as the winner');
  const identities = (await admin.get(`/api/v1/contacts/${ids[1]}`)).body.identities.map((x) => x.value);
  assert.ok(identities.includes(a.email), 'the loser\'s identities moved');
  // The winner's timeline shows the merge, and an admin can undo it there.
  await page.getByRole('tab', { name: '时间线' }).click();
  await page.getByTestId('timeline').getByText(`合并了 #${ids[0]}`).waitFor();
  await page.getByTestId('timeline').locator('[data-test^="undo-merge-"]').click();
  await page.locator('.el-message-box__btns .el-button--primary').click();
  await page.locator('.el-message--success', { hasText: '已撤销合并' }).waitFor();
  assert.equal((await admin.get(`/api/v1/contacts/${ids[0]}`)).body.id, ids[0], 'the loser stands on its own again');
});

step('export the current filter', async (page) => {
  await page.goto(`${srv.base}/contacts?status=won`);
  await waitIdle(page);
  await page.getByTestId('export-open').click();
  await page.waitForURL(/\/export\?status=won/);
  const n = (await admin.get('/api/v1/contacts?status=won&limit=1')).body.total;
  await page.getByTestId('export-count').getByText(n.toLocaleString('zh-CN')).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-run').click()]);
  const file = await download.path();
  const buf = readFileSync(file);
  assert.deepEqual([...buf.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM for Excel');
  const lines = buf.toString('utf8').slice(1).split(/\r?\n/).filter((l) => l.length);
  assert.equal(lines.length, n + 1, 'header + one line per contact of the filter');
  await page.getByTestId('export-done').waitFor();
});

step('settings: a store is added; a duplicate is refused at its field', async (page) => {
  await page.goto(`${srv.base}/settings/stores`);
  const table = page.getByTestId('stores-table');
  await table.getByText('上海徐汇店').waitFor();
  // A code that exists: the API's message appears in the form, nothing is added.
  const n = (await admin.get('/api/v1/stores')).body.total;
  await page.getByTestId('stores-new').click();
  const dialog = page.getByTestId('stores-dialog');
  await dialog.getByTestId('field-code').fill('SH001');
  await dialog.getByTestId('field-name').fill('上海徐汇店');
  await page.getByTestId('stores-save').click();
  await dialog.locator('.el-form-item__error').getByText('exists').waitFor();
  assert.equal((await admin.get('/api/v1/stores')).body.total, n);
  await dialog.getByTestId('field-code').fill('HZ001');
  await dialog.getByTestId('field-name').fill('杭州西湖店');
  await dialog.getByTestId('field-city').fill('杭州');
  await page.getByTestId('stores-save').click();
  await table.getByText('杭州西湖店').waitFor();
  assert.equal((await admin.get('/api/v1/stores')).body.total, n + 1);
});

step('English can be chosen and is remembered', async (page) => {
  await page.goto(`${srv.base}/contacts`);
  await page.getByTestId('lang-switch').click();
  await page.locator('.el-dropdown-menu__item', { hasText: 'English' }).click();
  await page.getByTestId('nav-contacts').getByText('Contacts').waitFor();
  await page.reload();
  await page.getByTestId('nav-contacts').getByText('Contacts').waitFor();
  await page.getByTestId('contacts-total').getByText('in total').waitFor();
  await page.getByTestId('lang-switch').click();
  await page.locator('.el-dropdown-menu__item', { hasText: '中文' }).click();
  await page.getByTestId('nav-contacts').getByText('客户').waitFor();
});

step('an expired session says so and leads back to the login', async (page) => {
  await page.goto(`${srv.base}/overview`);
  await page.getByTestId('stat-all').locator('.num').getByText(/\d/).waitFor();
  await waitIdle(page);
  await b.context.clearCookies(); // the server no longer knows this browser
  await page.getByTestId('nav-contacts').click();
  const box = page.locator('.el-message-box');
  await box.getByText('登录已过期', { exact: true }).waitFor();
  await box.getByRole('button', { name: '重新登录' }).click();
  await page.waitForURL(/\/login\?next=/);
  await page.getByTestId('login-username').fill(srv.demo.admin.username);
  await page.getByTestId('login-password').fill(srv.demo.admin.password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/\/contacts/);
});

test('a sales user sees none of the other staff\'s contacts', { skip: skip || false }, async () => {
  const sales = srv.demo.staff.find((s) => s.role === 'sales');
  assert.ok(sales, 'demo has a sales user');
  const mine = await srv.login(sales.username, sales.password);
  const visible = (await mine.get('/api/v1/contacts?limit=1')).body.total;
  const all = (await admin.get('/api/v1/contacts?limit=1')).body.total;
  assert.ok(visible < all, 'the sales scope is narrower than all');
  // A contact of another staff member the server hides from this user.
  const other = srv.demo.staff.find((s) => s.id !== sales.id && s.role === 'sales') || srv.demo.staff.find((s) => s.id !== sales.id);
  const theirs = (await admin.get(`/api/v1/contacts?owner_id=${other.id}&limit=50`)).body.items;
  let hidden = null;
  for (const c of theirs) {
    if ((await mine.get(`/api/v1/contacts/${c.id}`)).status === 404) { hidden = (await admin.get(`/api/v1/contacts/${c.id}`)).body; break; }
  }
  assert.ok(hidden, 'found a contact outside the sales scope');

  const sb = await openBrowser({ viewport: { width: 390, height: 844 } }); // a phone
  try {
    await withArtifacts('browser-sales-scope', sb, async () => {
      const page = sb.page;
      await uiLogin(page, srv.base, sales.username, sales.password);
      // Menu: no settings, import or export for sales.
      await page.getByTestId('menu-toggle').click();
      await page.getByTestId('nav-contacts').waitFor();
      assert.equal(await page.getByTestId('nav-settings').count(), 0, 'no settings for sales');
      await page.keyboard.press('Escape');
      // Overview counts only their contacts.
      await page.goto(`${srv.base}/overview`);
      await page.getByTestId('stat-all').getByText(visible.toLocaleString('zh-CN')).waitFor();
      // The list shows their contacts only, page by page.
      await page.goto(`${srv.base}/contacts`);
      await waitIdle(page);
      await page.getByTestId('contacts-total').getByText(visible.toLocaleString('zh-CN')).waitFor();
      const shown = await shownContactIds(page);
      assert.ok(!shown.includes(hidden.id));
      for (const id of shown) assert.equal((await mine.get(`/api/v1/contacts/${id}`)).status, 200);
      // Sales may not see full phone numbers: only masked ones are on the page.
      const text = await page.locator('body').innerText();
      assert.ok(/\d{3}\*{4}\d{4}/.test(text), 'masked phones shown');
      assert.ok(!/(?<!\d)1[3-9]\d{9}(?!\d)/.test(text), 'no full mainland phone number on the page');
      // Searching for the hidden contact finds nothing of it.
      const key = hidden.name || hidden.company;
      await page.goto(`${srv.base}/contacts?q=${encodeURIComponent(key)}`);
      await waitIdle(page);
      assert.ok(!(await shownContactIds(page)).includes(hidden.id), 'not found by search');
      // A deep link to it says "not found or outside your scope".
      await page.goto(`${srv.base}/contacts/${hidden.id}`);
      await page.getByTestId('contact-error').waitFor();
      assert.ok(!(await page.content()).includes(hidden.email || '\u0000'), 'no field of it on the page');
      // Their own contact opens full-screen on the phone.
      await page.goto(`${srv.base}/contacts`);
      await waitIdle(page);
      const own = (await shownContactIds(page))[0];
      await page.getByTestId(`contact-card-${own}`).click();
      const drawer = page.locator('.el-drawer').filter({ hasText: `#${own}` });
      await drawer.waitFor();
      assert.equal(Math.round((await drawer.boundingBox()).width), 390);
      // Settings are not reachable by URL either.
      await page.goto(`${srv.base}/settings/staff`);
      await page.waitForURL((u) => !u.pathname.startsWith('/settings'));
      // Logging out ends the session on the server too.
      await page.getByTestId('user-menu').click();
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login/);
      const status = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
      assert.equal(status, 401);
    });
  } finally {
    await sb.close();
  }
});
