// refs.js — reference lists the pages show as names (staff, stores,
// departments, channels, roles, custom attribute definitions). Loaded once
// per session on demand; a list the signed-in role may not read stays empty
// and the pages fall back to the names the contact rows carry, or "#id".
import { reactive } from 'vue';
import { listAll, api } from './api.js';

export const refs = reactive({ staff: [], stores: [], departments: [], channels: [], roles: [], attributes: [] });
const loaded = {};

const SOURCES = {
  staff: '/staff', stores: '/stores', departments: '/departments', channels: '/channels',
  roles: '/roles', attributes: '/contact-attributes',
};

export async function loadRef(name, force = false) {
  if (loaded[name] && !force) return refs[name];
  loaded[name] = true;
  try {
    const r = await api.get(SOURCES[name], { limit: 500 });
    refs[name] = Array.isArray(r) ? r : (r.items || []);
    if (r && r.next_cursor) refs[name] = await listAll(SOURCES[name]);
  } catch {
    refs[name] = [];
  }
  return refs[name];
}

export function loadRefs(...names) { return Promise.all(names.map((n) => loadRef(n))); }
export function invalidateRef(name) { loaded[name] = false; }

export function nameOf(list, id) {
  if (id === null || id === undefined || id === 0 || id === '') return '—';
  const x = refs[list].find((v) => String(v.id) === String(id));
  return x ? (x.name || x.username || x.code || `#${id}`) : `#${id}`;
}
