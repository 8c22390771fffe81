// browser_segments.test.mjs — the 标签 and 人群 pages in a real browser
// (Debian chromium via playwright-core) against a real demo server: a tag
// category (its required 业务场景 refused at the field first) and a tag are
// created in the UI, two contacts tagged by bulk contact ids; a segment is
// built from two conditions (that tag AND did order_paid in the last 90
// days) — an unfinished condition shows the API's error at that node — and
// the live count equals POST /segments/preview for the same definition;
// saved, it is listed with that count.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';
import { WEB_DIST, openBrowser, withArtifacts, uiLogin, pickOption, waitIdle, browserSkipReason } from './browser_helpers.mjs';

const missing = browserSkipReason();
const skip = process.env.CI ? null : missing;

let srv;
let admin;
let b;
const CAT = '购买意向';
const TAG = '高意向';
let tagId;
let tagged; // the two contact ids tagged through the UI

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
  test(name, { skip: skip || false }, () => withArtifacts(`browser-segments-${name}`, b, () => fn(b.page)));
}

const DEF = (tag) => ({ and: [{ tag }, { event: 'order_paid', last_days: 90 }] });

step('a tag category needs its scenario; a category and a tag are created', async (page) => {
  // the workspace already has the model tags' categories
  const cats0 = (await admin.get('/api/v1/tag-categories?limit=500')).body.total;
  await uiLogin(page, srv.base, srv.demo.admin.username, srv.demo.admin.password);
  await page.getByTestId('nav-tags').click();
  await page.waitForURL(/\/tags$/);
  await waitIdle(page);
  await page.getByTestId('tag-cat-new').click();
  await page.getByTestId('tag-cat-name').fill(CAT);
  await page.getByTestId('tag-cat-save').click();
  // The API refuses a category without its scenario, at the scenario field.
  const dialog = page.getByTestId('tag-cat-dialog');
  await dialog.locator('.el-form-item__error').first().waitFor();
  assert.match(await dialog.locator('.el-form-item__error').first().innerText(), /scenario/);
  assert.equal((await admin.get('/api/v1/tag-categories?limit=500')).body.total, cats0, 'nothing saved');
  await page.getByTestId('tag-cat-scenario').fill('私信转化：按意向分层跟进');
  await page.getByTestId('tag-cat-save').click();
  await dialog.waitFor({ state: 'hidden' });
  const all = (await admin.get('/api/v1/tag-categories?limit=500')).body.items;
  assert.equal(all.length, cats0 + 1);
  const cats = all.filter((c) => c.name === CAT);
  assert.equal(cats.length, 1);
  assert.equal(cats[0].scenario, '私信转化：按意向分层跟进');
  await page.getByTestId(`tag-cat-title-${cats[0].id}`).waitFor();

  await page.getByTestId(`tag-new-${cats[0].id}`).click();
  await page.getByTestId('tag-name').fill(TAG);
  await page.getByTestId('tag-save').click();
  await page.getByTestId('tag-dialog').waitFor({ state: 'hidden' });
  const tags = (await admin.get(`/api/v1/tags?q=${encodeURIComponent(TAG)}`)).body.items;
  assert.equal(tags.length, 1);
  tagId = tags[0].id;
  assert.equal(tags[0].category_id, cats[0].id);
  assert.equal(await page.getByTestId(`tag-count-${tagId}`).innerText(), '0 人');
});

step('bulk tagging two contacts by id shows added / skipped / not found', async () => {
  const page = b.page;
  // Two contacts who paid an order in the last 90 days, so the segment below is not empty.
  const buyers = (await admin.post('/api/v1/segments/preview', { definition: { event: 'order_paid', last_days: 90 } })).body;
  assert.ok(buyers.sample.length >= 2, `the demo has buyers (${buyers.count})`);
  tagged = buyers.sample.slice(0, 2).map((s) => s.id);
  await pickOption(page, 'tag-bulk-tag', TAG);
  await page.getByTestId('tag-bulk-by').getByText('按客户 ID').click();
  await page.getByTestId('tag-bulk-text').fill(`${tagged[0]}\n${tagged[1]}\n${tagged[0]}\n99999999`);
  await page.getByTestId('tag-bulk-add').click();
  const result = page.getByTestId('tag-bulk-result');
  await result.waitFor();
  const text = await result.innerText();
  assert.match(text, /新增 2 人，跳过 1 人/);
  assert.match(await page.getByTestId('tag-bulk-notfound').innerText(), /99999999/);
  await page.getByTestId(`tag-count-${tagId}`).getByText('2 人').waitFor();
  const tree = (await admin.get('/api/v1/tags/tree')).body.items;
  assert.equal(tree.flatMap((c) => [...c.tags, ...(c.children || []).flatMap((x) => x.tags)]).find((t) => t.id === tagId).member_count, 2);
  const ct = (await admin.get(`/api/v1/contacts/${tagged[0]}/tags`)).body.items;
  // model tags (RFM, interests …) may be there too
  assert.deepEqual(ct.filter((x) => x.source !== 'model').map((x) => x.tag_id), [tagId]);
});

