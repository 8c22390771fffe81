// dashboardsApi.js — dashboards, their cards, alert rules and fired alerts
// (issue 6 §3). A card holds a question (the body of an analytics call plus
// its "kind"), a chart type and optional thresholds; its data route answers
// {result, headline: {value, trailing_mean, period, unit}, status} where
// status is "green" | "yellow" | "red" | "none" (no thresholds or no value).
// Thresholds: {direction: "higher_is_better" | "lower_is_better", green, red}
// in the question's unit (fen, 0..1 ratios …). Alert rules: {name, card_id,
// condition: {type, value}, webhook_id, enabled}.
import { api } from './api.js';

export const dashboardsApi = {
  list: () => api.get('/dashboards', { limit: 100 }),
  get: (id) => api.get(`/dashboards/${id}`),
  create: (body) => api.post('/dashboards', body),
  update: (id, body) => api.patch(`/dashboards/${id}`, body),
  remove: (id) => api.del(`/dashboards/${id}`),
  addCard: (id, body) => api.post(`/dashboards/${id}/cards`, body),
  updateCard: (id, cardId, body) => api.patch(`/dashboards/${id}/cards/${cardId}`, body),
  removeCard: (id, cardId) => api.del(`/dashboards/${id}/cards/${cardId}`),
  cardData: (id, cardId, signal) => api.get(`/dashboards/${id}/cards/${cardId}/data`, undefined, { signal }),
  alerts: () => api.get('/alerts', { limit: 200 }),
  createAlert: (body) => api.post('/alerts', body),
  updateAlert: (id, body) => api.patch(`/alerts/${id}`, body),
  removeAlert: (id) => api.del(`/alerts/${id}`),
  evaluateAlert: (id) => api.post(`/alerts/${id}/evaluate`, {}),
  alertEvents: (params = {}) => api.get('/alert-events', { limit: 50, ...params }),
  webhooks: () => api.get('/webhooks', { limit: 200 }),
};

export const CHART_TYPES = ['number', 'line', 'bar', 'funnel', 'heatmap', 'table'];
export const DIRECTIONS = ['higher_is_better', 'lower_is_better'];
export const CONDITIONS = ['above', 'below', 'drop_pct_vs_trailing_7', 'rise_pct_vs_trailing_7'];
export function isPctCondition(type) { return type === 'drop_pct_vs_trailing_7' || type === 'rise_pct_vs_trailing_7'; }

// The name of the seeded default dashboard shown on 概览.
export const DEFAULT_DASHBOARD = '概览';

// The kind of a card's question: cards keep it in question.kind.
export function cardKind(card) { return card?.question?.kind || card?.kind || 'metric'; }
// The question without its kind — the body the analytics route takes.
export function cardBody(card) {
  const q = { ...(card?.question || {}) };
  delete q.kind;
  return q;
}
export function cardTitle(card) { return card?.title || card?.name || `#${card?.id}`; }

// Status colours (Element Plus palette).
export const STATUS_COLOR = { green: '#00b42a', yellow: '#ff7d00', red: '#f53f3f' };
