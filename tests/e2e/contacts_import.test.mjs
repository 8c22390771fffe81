// CSV import over HTTP: the UTF-8, UTF-8-BOM and GBK fixtures, dry run,
// strict mode, de-duplication, Excel-mangled numbers, the per-row error
// report, the preview wizard, file-level errors (broken quoting,
// undecodable bytes) and a large import followed while it runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from './harness.mjs';

const DATA = path.resolve('tests/data');
const fixture = (name) => readFileSync(path.join(DATA, name));

let srv;
let admin;
before(async () => {
  srv = await startServer({ contacts: 50 });
  admin = srv.admin();
});
after(async () => { await srv.stop(); srv.cleanup(); });

function assertError(res, status, code, field) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.body?.error?.code, code, res.text);
  if (field) assert.equal(res.body.error.details?.field, field, res.text);
}

async function total() {
  const r = await admin.get('/api/v1/contacts?limit=1');
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

// The fixtures name owners, stores and sources that the demo workspace does
// not have; these columns are mapped away unless a test is about them.
const IGNORE_REFS = encodeURIComponent(JSON.stringify({ 负责人: null, 门店: null, 来源: null }));
const post = (body, query = '') => admin.post(`/api/v1/contacts/import${query ? `?${query}` : ''}`, body, { 'content-type': 'text/csv' });

async function waitDone(id) {
  for (let i = 0; i < 600; i++) {
    const r = await admin.get(`/api/v1/imports/${id}`);
    assert.equal(r.status, 200, r.text);
    if (r.body.status === 'completed' || r.body.status === 'failed') return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`import ${id} did not finish`);
}

test('preview: encoding, headers, auto-mapping, first rows with their problems', async () => {
  const r = await admin.post('/api/v1/contacts/import/preview', fixture('contacts_gbk.csv'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.encoding, 'gb18030');
  assert.deepEqual(r.body.headers, ['姓名', '手机号', '邮箱', '公司', '城市', '性别', '生日', '来源', '负责人', '门店']);
  assert.equal(r.body.mapping['手机号'], 'phone');
  assert.equal(r.body.mapping['负责人'], 'owner');
  assert.equal(r.body.rows_total, 15);
  assert.equal(r.body.rows[0].values['姓名'], '张伟');
  assert.equal(r.body.rows[0].line, 2);
  // 陈晓 is not a member of the demo staff: reported, per column
  assert.ok(r.body.rows[0].problems.some((p) => p.column === '负责人' && /陈晓/.test(p.reason)), JSON.stringify(r.body.rows[0]));
  const bom = await admin.post('/api/v1/contacts/import/preview', fixture('contacts_utf8_bom.csv'));
  assert.equal(bom.body.had_bom, true);
  assert.equal(bom.body.headers[0], '姓名'); // BOM stripped
  const en = await admin.post('/api/v1/contacts/import/preview', fixture('contacts_english.csv'));
  assert.deepEqual(en.body.mapping, { name: 'name', phone: 'phone', email: 'email', company: 'company', city: 'city' });
  assert.ok(en.body.rows.every((x) => x.ok));
});

test('dry run counts and reports without writing anything', async () => {
  const before = await total();
  const r = await post(fixture('contacts_utf8.csv'), 'dry_run=1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.dry_run, true);
  assert.equal(r.body.rows_total, 15);
  assert.equal(r.body.rejected, 15); // owners/sources/stores unknown
  assert.ok(r.body.errors.some((e) => e.line === 2 && e.column === '来源'));
  const ok = await post(fixture('contacts_utf8.csv'), `dry_run=1&mapping=${IGNORE_REFS}`);
  assert.equal(ok.body.imported, 15);
  assert.equal(ok.body.rejected, 0);
  assert.equal(await total(), before);
  assert.equal((await admin.get('/api/v1/imports')).body.total, 0);
});

test('UTF-8, UTF-8 BOM and GBK fixtures: import, then de-duplicate by identity', async () => {
  const before = await total();
  const r = await post(fixture('contacts_utf8.csv'), `mapping=${IGNORE_REFS}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'completed');
  assert.equal(r.body.encoding, 'utf-8');
  assert.equal(r.body.imported, 15);
  assert.equal(r.body.rows_done, 15);
  assert.equal(await total(), before + 15);
  const zw = await admin.get('/api/v1/contacts/lookup?type=phone&value=13812345678');
  assert.equal(zw.status, 200, zw.text);
  assert.equal(zw.body.name, '张伟');
  assert.equal(zw.body.gender, 'male');
  assert.equal(zw.body.birthday, '1988-03-14');
  const ln = await admin.get('/api/v1/contacts/lookup?type=phone&value=%2B8615900005678');
  assert.equal(ln.body.company, '深圳市南山区星河科技有限公司, 上海分公司');
  const yl = await admin.get('/api/v1/contacts/lookup?type=email&value=yanglei@example.org');
  assert.equal(yl.body.company, '𠮷野家餐饮管理（上海）有限公司');
  const cj = await admin.get('/api/v1/contacts/lookup?type=email&value=chenjing@example.com');
  assert.equal(cj.body.company, '成都"好再来"火锅店');

  // the BOM file is the same people: skipped when dedupe=skip
  const b = await post(fixture('contacts_utf8_bom.csv'), `dedupe=skip&mapping=${IGNORE_REFS}`);
  assert.equal(b.status, 200, b.text);
  assert.equal(b.body.skipped, 15);
  assert.equal(b.body.imported, 0);
  assert.equal(b.body.mapping['姓名'], 'name');
  // GBK: same people, updated (吉 replaces 𠮷 in the GBK file)
  const g = await post(fixture('contacts_gbk.csv'), `dedupe=update&mapping=${IGNORE_REFS}`);
  assert.equal(g.status, 200, g.text);
  assert.equal(g.body.encoding, 'gb18030');
  assert.equal(g.body.updated, 15);
  assert.equal(await total(), before + 15);
  const yl2 = await admin.get('/api/v1/contacts/lookup?type=email&value=yanglei@example.org');
  assert.equal(yl2.body.company, '吉野家餐饮管理（上海）有限公司');
  const tl = await admin.get(`/api/v1/contacts/${yl2.body.id}/timeline`);
  assert.ok(tl.body.items.some((i) => i.kind === 'change' && i.via === 'import'));
  // forcing the wrong encoding is a clear file-level error
  assertError(await post(fixture('contacts_gbk.csv'), 'encoding=utf-8'), 400, 'invalid_argument');
  assert.ok((await admin.get('/api/v1/imports')).body.items.length >= 3);
});

test('Excel-mangled numbers are rejected row by row; the error report is a CSV', async () => {
  const before = await total();
  const r = await post(fixture('contacts_mangled.csv'), `mapping=${IGNORE_REFS}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.rejected, 3);
  assert.equal(r.body.imported + r.body.updated, 7);
  assert.equal(await total(), before + r.body.imported);
  const rep = await admin.get(`/api/v1/imports/${r.body.id}/errors.csv`);
  assert.equal(rep.status, 200, rep.text);
  assert.match(rep.headers.get('content-type'), /text\/csv/);
  const lines = rep.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  assert.equal(lines[0], 'line,column,reason');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), ['3', '6', '10']);
  assert.ok(lines.slice(1).every((l) => l.split(',')[1] === '手机号' && /Excel/.test(l)), rep.text);
  assertError(await admin.get('/api/v1/imports/999999/errors.csv'), 404, 'not_found');
});

test('strict mode imports nothing when one row is bad', async () => {
  const before = await total();
  const csv = '姓名,手机号\n甲,19800000001\n乙,12345\n丙,19800000003\n';
  const r = await post(csv, 'strict=1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'failed');
  assert.equal(r.body.imported, 0);
  assert.equal(r.body.rejected, 1);
  assert.match(r.body.error, /strict/);
  assert.equal(await total(), before);
  assertError(await admin.get('/api/v1/contacts/lookup?type=phone&value=19800000001'), 404, 'not_found');
  const rep = await admin.get(`/api/v1/imports/${r.body.id}/errors.csv`);
  assert.match(rep.text, /\r\n3,手机号,/);
  // the same file without strict imports the two good rows
  const ok = await post(csv);
  assert.equal(ok.body.imported, 2);
  assert.equal(await total(), before + 2);
  // a row with more columns than the header is rejected, not shifted
  const wide = await post(fixture('contacts_too_many_columns.csv'), `dry_run=1&mapping=${IGNORE_REFS}`);
  assert.equal(wide.status, 200, wide.text);
  assert.ok(wide.body.errors.some((e) => e.line === 6 && /11 columns/.test(e.reason)), wide.text);
});

test('file-level errors and bad parameters change nothing', async () => {
  const before = await total();
  const imports = (await admin.get('/api/v1/imports')).body.total;
  const broken = await post(fixture('contacts_broken.csv'));
  assertError(broken, 400, 'invalid_argument');
  assert.match(broken.body.error.message, /line 5/);
  const bad = await post(fixture('contacts_invalid_bytes.csv'), 'encoding=utf-8');
  assertError(bad, 400, 'invalid_argument');
  assert.match(bad.body.error.message, /line 9/);
  assertError(await post(''), 400, 'invalid_argument');
  assertError(await post('公司,城市\n甲,上海\n'), 400, 'invalid_argument', 'mapping'); // no identity column
  assertError(await post(fixture('contacts_utf8.csv'), 'encoding=latin1'), 400, 'invalid_argument', 'encoding');
  assertError(await post(fixture('contacts_utf8.csv'), 'dedupe=merge'), 400, 'invalid_argument', 'dedupe');
  assertError(await post(fixture('contacts_utf8.csv'), 'strict=maybe'), 400, 'invalid_argument', 'strict');
  assertError(await post(fixture('contacts_utf8.csv'), 'mapping=%7Bnot-json'), 400, 'invalid_argument', 'mapping');
  assertError(await post(fixture('contacts_utf8.csv'), `mapping=${encodeURIComponent('{"手机号":"fax"}')}`), 400, 'invalid_argument', 'mapping');
  assertError(await post(fixture('contacts_utf8.csv'), `mapping=${encodeURIComponent('{"微信":"name"}')}`), 400, 'invalid_argument', 'mapping');
  assertError(await post(fixture('contacts_utf8.csv'), `mapping=${encodeURIComponent('{"邮箱":"phone"}')}`), 400, 'invalid_argument', 'mapping');
  assert.equal(await total(), before);
  assert.equal((await admin.get('/api/v1/imports')).body.total, imports);
  assertError(await admin.get('/api/v1/imports/999999'), 404, 'not_found');
});

test('a large import runs in the background with visible progress', async () => {
  const before = await total();
  const n = 30000;
  let csv = '姓名,手机号,邮箱,城市,状态\n';
  for (let i = 0; i < n; i++) csv += `客户${i},197${String(i).padStart(8, '0')},big${i}@example.com,上海,跟进中\n`;
  const r = await post(csv);
  assert.ok(r.status === 200 || r.status === 202, r.text);
  assert.equal(r.body.rows_total, n);
  assert.match(r.headers.get('location'), new RegExp(`/api/v1/imports/${r.body.id}$`));
  const done = await waitDone(r.body.id);
  assert.equal(done.status, 'completed');
  assert.equal(done.imported, n);
  assert.equal(done.rows_done, n);
  assert.ok(done.published_at > 0);
  assert.equal(await total(), before + n);
  const one = await admin.get('/api/v1/contacts/lookup?type=email&value=big123@example.com');
  assert.equal(one.body.status, 'following');
  const audit = await admin.get('/api/v1/audit?action=contacts.import&limit=100');
  assert.ok(audit.body.items.some((e) => e.target === `import:${r.body.id}`));
});