step('the contact drawer shows the contact\'s tag', async (page) => {
  await page.goto(`${srv.base}/contacts/${tagged[1]}`);
  await page.getByTestId('contact-drawer').waitFor();
  await page.getByRole('tab', { name: '标签' }).click();
  await page.getByTestId(`contact-tag-${tagId}`).waitFor();
  assert.match(await page.getByTestId(`contact-tag-${tagId}`).innerText(), new RegExp(TAG));
});

step('a segment from two conditions: node errors, live count equal to the API, saved and listed', async (page) => {
  await page.goto(`${srv.base}/segments`);
  await waitIdle(page);
  await page.getByTestId('seg-new').click();
  await page.waitForURL(/\/segments\/new$/);
  // First condition: the tag.
  await pickOption(page, 'seg-tag-root-0', TAG);
  // Second condition: a behaviour — before its event is chosen the API's
  // error is shown at that node.
  await page.getByTestId('seg-add-cond-root').click();
  await pickOption(page, 'seg-type-root-1', '行为');
  const nodeErr = page.getByTestId('seg-error-root-1');
  await nodeErr.waitFor();
  assert.ok((await nodeErr.innerText()).length > 0);
  assert.equal(await page.getByTestId('seg-error-root-0').count(), 0, 'the tag node has no error');
  await pickOption(page, 'seg-event-root-1', 'order_paid');
  const days = page.getByTestId('seg-days-root-1').locator('input');
  await days.fill('90');
  await days.press('Tab');
  await nodeErr.waitFor({ state: 'detached' });

  const want = (await admin.post('/api/v1/segments/preview', { definition: DEF(tagId) })).body;
  assert.equal(want.count, 2, 'both tagged contacts paid in 90 days');
  const live = page.getByTestId('seg-live-count');
  await page.waitForFunction((n) => document.querySelector('[data-test="seg-live-count"]')?.textContent.trim() === String(n), want.count);
  assert.equal(await live.innerText(), String(want.count));
  for (const s of want.sample) await page.getByTestId(`seg-sample-${s.id}`).waitFor();

  await page.getByTestId('seg-name').fill('高意向买家');
  await page.getByTestId('seg-save').click();
  await page.waitForURL(/\/segments$/);
  const list = (await admin.get('/api/v1/segments')).body.items;
  assert.equal(list.length, 1);
  assert.deepEqual(list[0].definition, DEF(tagId));
  await page.getByTestId(`seg-link-${list[0].id}`).waitFor();
  await page.getByTestId(`seg-count-${list[0].id}`).getByText(String(want.count), { exact: true }).waitFor();
});

step('a saved segment: members, an edit saved as version 2', async (page) => {
  const seg = (await admin.get('/api/v1/segments')).body.items[0];
  await page.getByTestId(`seg-link-${seg.id}`).click();
  await page.waitForURL(new RegExp(`/segments/${seg.id}$`));
  await page.getByTestId('seg-members-total').getByText('共 2 条').waitFor();
  for (const id of tagged) await page.getByTestId('seg-members').getByText(String(id), { exact: true }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-test="seg-live-count"]')?.textContent.trim() === '2');
  await page.getByTestId('seg-name').fill('高意向买家（复购）');
  await page.getByTestId('seg-save').click();
  await page.getByText('已保存为 v2').waitFor();
  const after = (await admin.get(`/api/v1/segments/${seg.id}`)).body;
  assert.equal(after.version, 2);
  assert.equal(after.name, '高意向买家（复购）');
  assert.deepEqual(after.definition, DEF(tagId));
  assert.equal((await admin.get(`/api/v1/segments/${seg.id}/versions`)).body.items.length, 2);
});
