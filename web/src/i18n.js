// i18n.js — console texts in zh-CN (default) and English. The choice is kept
// in localStorage ("siyu.locale"). Element Plus gets its matching locale in
// App.vue.
import { createI18n } from 'vue-i18n';
import zhCN from './locales/zh-CN.js';
import en from './locales/en.js';

const KEY = 'siyu.locale';
const saved = localStorage.getItem(KEY);

export const i18n = createI18n({
  legacy: false,
  locale: saved === 'en' ? 'en' : 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
  missingWarn: false,
  fallbackWarn: false,
});

export function setLocale(l) {
  i18n.global.locale.value = l;
  localStorage.setItem(KEY, l);
  document.documentElement.lang = l;
}
document.documentElement.lang = i18n.global.locale.value;

// Translates an enum value (status, source …) with a fallback to the raw value.
export function tEnum(group, value) {
  if (value === null || value === undefined || value === '') return '—';
  // Keys cannot hold dots (vue-i18n reads them as paths): "contacts.read" is
  // stored as contacts_read and "auth.*" as auth_all.
  const key = `enum.${group}.${String(value).replace(/\./g, '_').replace(/\*/g, 'all')}`;
  return i18n.global.te(key) ? i18n.global.t(key) : String(value);
}
