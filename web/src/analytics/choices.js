// choices.js — what the analytics forms offer, loaded once per session:
// event names (GET /events/catalog, activity events only, plus "$active"),
// saved segments, and the metric dictionary.
import { reactive } from 'vue';
import { eventsApi } from '../eventsApi.js';
import { segmentsApi } from '../segmentsApi.js';
import { loadDictionary } from '../analyticsApi.js';

export const choices = reactive({ events: [], segments: [], metrics: [], loaded: {} });

export async function loadChoices(...names) {
  const jobs = [];
  if (names.includes('events') && !choices.loaded.events) {
    choices.loaded.events = true;
    jobs.push(eventsApi.catalog().then((r) => {
      choices.events = (r.items || []).filter((e) => !e.system && !String(e.name).startsWith('$')).map((e) => e.name).sort();
    }).catch(() => { choices.loaded.events = false; }));
  }
  if (names.includes('segments') && !choices.loaded.segments) {
    choices.loaded.segments = true;
    jobs.push(segmentsApi.list().then((r) => { choices.segments = r.items || []; }).catch(() => { choices.loaded.segments = false; }));
  }
  if (names.includes('metrics') && !choices.loaded.metrics) {
    choices.loaded.metrics = true;
    jobs.push(loadDictionary().then((d) => { choices.metrics = d; }).catch(() => { choices.loaded.metrics = false; }));
  }
  await Promise.all(jobs);
  return choices;
}
// After "save as segment", the segment list changes.
export function invalidateSegments() { choices.loaded.segments = false; }
