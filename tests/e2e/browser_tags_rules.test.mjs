// browser_tags_rules.test.mjs — the rule-tag editor and the form editor on
// the 标签 page in a real browser (Debian chromium via playwright-core): a
// rule tag built with the segment builder ("did order_paid in the last 30
// days") is saved as that definition and its members follow (the count equals
// POST /segments/preview); a form's preview shows the tags an answer applies,
// and submitting it for a contact tags that contact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness.mjs';
import { WEB_DIST, openBrowser, withArtifacts, uiLogin, pickOption, waitIdle, browserSkipReason } from './browser_helpers.mjs';

const missing = browserSkipReason();
const skip = process.env.CI ? null : missing;

let srv;
let admin;
let b;
let cat;

before(async () => {
  if (skip) return;
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  srv = await startServer({ contacts: 100, args: ['--web', WEB_DIST] });
  admin = await srv.login();
  b = await openBrowser();
  cat = (await admin.post('/api/v1/tag-categories', { name: '自动分层', scenario: '复购提醒' })).body;
});

after(async () => {
  if (b) await b.close();
  if (srv) { await srv.stop(); srv.cleanup(); }
});

function step(name, fn) {
  test(name, { skip: skip || false }, () => withArtifacts(`browser-tags-rules-${name}`, b, () => fn(b.page)));
}

async function until(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

step('a rule tag built with the segment builder: saved as that definition, members follow', async (page) => {
  await uiLogin(page, srv.base, srv.demo.admin.username, srv.demo.admin.password);
  await page.getByTestId('nav-tags').click();
  await page.waitForURL(/\/tags$/);
  await waitIdle(page);
  await page.getByTestId(`tag-new-${cat.id}`).click();
  await page.getByTestId('tag-name').fill('近期买家');
  await page.getByTestId('tag-kind').getByText('规则').click();
  await page.getByTestId('tag-rule').waitFor();
  await pickOption(page, 'seg-event-root-0', 'order_paid');
  await page.getByTestId('tag-save').click();
  await page.getByTestId('tag-dialog').waitFor({ state: 'hidden' });
  const tag = (await admin.get(`/api/v1/tags?q=${encodeURIComponent('近期买家')}`)).body.items[0];
  assert.equal(tag.kind, 'rule');
  const def = tag.definition;
  const leaf = def.and ? def.and[0] : def;
  assert.equal(leaf.event, 'order_paid');
  const want = (await admin.post('/api/v1/segments/preview', { definition: def })).body.count;
  assert.ok(want > 0);
  assert.ok(await until(async () => (await admin.get(`/api/v1/tags/${tag.id}`)).body.member_count === want), 'members follow the rule');
  await page.getByTestId(`tag-kind-${tag.id}`).waitFor();
});

step('a form: the preview shows the tags an answer applies; a submission tags the contact', async (page) => {
  const tg = (await admin.post('/api/v1/tags', { category_id: cat.id, name: '干皮', kind: 'form' })).body;
  const form = (await admin.post('/api/v1/forms', {
    name: '护肤问卷',
    questions: [{ id: 'skin', title: '肤质', options: [{ id: 'dry', label: '干性', tag_ids: [tg.id] }, { id: 'oily', label: '油性', tag_ids: [] }] }],
  })).body;
  await page.reload();
  await waitIdle(page);
  await page.locator('#tab-forms').click();
  await page.getByTestId(`form-edit-${form.id}`).click();
  const preview = page.getByTestId('form-preview');
  await preview.getByText('干性').click();
  await until(async () => (await page.getByTestId('form-preview-tags').innerText()).includes('干皮'));
  assert.match(await page.getByTestId('form-preview-tags').innerText(), /干皮/);
  const cid = (await admin.get('/api/v1/contacts?limit=1')).body.items[0].id;
  await page.getByTestId('form-submit-contact').fill(String(cid));
  await page.getByTestId('form-submit').click();
  assert.ok(await until(async () => (await admin.get(`/api/v1/contacts/${cid}/tags`)).body.items.some((x) => x.tag_id === tg.id)), 'the contact carries the form tag');
});
