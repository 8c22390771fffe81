// composables.js — small shared helpers for pages.
import { ref, onMounted, onBeforeUnmount } from 'vue';
import { ElMessage } from 'element-plus';
import { i18n } from './i18n.js';

// True below 768 px (phones): pages switch to a card list and full-width drawers.
export function useIsPhone() {
  const q = window.matchMedia('(max-width: 767px)');
  const v = ref(q.matches);
  const on = (e) => { v.value = e.matches; };
  onMounted(() => q.addEventListener('change', on));
  onBeforeUnmount(() => q.removeEventListener('change', on));
  return v;
}

// Field errors that mirror the API: an ApiError naming details.field is
// shown under that form item; anything else as a message.
export function useFieldErrors() {
  const errors = ref({});
  function clear() { errors.value = {}; }
  function show(err, known = []) {
    errors.value = {};
    if (err && err.field && (!known.length || known.includes(err.field))) {
      errors.value = { [err.field]: err.message };
    } else {
      notifyError(err);
    }
  }
  return { errors, clear, show };
}

export function notifyError(err) {
  if (err && err.status === 401) return; // the session-expired prompt handles it
  const t = i18n.global.t;
  if (err && err.status === 403) {
    ElMessage.error(`${t('common.forbidden')}${err.message ? '：' + err.message : ''}`);
    return;
  }
  ElMessage.error(err && err.message ? err.message : t('common.failed'));
}

// Animation for ECharts: off when the page was opened with ?noanim=1 (kept
// for the tab) or window.__SIYU_NO_ANIMATION__ is set (browser tests).
export function chartAnimation() {
  try {
    if (new URLSearchParams(location.search).get('noanim') === '1') sessionStorage.setItem('siyu.noanim', '1');
  } catch { /* private mode */ }
  return !(window.__SIYU_NO_ANIMATION__ || sessionStorage.getItem('siyu.noanim') === '1');
}
