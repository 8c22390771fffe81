// Staff, sessions, tokens, write keys, roles, settings and the audit log,
// against a real server (see harness.mjs). Every refused request is checked
// for its status, its error code and that nothing changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Client } from './harness.mjs';

let srv;
let admin; // bearer-token client (demo admin API token)
before(async () => {
  srv = await startServer({ contacts: 20 });
  admin = srv.admin();
});
after(async () => { await srv.stop(); srv.cleanup(); });

const byRole = (role, i = 0) => srv.demo.staff.filter((s) => s.role === role)[i];

function assertError(res, status, code, re) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.body?.error?.code, code, res.text);
  assert.ok(res.body.error.message.length > 0);
  if (re) assert.match(res.body.error.message, re);
}

async function count(path) {
  const r = await admin.get(path);
  assert.equal(r.status, 200, r.text);
  return r.body.total;
}

async function auditHas(action, pred = () => true) {
  const r = await admin.get(`/api/v1/audit?action=${encodeURIComponent(action)}&limit=500`);
  assert.equal(r.status, 200, r.text);
  return r.body.items.some(pred);
}

function rawLogin(username, password) {
  return srv.anon.post('/api/v1/auth/login', { username, password });
}

test('login sets an HttpOnly SameSite cookie; me; logout ends the session', async () => {
  const res = await rawLogin(srv.demo.admin.username, srv.demo.admin.password);
  assert.equal(res.status, 200, res.text);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('siyu_session='));
  assert.ok(cookie, 'no siyu_session cookie');
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.match(cookie, /Path=\//);
  assert.match(res.body.csrf_token, /^[0-9a-f]{32}$/);
  assert.equal(res.body.staff.username, 'admin');
  assert.equal(res.body.scope, 'all');
  assert.equal(res.body.perms.length, 11);

  const c = new Client(srv.base, { cookie: cookie.split(';')[0], csrf: res.body.csrf_token });
  const me = await c.get('/api/v1/auth/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.staff.id, res.body.staff.id);
  assert.equal(me.body.role.key, 'admin');
  assert.equal(me.body.csrf_token, res.body.csrf_token);
  assert.ok(me.body.perms.includes('audit.read'));

  const out = await c.post('/api/v1/auth/logout', {});
  assert.equal(out.status, 200);
  assert.match(out.headers.getSetCookie().join(), /siyu_session=;.*Max-Age=0/);
  assertError(await c.get('/api/v1/auth/me'), 401, 'unauthenticated', /expired|log in/);
  assert.ok(await auditHas('auth.login', (e) => e.username === 'admin' && e.ip === '127.0.0.1'));
  assert.ok(await auditHas('auth.logout'));
});

test('a demo sales user logs in and sees their own role and scope', async () => {
  const s = byRole('sales');
  const c = await srv.login(s.username, s.password);
  const me = await c.get('/api/v1/auth/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.staff.name, s.name);
  assert.equal(me.body.role.key, 'sales');
  assert.equal(me.body.scope, 'own');
  assert.deepEqual(me.body.perms, ['contacts.read', 'contacts.write']);
});

test('bad password and unknown user get the same 401; failures are audited', async () => {
  const s = byRole('operations');
  const bad = await rawLogin(s.username, 'not-the-password');
  assertError(bad, 401, 'unauthenticated', /wrong username or password/);
  assert.equal(bad.headers.getSetCookie().length, 0);
  const unknown = await rawLogin('nobody-here', 'whatever1');
  assertError(unknown, 401, 'unauthenticated', /wrong username or password/);
  assert.ok(await auditHas('auth.login_failed', (e) => e.username === s.username && e.detail.reason === 'bad_password'));
  assert.ok(await auditHas('auth.login_failed', (e) => e.username === 'nobody-here' && e.detail.reason === 'unknown_user'));
});

test('login bodies are strict: missing, unknown and mistyped fields are 400', async () => {
  assertError(await srv.anon.post('/api/v1/auth/login', { username: 'admin' }), 400, 'invalid_argument', /password/);
  const unk = await srv.anon.post('/api/v1/auth/login', { username: 'admin', password: 'x', remember: true });
  assertError(unk, 400, 'invalid_argument', /remember/);
  assert.equal(unk.body.error.details.field, 'remember');
  assertError(await srv.anon.post('/api/v1/auth/login', { username: 'admin', password: 12345678 }), 400, 'invalid_argument', /password/);
  assertError(await srv.anon.post('/api/v1/auth/login', '{"username": "admin",', { 'content-type': 'application/json' }),
    400, 'invalid_argument');
});

test('five failed logins for one user name and address → 429 rate_limited, even with the right password', async () => {
  const s = byRole('group_owner');
  for (let i = 0; i < 5; i++) assertError(await rawLogin(s.username, `wrong-${i}-pass`), 401, 'unauthenticated');
  const limited = await rawLogin(s.username, s.password);
  assertError(limited, 429, 'rate_limited', /too many failed logins/);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  // someone else is not affected
  const other = byRole('group_owner', 1);
  assert.equal((await rawLogin(other.username, other.password)).status, 200);
  assert.ok(await auditHas('auth.login_rate_limited', (e) => e.username === s.username));
  const m = await srv.anon.get('/metrics');
  assert.match(m.text, /siyu_logins_total\{result="rate_limited"\} [1-9]/);
});

test('a cookie write without the CSRF token is 403 csrf_failed and changes nothing', async () => {
  const c = await srv.login();
  const before = await count('/api/v1/departments');
  const noCsrf = new Client(srv.base, { cookie: c.cookie });
  assertError(await noCsrf.post('/api/v1/departments', { name: '跨站部' }), 403, 'csrf_failed', /X-CSRF-Token/);
  const wrong = new Client(srv.base, { cookie: c.cookie, csrf: '0'.repeat(32) });
  assertError(await wrong.post('/api/v1/departments', { name: '跨站部' }), 403, 'csrf_failed');
  assertError(await noCsrf.patch('/api/v1/settings', { workspace_name: 'hacked' }), 403, 'csrf_failed');
  assert.equal(await count('/api/v1/departments'), before);
  assert.notEqual((await admin.get('/api/v1/settings')).body.workspace_name, 'hacked');
  // reads need no token, and with the token the write goes through
  assert.equal((await noCsrf.get('/api/v1/departments')).status, 200);
  const ok = await c.post('/api/v1/departments', { name: '跨站部' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal((await c.del(`/api/v1/departments/${ok.body.id}`)).status, 200);
});

test('garbage and expired sessions are 401 with a message saying the session expired', async () => {
  const g = new Client(srv.base, { cookie: 'siyu_session=deadbeef' });
  assertError(await g.get('/api/v1/auth/me'), 401, 'unauthenticated', /session expired/);
  assertError(await srv.anon.get('/api/v1/staff'), 401, 'unauthenticated');

  const short = await startServer({ contacts: 1, env: { SIYU_SESSION_IDLE_SECONDS: '1' } });
  try {
    const c = await short.login();
    assert.equal((await c.get('/api/v1/auth/me')).status, 200);
    await new Promise((r) => setTimeout(r, 1300));
    assertError(await c.get('/api/v1/auth/me'), 401, 'unauthenticated', /session expired/);
    // and a write with the stale session changes nothing
    assertError(await c.post('/api/v1/departments', { name: '过期部' }), 401, 'unauthenticated');
    const list = await short.admin().get('/api/v1/departments');
    assert.ok(!list.body.items.some((d) => d.name === '过期部'));
  } finally {
    await short.stop();
    short.cleanup();
  }
});

test('API tokens: shown once, carry the owner\'s rights without CSRF, revoked tokens fail', async () => {
  const c = await srv.login();
  const created = await c.post('/api/v1/api-tokens', { name: '报表脚本' });
  assert.equal(created.status, 201, created.text);
  assert.match(created.body.token, /^syt_[0-9a-f]{48}$/);
  const list = await c.get('/api/v1/api-tokens');
  const row = list.body.items.find((t) => t.id === created.body.id);
  assert.ok(row);
  assert.equal(row.token, undefined, 'token must not be listed');
  assert.equal(row.prefix, created.body.token.slice(0, 8));

  const t = new Client(srv.base, { token: created.body.token });
  const me = await t.get('/api/v1/auth/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.via, 'token');
  assert.equal(me.body.csrf_token, null);
  const dep = await t.post('/api/v1/departments', { name: '脚本部' }); // no CSRF needed
  assert.equal(dep.status, 201, dep.text);
  await t.del(`/api/v1/departments/${dep.body.id}`);

  const rev = await c.del(`/api/v1/api-tokens/${created.body.id}`);
  assert.equal(rev.status, 200);
  assert.ok(rev.body.revoked_at > 0);
  assertError(await t.get('/api/v1/auth/me'), 401, 'unauthenticated', /revoked/);
  assertError(await new Client(srv.base, { token: 'syt_nonsense' }).get('/api/v1/auth/me'), 401, 'unauthenticated');
  assert.ok(await auditHas('api_tokens.revoke'));
});

test('a sales user\'s own API token has sales rights only', async () => {
  const s = byRole('sales', 1);
  const c = await srv.login(s.username, s.password);
  const created = await c.post('/api/v1/api-tokens', { name: 'mine' });
  assert.equal(created.status, 201, created.text);
  const t = new Client(srv.base, { token: created.body.token });
  assertError(await t.get('/api/v1/audit'), 403, 'permission_denied');
  // tokens for someone else need settings.manage
  assertError(await c.post('/api/v1/api-tokens', { name: 'theirs', staff_id: 1 }), 403, 'permission_denied');
  // they only see their own tokens
  const list = await c.get('/api/v1/api-tokens');
  assert.ok(list.body.items.every((x) => x.staff_id === s.id));
});

test('a write key never passes a management route', async () => {
  const key = srv.demo.write_key;
  const basic = { authorization: 'Basic ' + Buffer.from(`${key}:`).toString('base64') };
  const before = await count('/api/v1/departments');
  for (const [m, p] of [['GET', '/api/v1/staff'], ['GET', '/api/v1/auth/me'], ['POST', '/api/v1/departments'], ['GET', '/api/v1/audit']]) {
    const r = await srv.anon.req(m, p, m === 'POST' ? { name: '写入部' } : undefined, basic);
    assertError(r, 403, 'permission_denied', /write key/);
  }
  const bearer = new Client(srv.base, { token: key });
  assertError(await bearer.get('/api/v1/staff'), 403, 'permission_denied', /write key/);
  assert.equal(await count('/api/v1/departments'), before);
  // write keys are listed without the secret and can be created and revoked
  const created = await admin.post('/api/v1/write-keys', { name: 'iOS app' });
  assert.equal(created.status, 201, created.text);
  assert.match(created.body.key, /^swk_[0-9a-f]{32}$/);
  const list = await admin.get('/api/v1/write-keys');
  assert.ok(list.body.items.every((k) => k.key === undefined));
  assert.equal((await admin.del(`/api/v1/write-keys/${created.body.id}`)).status, 200);
  assertError(await admin.del('/api/v1/write-keys/99999'), 404, 'not_found');
});

test('a sales user is denied staff, role, settings, write-key and audit management', async () => {
  const s = byRole('sales', 2);
  const c = await srv.login(s.username, s.password);
  const staffBefore = await count('/api/v1/staff');
  const rolesBefore = await count('/api/v1/roles');
  const settingsBefore = (await admin.get('/api/v1/settings')).body;
  const denied = [
    ['POST', '/api/v1/staff', { username: 'sneaky', name: '偷偷', password: 'password1', role: 'admin' }],
    ['PATCH', `/api/v1/staff/${s.id}`, { role: 'admin' }],
    ['POST', `/api/v1/staff/1/deactivate`, {}],
    ['POST', `/api/v1/staff/1/password`, { password: 'password1' }],
    ['POST', '/api/v1/roles', { key: 'mine', name: '我的', perms: ['audit.read'], scope: 'all' }],
    ['PATCH', '/api/v1/roles/3', { scope: 'all' }],
    ['DELETE', '/api/v1/roles/3'],
    ['POST', '/api/v1/departments', { name: '偷偷部' }],
    ['POST', '/api/v1/stores', { name: '偷偷店', code: 'X1' }],
    ['PATCH', '/api/v1/settings', { workspace_name: 'mine' }],
    ['GET', '/api/v1/audit'],
    ['GET', '/api/v1/write-keys'],
    ['POST', '/api/v1/write-keys', { name: 'k' }],
  ];
  for (const [m, p, b] of denied) {
    const r = await c.req(m, p, b);
    assertError(r, 403, 'permission_denied');
  }
  assert.equal(await count('/api/v1/staff'), staffBefore);
  assert.equal(await count('/api/v1/roles'), rolesBefore);
  assert.deepEqual((await admin.get('/api/v1/settings')).body, settingsBefore);
  const me = await admin.get(`/api/v1/staff/${s.id}`);
  assert.equal(me.body.role, 'sales');
  // reading the directory is allowed to every staff member
  assert.equal((await c.get('/api/v1/staff')).status, 200);
  assert.equal((await c.get('/api/v1/roles')).status, 200);
  assert.equal((await c.get('/api/v1/settings')).status, 200);
});

test('departments and stores: create, read, rename, refuse duplicates and deleting used ones', async () => {
  const d = await admin.post('/api/v1/departments', { name: '华北销售部' });
  assert.equal(d.status, 201, d.text);
  assert.equal(d.body.staff_count, 0);
  assertError(await admin.post('/api/v1/departments', { name: '华北销售部' }), 409, 'conflict', /already exists/);
  assertError(await admin.post('/api/v1/departments', { name: '' }), 400, 'invalid_argument');
  const p = await admin.patch(`/api/v1/departments/${d.body.id}`, { name: '华北大区' });
  assert.equal(p.body.name, '华北大区');
  assertError(await admin.patch('/api/v1/departments/99999', { name: 'x' }), 404, 'not_found');
  const used = srv.demo.departments[0];
  assertError(await admin.del(`/api/v1/departments/${used}`), 409, 'conflict', /staff/);
  assert.equal((await admin.get(`/api/v1/departments/${used}`)).status, 200);
  assert.equal((await admin.del(`/api/v1/departments/${d.body.id}`)).status, 200);
  assertError(await admin.get(`/api/v1/departments/${d.body.id}`), 404, 'not_found');

  const s = await admin.post('/api/v1/stores', { name: '北京国贸店', code: 'BJ001', city: '北京' });
  assert.equal(s.status, 201, s.text);
  assert.equal(s.body.city, '北京');
  assertError(await admin.post('/api/v1/stores', { name: '北京二店', code: 'bj001', city: '北京' }), 409, 'conflict');
  assertError(await admin.post('/api/v1/stores', { name: '北京三店', code: 'BJ 3' }), 400, 'invalid_argument', /code/);
  assertError(await admin.post('/api/v1/stores', { name: '北京四店' }), 400, 'invalid_argument', /code/);
  const sp = await admin.patch(`/api/v1/stores/${s.body.id}`, { city: '北京市' });
  assert.equal(sp.body.city, '北京市');
  assert.equal(sp.body.code, 'BJ001');
  const sh = await admin.get('/api/v1/stores?city=上海');
  assert.equal(sh.body.total, 3);
  assert.equal((await admin.del(`/api/v1/stores/${s.body.id}`)).status, 200);
  assertError(await admin.del(`/api/v1/stores/${srv.demo.stores[0]}`), 409, 'conflict');
  // a store that only contacts refer to (no staff) cannot be deleted either
  const lone = await admin.post('/api/v1/stores', { name: '杭州一店', code: 'HZ001', city: '杭州' });
  assert.equal(lone.status, 201, lone.text);
  const c = await admin.post('/api/v1/contacts', { name: '门店客户', phone: '13700001111', store_id: lone.body.id });
  assert.equal(c.status, 201, c.text);
  const refused = await admin.del(`/api/v1/stores/${lone.body.id}`);
  assertError(refused, 409, 'conflict', /1 contacts/);
  assert.equal((await admin.get(`/api/v1/stores/${lone.body.id}`)).status, 200, 'nothing deleted');
  assert.equal((await admin.get(`/api/v1/contacts/${c.body.id}`)).body.store_id, lone.body.id);
});

test('staff: create, log in, change role, reset password, deactivate kills sessions and tokens', async () => {
  const c = await srv.login();
  const created = await c.post('/api/v1/staff', {
    username: 'zhaoxin', name: '赵新', password: 'first-pass-1', role: 'sales',
    department_id: srv.demo.departments[0], store_id: srv.demo.stores[0],
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.role, 'sales');
  assert.equal(created.body.active, true);
  assert.equal(created.body.password, undefined);
  assert.equal(created.body.password_hash, undefined);
  const id = created.body.id;
  assertError(await c.post('/api/v1/staff', { username: 'ZhaoXin', name: '重名', password: 'first-pass-1', role: 'sales' }),
    409, 'conflict', /already taken/);
  assertError(await c.post('/api/v1/staff', { username: 'x y', name: 'a', password: 'first-pass-1', role: 'sales' }),
    400, 'invalid_argument', /username/);
  assertError(await c.post('/api/v1/staff', { username: 'shorty', name: 'a', password: 'short', role: 'sales' }),
    400, 'invalid_argument', /password/);
  assertError(await c.post('/api/v1/staff', { username: 'norole', name: 'a', password: 'first-pass-1', role: 'wizard' }),
    400, 'invalid_argument', /wizard/);
  assertError(await c.post('/api/v1/staff', { username: 'nodept', name: 'a', password: 'first-pass-1', role: 'sales', department_id: 999 }),
    400, 'invalid_argument', /department 999/);

  const theirs = await srv.login('zhaoxin', 'first-pass-1');
  const tok = (await theirs.post('/api/v1/api-tokens', { name: 'theirs' })).body.token;
  assert.ok(tok);

  // role change is audited
  const p = await c.patch(`/api/v1/staff/${id}`, { role: 'store_manager', name: '赵新新' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.role, 'store_manager');
  assert.equal(p.body.name, '赵新新');
  assert.ok(await auditHas('staff.role_change', (e) => e.target === `staff:${id}` && e.detail.to_role === 'store_manager'));
  const me = await theirs.get('/api/v1/auth/me');
  assert.equal(me.body.scope, 'store'); // takes effect at once
  const cleared = await c.patch(`/api/v1/staff/${id}`, { store_id: null });
  assert.equal(cleared.body.store_id, null);

  // password reset ends their sessions; new password works
  assert.equal((await c.post(`/api/v1/staff/${id}/password`, { password: 'second-pass-2' })).status, 200);
  assertError(await theirs.get('/api/v1/auth/me'), 401, 'unauthenticated');
  assertError(await rawLogin('zhaoxin', 'first-pass-1'), 401, 'unauthenticated');
  const again = await srv.login('zhaoxin', 'second-pass-2');

  // deactivation: sessions and tokens die, login refused, audited
  const d = await c.post(`/api/v1/staff/${id}/deactivate`, {});
  assert.equal(d.status, 200, d.text);
  assert.equal(d.body.active, false);
  assert.ok(d.body.deactivated_at > 0);
  assertError(await again.get('/api/v1/auth/me'), 401, 'unauthenticated');
  assertError(await new Client(srv.base, { token: tok }).get('/api/v1/auth/me'), 401, 'unauthenticated');
  assertError(await rawLogin('zhaoxin', 'second-pass-2'), 401, 'unauthenticated', /deactivated/);
  assert.ok(await auditHas('staff.deactivate', (e) => e.target === `staff:${id}` && e.detail.tokens_revoked === 1));
  const inactive = await admin.get('/api/v1/staff?active=false');
  assert.ok(inactive.body.items.some((x) => x.id === id));
  // an admin cannot deactivate themselves
  const self = (await c.get('/api/v1/auth/me')).body.staff.id;
  assertError(await c.post(`/api/v1/staff/${self}/deactivate`, {}), 409, 'conflict');
  // reactivate
  assert.equal((await c.post(`/api/v1/staff/${id}/activate`, {})).body.active, true);
  assert.equal((await rawLogin('zhaoxin', 'second-pass-2')).status, 200);
});

test('staff bodies are strict: unknown fields, wrong types, malformed JSON → 400, nothing changed', async () => {
  const before = await count('/api/v1/staff');
  const s = byRole('operations', 1);
  let r = await admin.post('/api/v1/staff', { username: 'strict1', name: '严格', password: 'password-1', role: 'sales', nickname: 'x' });
  assertError(r, 400, 'invalid_argument', /nickname/);
  assert.equal(r.body.error.details.field, 'nickname');
  r = await admin.post('/api/v1/staff', { username: 'strict1', name: 5, password: 'password-1', role: 'sales' });
  assertError(r, 400, 'invalid_argument', /name/);
  assert.equal(r.body.error.details.field, 'name');
  r = await admin.post('/api/v1/staff', { username: 'strict1', name: '严格', password: 'password-1', role_id: 'three' });
  assertError(r, 400, 'invalid_argument', /role_id/);
  r = await admin.post('/api/v1/staff', '{"username":"strict1",}', { 'content-type': 'application/json' });
  assertError(r, 400, 'invalid_argument');
  r = await admin.post('/api/v1/staff', '[1,2]', { 'content-type': 'application/json' });
  assertError(r, 400, 'invalid_argument');
  r = await admin.patch(`/api/v1/staff/${s.id}`, { department_id: 'x' });
  assertError(r, 400, 'invalid_argument', /department_id/);
  r = await admin.patch(`/api/v1/staff/${s.id}`, { active: false });
  assertError(r, 400, 'invalid_argument', /active/);
  r = await admin.patch('/api/v1/roles/3', { perms: 'contacts.read' });
  assertError(r, 400, 'invalid_argument', /perms/);
  r = await admin.patch('/api/v1/settings', { timezone: 8 });
  assertError(r, 400, 'invalid_argument', /timezone/);
  r = await admin.get('/api/v1/staff?limit=0');
  assertError(r, 400, 'invalid_argument', /limit/);
  r = await admin.get('/api/v1/staff?cursor=abc');
  assertError(r, 400, 'invalid_argument', /cursor/);
  r = await admin.get('/api/v1/staff/abc');
  assertError(r, 400, 'invalid_argument');
  assert.equal(await count('/api/v1/staff'), before);
  const after = await admin.get(`/api/v1/staff/${s.id}`);
  assert.equal(after.body.department_id, s.department_id);
  assert.equal(after.body.active, true);
});

test('roles: custom roles, audited permission changes, built-ins protected, no escalation', async () => {
  const perms = await admin.get('/api/v1/permissions');
  assert.equal(perms.body.items.length, 11);
  assert.ok(perms.body.items.some((p) => p.name === 'contacts.phone'));

  const roles = (await admin.get('/api/v1/roles')).body.items;
  for (const [key, name, scope] of [['admin', '管理员', 'all'], ['operations', '运营', 'all'], ['sales', '销售', 'own'],
    ['store_manager', '店长', 'store'], ['group_owner', '群主', 'own']]) {
    const r = roles.find((x) => x.key === key);
    assert.ok(r, key);
    assert.equal(r.name, name);
    assert.equal(r.scope, scope);
    assert.equal(r.builtin, true);
  }
  const ops = roles.find((x) => x.key === 'operations');
  assert.ok(ops.perms.includes('contacts.export') && ops.perms.includes('contacts.import'));
  assert.ok(!ops.perms.includes('staff.manage') && !ops.perms.includes('roles.manage'));

  const c = await srv.login();
  const created = await c.post('/api/v1/roles', { key: 'hr', name: '人事', perms: ['staff.manage'], scope: 'own' });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.perms, ['staff.manage']);
  assert.equal(created.body.builtin, false);
  assert.ok(await auditHas('roles.create', (e) => e.detail.key === 'hr'));
  assertError(await c.post('/api/v1/roles', { key: 'hr', name: '人事2', perms: [], scope: 'own' }), 409, 'conflict');
  assertError(await c.post('/api/v1/roles', { key: 'x1', name: '坏', perms: ['contacts.fly'], scope: 'own' }),
    400, 'invalid_argument', /contacts\.fly/);
  assertError(await c.post('/api/v1/roles', { key: 'x2', name: '坏', perms: [], scope: 'galaxy' }), 400, 'invalid_argument', /scope/);
  const unnamed = await c.post('/api/v1/roles', { name: '临时', perms: ['contacts.read'], scope: 'department' });
  assert.equal(unnamed.status, 201, unnamed.text);
  assert.equal(unnamed.body.key, `custom_${unnamed.body.id}`);

  const patched = await c.patch(`/api/v1/roles/${created.body.id}`, { perms: ['staff.manage', 'contacts.read'], scope: 'department' });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.body.perms, ['contacts.read', 'staff.manage']);
  assert.ok(await auditHas('roles.update', (e) => e.target === `role:${created.body.id}` &&
    e.detail.before.scope === 'own' && e.detail.after.scope === 'department' &&
    e.detail.after.perms.includes('contacts.read')));

  const admins = roles.find((x) => x.key === 'admin');
  assertError(await c.patch(`/api/v1/roles/${admins.id}`, { perms: ['contacts.read'] }), 409, 'conflict', /admin/);
  assertError(await c.del(`/api/v1/roles/${roles.find((x) => x.key === 'sales').id}`), 409, 'conflict', /built-in/);

  // an HR person (staff.manage only) cannot hand out admin or edit an admin
  const hr = await c.post('/api/v1/staff', { username: 'hr01', name: '人事甲', password: 'hr-pass-01', role: 'hr' });
  assert.equal(hr.status, 201, hr.text);
  const h = await srv.login('hr01', 'hr-pass-01');
  const before = await count('/api/v1/staff');
  assertError(await h.post('/api/v1/staff', { username: 'boss', name: '老板', password: 'boss-pass-1', role: 'admin' }),
    403, 'permission_denied', /do not hold/);
  assertError(await h.post('/api/v1/staff/1/password', { password: 'taken-over-1' }), 403, 'permission_denied');
  assert.equal(await count('/api/v1/staff'), before);
  const ok = await h.post('/api/v1/staff', { username: 'newbie', name: '新人', password: 'newbie-pass', role: 'hr' });
  assert.equal(ok.status, 201, ok.text);

  // a role in use cannot be deleted; an unused one can
  assertError(await c.del(`/api/v1/roles/${created.body.id}`), 409, 'conflict', /held by/);
  assert.equal((await c.del(`/api/v1/roles/${unnamed.body.id}`)).status, 200);
  assert.ok(await auditHas('roles.delete'));
});

test('settings: defaults, validated timezone and currency, audited changes', async () => {
  const s = (await admin.get('/api/v1/settings')).body;
  assert.equal(s.timezone, 'Asia/Shanghai');
  assert.equal(s.currency, 'CNY');
  assertError(await admin.patch('/api/v1/settings', { timezone: 'Mars/Olympus' }), 400, 'invalid_argument', /Mars\/Olympus/);
  assertError(await admin.patch('/api/v1/settings', { currency: 'yuan' }), 400, 'invalid_argument', /currency/);
  assertError(await admin.patch('/api/v1/settings', { language: 'zh' }), 400, 'invalid_argument', /language/);
  assert.deepEqual((await admin.get('/api/v1/settings')).body, s);
  const p = await admin.patch('/api/v1/settings', { workspace_name: '测试工作台', timezone: 'Asia/Urumqi' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.timezone, 'Asia/Urumqi');
  assert.equal(p.body.workspace_name, '测试工作台');
  assert.ok(await auditHas('settings.update', (e) => e.detail.timezone === 'Asia/Urumqi'));
  await admin.patch('/api/v1/settings', { timezone: 'Asia/Shanghai' });
});

test('lists paginate with limit and cursor; audit filters by action, staff and time', async () => {
  const total = await count('/api/v1/staff');
  const seen = new Set();
  let cursor = null;
  let pages = 0;
  do {
    const r = await admin.get(`/api/v1/staff?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.total, total);
    for (const s of r.body.items) { assert.ok(!seen.has(s.id)); seen.add(s.id); }
    cursor = r.body.next_cursor;
    pages++;
  } while (cursor && pages < 20);
  assert.equal(seen.size, total);

  const q = await admin.get(`/api/v1/staff?q=${encodeURIComponent(byRole('sales').name)}`);
  assert.ok(q.body.items.some((s) => s.id === byRole('sales').id));
  const dept = await admin.get(`/api/v1/staff?department_id=${srv.demo.departments[2]}`);
  assert.ok(dept.body.items.length >= 3 && dept.body.items.every((s) => s.department_id === srv.demo.departments[2]));

  const logins = await admin.get('/api/v1/audit?action=auth.login&limit=2');
  assert.ok(logins.body.total >= 3);
  assert.equal(logins.body.items.length, 2);
  assert.ok(logins.body.items.every((e) => e.action === 'auth.login'));
  assert.ok(logins.body.items[0].id > logins.body.items[1].id, 'newest first');
  const next = await admin.get(`/api/v1/audit?action=auth.login&limit=2&cursor=${logins.body.next_cursor}`);
  assert.ok(next.body.items.every((e) => e.id < logins.body.items[1].id));
  const auth = await admin.get('/api/v1/audit?action=auth.*&limit=500');
  assert.ok(auth.body.items.every((e) => e.action.startsWith('auth.')));
  assert.ok(auth.body.items.some((e) => e.action === 'auth.login_failed'));
  const mine = await admin.get('/api/v1/audit?staff_id=1&limit=500');
  assert.ok(mine.body.items.length > 0 && mine.body.items.every((e) => e.staff_id === 1));
  const future = await admin.get('/api/v1/audit?from=2999-01-01T00:00:00Z');
  assert.equal(future.body.total, 0);
  const past = await admin.get(`/api/v1/audit?to=${Date.now() + 60000}&limit=1`);
  assert.ok(past.body.total > 0);
  assertError(await admin.get('/api/v1/audit?from=yesterday'), 400, 'invalid_argument', /from/);
});

test('metrics report active staff', async () => {
  const m = await srv.anon.get('/metrics');
  assert.match(m.text, /siyu_staff_active \d+/);
  assert.match(m.text, /siyu_sessions_active \d+/);
});
