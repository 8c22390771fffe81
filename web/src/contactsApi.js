// contactsApi.js — the contact routes the console uses, in one place, so
// that the pages follow docs/openapi/contacts.json through this file only.
import { api, request, qs, download } from './api.js';
import { dayToMs } from './format.js';

// Follow-up states as the API spells them, in display order.
export const STATUSES = ['pending', 'following', 'won', 'no_intent', 'lost'];
export const GENDERS = ['male', 'female', 'unknown'];
export const IDENTITY_TYPES = ['phone', 'email', 'user_id', 'anonymous_id', 'wechat_unionid', 'wechat_openid', 'wecom_external_userid', 'device_id'];

// Console filter (route query) → API query parameters. Date filters are
// calendar days in the workspace timezone; created_to is exclusive.
export function filterParams(f) {
  return {
    q: f.q || undefined,
    status: f.status || undefined,
    source_id: f.source_id || undefined,
    owner_id: f.owner_id || undefined,
    store_id: f.store_id || undefined,
    department_id: f.department_id || undefined,
    created_from: f.created_from ? dayToMs(f.created_from) : undefined,
    created_to: f.created_to ? dayToMs(f.created_to, true) + 1 : undefined,
  };
}

// The lead pool (公海) is its own list route with the same filters.
const listPath = (f) => (f && f.pool ? '/contacts/pool' : '/contacts');

export const contactsApi = {
  list: (filter, limit, cursor, sort) => api.get(listPath(filter), { ...filterParams(filter), limit, cursor, sort }),
  count: async (filter) => (await api.get(listPath(filter), { ...filterParams(filter), limit: 1 })).total,
  get: (id) => api.get(`/contacts/${id}`),
  update: (id, body) => api.patch(`/contacts/${id}`, body),
  followups: (id) => api.get(`/contacts/${id}/follow-ups`, { limit: 100 }),
  addFollowup: (id, body) => api.post(`/contacts/${id}/follow-ups`, body),
  timeline: (id, cursor) => api.get(`/contacts/${id}/timeline`, { limit: 50, cursor }),
  claim: (id) => api.post(`/contacts/${id}/claim`),
  release: (id, reason) => api.post(`/contacts/${id}/return`, { reason }),
  setOwner: (id, ownerId) => api.patch(`/contacts/${id}`, { owner_id: ownerId }),
  mergePreview: (winnerId, loserId) => api.post('/contacts/merge/preview', { winner_id: winnerId, loser_id: loserId }),
  merge: (winnerId, loserId) => api.post('/contacts/merge', { winner_id: winnerId, loser_id: loserId }),
  undoMerge: (mergeId) => api.post(`/contacts/merges/${mergeId}/undo`),
  handover: (fromId, toId) => api.post('/contacts/handover', { from_staff_id: fromId, to_staff_id: toId }),
  exportCsv: (filter) => download('/contacts/export.csv', filterParams(filter), 'contacts.csv'),
  // Import wizard: the body is the file itself.
  importPreview: (file, encoding) => request('POST', '/contacts/import/preview' + qs({ encoding }), file, { contentType: 'text/csv' }),
  importStart: (file, opts) => request('POST', '/contacts/import' + qs(opts), file, { contentType: 'text/csv' }),
  importGet: (id) => api.get(`/imports/${id}`),
  importErrors: (id) => download(`/imports/${id}/errors.csv`, {}, `import-${id}-errors.csv`),
};
