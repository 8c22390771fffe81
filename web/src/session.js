// session.js — who is signed in (GET /api/v1/auth/me) and the workspace
// settings (GET /api/v1/settings), shared by every page. Permission names are
// the API's ("contacts.read" …); the menu and buttons ask can(name).
import { reactive } from 'vue';
import { api, setCsrf } from './api.js';

export const session = reactive({
  loaded: false,     // /auth/me was asked at least once
  me: null,          // {staff, role, perms, scope} or null when signed out
  settings: { name: '', timezone: 'Asia/Shanghai', currency: 'CNY' },
  expired: false,    // set when a 401 ended the session
});

function normalizeMe(m) {
  if (!m) return null;
  const staff = m.staff || m;
  let perms = m.perms || (m.role && m.role.perms) || [];
  if (!Array.isArray(perms)) perms = Object.keys(perms).filter((k) => perms[k]);
  const role = m.role || null;
  const scope = m.scope || (role && role.scope) || 'own';
  return { ...m, staff, role, perms, scope };
}

export function can(perm) {
  const me = session.me;
  if (!me) return false;
  if (Array.isArray(perm)) return perm.some((p) => me.perms.includes(p));
  return me.perms.includes(perm);
}

export async function loadMe() {
  try {
    const m = await api.get('/auth/me', undefined, { noExpire: true });
    session.me = normalizeMe(m);
    if (m && m.csrf_token) setCsrf(m.csrf_token);
    await loadSettings();
  } catch {
    session.me = null;
  }
  session.loaded = true;
  return session.me;
}

export async function loadSettings() {
  try {
    const s = await api.get('/settings');
    if (s) Object.assign(session.settings, s.settings || s);
  } catch { /* keep defaults; settings are readable by every staff member */ }
}

export async function login(username, password) {
  const r = await api.post('/auth/login', { username, password }, { noExpire: true });
  setCsrf(r.csrf_token);
  session.expired = false;
  await loadMe();
  return session.me;
}

export async function logout() {
  try { await api.post('/auth/logout', {}, { noExpire: true }); } catch { /* already gone */ }
  setCsrf('');
  session.me = null;
}

export function staffName(me = session.me) {
  if (!me) return '';
  const s = me.staff || {};
  return s.name || s.username || '';
}
