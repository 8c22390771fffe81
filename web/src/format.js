// format.js — display formatting: dates and numbers in zh-CN (or English when
// chosen), times in the workspace timezone, money in yuan from integer fen,
// phones as the API sends them (already masked unless the viewer may see
// them).
import { session } from './session.js';
import { i18n } from './i18n.js';

function loc() { return i18n.global.locale.value === 'en' ? 'en-US' : 'zh-CN'; }
function tz() { return session.settings.timezone || 'Asia/Shanghai'; }

const cache = new Map();
function dtf(kind) {
  const key = `${loc()}|${tz()}|${kind}`;
  let f = cache.get(key);
  if (!f) {
    const o = { timeZone: tz(), hourCycle: 'h23' };
    if (kind !== 'time') Object.assign(o, { year: 'numeric', month: '2-digit', day: '2-digit' });
    if (kind !== 'date') Object.assign(o, { hour: '2-digit', minute: '2-digit' });
    f = new Intl.DateTimeFormat(loc(), o);
    cache.set(key, f);
  }
  return f;
}

// ms since the epoch (UTC) → "2026/11/22 09:45" in the workspace timezone.
export function fmtTime(ms) {
  if (ms === null || ms === undefined || ms === '' || ms === 0) return '—';
  return dtf('datetime').format(new Date(Number(ms)));
}
export function fmtDate(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'string') return v; // already a calendar date (YYYY-MM-DD)
  return dtf('date').format(new Date(Number(v)));
}
export function fmtNumber(n) {
  if (n === null || n === undefined || n === '') return '—';
  return new Intl.NumberFormat(loc()).format(Number(n));
}
// Integer fen → "¥1,234.50".
export function fmtMoney(fen) {
  if (fen === null || fen === undefined || fen === '') return '—';
  return new Intl.NumberFormat(loc(), { style: 'currency', currency: session.settings.currency || 'CNY' })
    .format(Number(fen) / 100);
}

// Today's date in the workspace timezone as YYYY-MM-DD.
export function todayInTz() {
  const p = new Intl.DateTimeFormat('en-CA', { timeZone: tz(), year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date());
  return p;
}

// "YYYY-MM-DD" (a calendar day in the workspace timezone) → UTC ms of its
// midnight there; endOfDay gives the last ms of that day.
export function dayToMs(day, endOfDay = false) {
  if (!day) return undefined;
  const [y, m, d] = day.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d);
  // Offset of the zone at that instant: format it back and compare.
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz(), hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(guess));
  const g = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+g.year, +g.month - 1, +g.day, +g.hour, +g.minute, +g.second);
  const offset = asUtc - guess;
  const start = guess - offset;
  return endOfDay ? start + 86400000 - 1 : start;
}

// Phones come from the API in E.164 (+8613812345678) or masked
// (138****5678). Mainland mobiles are shown as the 11 digits people dial.
export function fmtPhone(p) {
  if (!p) return '—';
  const m = /^\+86(1\d{10})$/.exec(p);
  return m ? m[1] : p;
}
