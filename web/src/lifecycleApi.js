// lifecycleApi.js — the life-cycle routes (docs/lifecycle.md,
// docs/openapi/lifecycle.json): a contact's stage and history, the stage
// distribution now and per day, and the rules.
import { api } from './api.js';

export const STAGES = ['added', 'in_group', 'retained', 'active', 'converted', 'repurchased', 'silent', 'churned'];

export const lifecycleApi = {
  contactStage: (id) => api.get(`/contacts/${id}/stage`),
  distribution: () => api.get('/lifecycle/distribution'),
  daily: (from, to) => api.get('/lifecycle/distribution/daily', { from, to }),
  settings: () => api.get('/lifecycle/settings'),
  saveSettings: (body) => api.put('/lifecycle/settings', body),
};
