// router.js — client-side routes. The server answers any unknown GET path
// with index.html, so deep links work. Each route names the permission it
// needs (meta.perm, any of a list); the guard sends people without it to the
// first page they may use.
import { createRouter, createWebHistory } from 'vue-router';
import { session, loadMe, can } from './session.js';

const Layout = () => import('./components/AppLayout.vue');

export const SETTINGS_TABS = [
  { name: 'workspace', perm: 'settings.manage' },
  { name: 'staff', perm: 'staff.manage' },
  { name: 'departments', perm: 'staff.manage' },
  { name: 'stores', perm: 'staff.manage' },
  { name: 'roles', perm: 'roles.manage' },
  { name: 'channels', perm: 'settings.manage' },
  { name: 'attributes', perm: 'settings.manage' },
  { name: 'orders', perm: 'settings.manage' },
  { name: 'pool', perm: 'pool.manage' },
  { name: 'tokens', perm: 'settings.manage' },
  { name: 'writekeys', perm: 'settings.manage' },
  { name: 'audit', perm: 'audit.read' },
];
export const SETTINGS_PERMS = [...new Set(SETTINGS_TABS.map((t) => t.perm))];

// The menu, in order. icon names are Element Plus icons (registered as Icon*).
export const MENU = [
  { path: '/overview', key: 'menu.overview', icon: 'IconDataAnalysis', perm: 'contacts.read' },
  { path: '/contacts', key: 'menu.contacts', icon: 'IconUser', perm: 'contacts.read' },
  { path: '/pool', key: 'menu.pool', icon: 'IconBox', perm: 'contacts.read' },
  { path: '/tags', key: 'menu.tags', icon: 'IconCollectionTag', perm: 'contacts.read' },
  { path: '/segments', key: 'menu.segments', icon: 'IconFilter', perm: 'contacts.read' },
  { path: '/events', key: 'menu.events', icon: 'IconTrendCharts', perm: 'contacts.read' },
  // --- analytics (issue 6): 分析 with its pages ---
  {
    path: '/analytics', key: 'analytics.menu.title', icon: 'IconDataLine', perm: 'contacts.read',
    children: [
      { path: '/analytics/trends', key: 'analytics.menu.trends', perm: 'contacts.read' },
      { path: '/analytics/funnels', key: 'analytics.menu.funnels', perm: 'contacts.read' },
      { path: '/analytics/retention', key: 'analytics.menu.retention', perm: 'contacts.read' },
      { path: '/analytics/lifecycle', key: 'analytics.menu.lifecycle', perm: 'contacts.read' },
      { path: '/analytics/channels', key: 'analytics.menu.channels', perm: 'contacts.read' },
      { path: '/analytics/metrics', key: 'analytics.menu.metrics', perm: 'contacts.read' },
      { path: '/dashboards', key: 'analytics.menu.dashboards', perm: 'contacts.read' },
    ],
  },
  // --- end analytics ---
  { path: '/identity-conflicts', key: 'menu.conflicts', icon: 'IconWarning', perm: 'contacts.merge' },
  { path: '/import', key: 'menu.import', icon: 'IconUpload', perm: 'contacts.import' },
  { path: '/export', key: 'menu.export', icon: 'IconDownload', perm: 'contacts.export' },
  { path: '/settings', key: 'menu.settings', icon: 'IconSetting', perm: SETTINGS_PERMS },
];

const routes = [
  { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { public: true } },
  {
    path: '/',
    component: Layout,
    children: [
      { path: '', redirect: () => firstAllowed() },
      { path: 'overview', name: 'overview', component: () => import('./pages/OverviewPage.vue'), meta: { perm: 'contacts.read' } },
      { path: 'contacts/:id?', name: 'contacts', component: () => import('./pages/ContactsPage.vue'), meta: { perm: 'contacts.read' } },
      { path: 'pool/:id?', name: 'pool', component: () => import('./pages/ContactsPage.vue'), meta: { perm: 'contacts.read', pool: true } },
      { path: 'tags', name: 'tags', component: () => import('./pages/TagsPage.vue'), meta: { perm: 'contacts.read' } },
      { path: 'segments/:id?', name: 'segments', component: () => import('./pages/SegmentsPage.vue'), meta: { perm: 'contacts.read' } },
      { path: 'events/:name?', name: 'events', component: () => import('./pages/EventsPage.vue'), meta: { perm: 'contacts.read' } },
      // --- analytics (issue 6) ---
      { path: 'analytics', redirect: '/analytics/trends' },
      { path: 'analytics/trends', name: 'analytics-trends', component: () => import('./analytics/AnalyticsTrends.vue'), meta: { perm: 'contacts.read' } },
      { path: 'analytics/funnels', name: 'analytics-funnels', component: () => import('./analytics/AnalyticsFunnels.vue'), meta: { perm: 'contacts.read' } },
      { path: 'analytics/retention', name: 'analytics-retention', component: () => import('./analytics/AnalyticsRetention.vue'), meta: { perm: 'contacts.read' } },
      { path: 'analytics/lifecycle', name: 'analytics-lifecycle', component: () => import('./analytics/AnalyticsLifecycle.vue'), meta: { perm: 'contacts.read' } },
      { path: 'analytics/channels', name: 'analytics-channels', component: () => import('./analytics/AnalyticsChannels.vue'), meta: { perm: 'contacts.read' } },
      { path: 'analytics/metrics', name: 'analytics-metrics', component: () => import('./analytics/AnalyticsMetrics.vue'), meta: { perm: 'contacts.read' } },
      { path: 'dashboards/:id?', name: 'dashboards', component: () => import('./pages/DashboardsPage.vue'), meta: { perm: 'contacts.read' } },
      // --- end analytics ---
      { path: 'identity-conflicts', name: 'conflicts', component: () => import('./pages/ConflictsPage.vue'), meta: { perm: 'contacts.merge' } },
      { path: 'import', name: 'import', component: () => import('./pages/ImportPage.vue'), meta: { perm: 'contacts.import' } },
      { path: 'export', name: 'export', component: () => import('./pages/ExportPage.vue'), meta: { perm: 'contacts.export' } },
      { path: 'settings/:tab?', name: 'settings', component: () => import('./pages/SettingsPage.vue'), meta: { perm: SETTINGS_PERMS } },
      { path: 'forbidden', name: 'forbidden', component: () => import('./pages/ForbiddenPage.vue') },
    ],
  },
  { path: '/:rest(.*)*', redirect: '/' },
];

export function firstAllowed() {
  const m = MENU.find((x) => can(x.perm));
  return m ? m.path : '/forbidden';
}

export const router = createRouter({ history: createWebHistory('/'), routes });

router.beforeEach(async (to) => {
  if (!session.loaded) await loadMe();
  if (to.meta.public) {
    if (to.name === 'login' && session.me) return firstAllowed();
    return true;
  }
  if (!session.me) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} };
  if (to.meta.perm && !can(to.meta.perm)) return firstAllowed() === to.path ? '/forbidden' : firstAllowed();
  return true;
});
