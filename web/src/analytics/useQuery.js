// useQuery.js — runs one analytics question at a time for a page: a loading
// state with elapsed seconds, a cancel (AbortController on the fetch), only
// the latest answer counts, and API errors naming details.field kept per
// field so the forms show them where they belong.
import { ref, onBeforeUnmount } from 'vue';
import { notifyError } from '../composables.js';

export function useQuery(fn) {
  const loading = ref(false);
  const result = ref(null);
  const errors = ref({});
  const error = ref('');
  const elapsed = ref(0);
  const cancelled = ref(false);
  let ctrl = null;
  let timer = null;
  let seq = 0;

  function stopTimer() { clearInterval(timer); timer = null; }

  async function run(...args) {
    if (ctrl) ctrl.abort();
    const my = ++seq;
    ctrl = new AbortController();
    const started = performance.now();
    loading.value = true;
    cancelled.value = false;
    errors.value = {};
    error.value = '';
    elapsed.value = 0;
    stopTimer();
    timer = setInterval(() => { elapsed.value = (performance.now() - started) / 1000; }, 100);
    try {
      const r = await fn(...args, ctrl.signal);
      if (my !== seq) return null;
      result.value = r;
      return r;
    } catch (e) {
      if (my !== seq) return null;
      if (e && e.name === 'AbortError') { cancelled.value = true; return null; }
      if (e && e.field) { errors.value = { [String(e.field).replace(/^\$\.?/, '')]: e.message }; error.value = e.message; } else if (e && e.status && e.status < 500 && e.status !== 401 && e.status !== 403) {
        error.value = e.message;
      } else {
        notifyError(e);
      }
      return null;
    } finally {
      if (my === seq) { loading.value = false; stopTimer(); ctrl = null; }
    }
  }
  function cancel() {
    if (ctrl) ctrl.abort();
  }
  onBeforeUnmount(() => { if (ctrl) ctrl.abort(); stopTimer(); });
  return { loading, result, errors, error, elapsed, cancelled, run, cancel };
}

// The message for a field, also when the API names a member inside it
// ("steps[1].filters[0].value" → shown at "steps[1]" when asked for that).
export function fieldError(errors, name) {
  if (!errors) return '';
  if (errors[name]) return errors[name];
  for (const [k, v] of Object.entries(errors)) {
    if (k.startsWith(`${name}.`) || k.startsWith(`${name}[`)) return v;
  }
  return '';
}
