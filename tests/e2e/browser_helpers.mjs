// browser_helpers.mjs — drives Debian's chromium with playwright-core for the
// console's browser tests. Each browser gets a fresh user-data-dir; ECharts
// animation is switched off before any page script runs; every page's console
// output is collected, and on failure a screenshot and that log are written
// under tests/artifacts/ (git-ignored).
import { chromium, selectors } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
export const WEB_DIST = path.join(ROOT, 'web', 'dist');
export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
export const CHROMIUM = process.env.SIYU_CHROMIUM || '/usr/bin/chromium';

// The console marks elements for tests with data-test="…".
selectors.setTestIdAttribute('data-test');

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];

// Skips with a reason when the console was not built or chromium is missing.
export function browserSkipReason() {
  if (!existsSync(CHROMIUM)) return `no chromium at ${CHROMIUM}`;
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) return 'console not built (run scripts/build-web.sh)';
  return null;
}

// Opens a browser with a fresh profile. viewport: {width, height}.
export async function openBrowser({ viewport = { width: 1280, height: 800 }, locale = 'zh-CN' } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'siyu-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
    locale,
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  });
  await context.addInitScript(() => { window.__SIYU_NO_ANIMATION__ = true; });
  context.setDefaultTimeout(15000);
  const logs = [];
  const watch = (page) => {
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.stack || e.message}`));
    page.on('requestfailed', (r) => logs.push(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => { if (r.status() >= 400) logs.push(`[http ${r.status()}] ${r.request().method()} ${r.url()}`); });
  };
  context.on('page', watch);
  const page = context.pages()[0] || await context.newPage();
  watch(page);
  return {
    context, page, logs,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Runs fn; when it throws, saves <name>.png and <name>.log under
// tests/artifacts/ and rethrows.
export async function withArtifacts(name, b, fn) {
  try {
    return await fn();
  } catch (err) {
    try {
      mkdirSync(ARTIFACTS, { recursive: true });
      const safe = name.replace(/[^\w.-]+/g, '_');
      await b.page.screenshot({ path: path.join(ARTIFACTS, `${safe}.png`), fullPage: true }).catch(() => {});
      writeFileSync(path.join(ARTIFACTS, `${safe}.log`), `${err.stack || err}\n\nURL: ${b.page.url()}\n\n${b.logs.join('\n')}\n`);
    } catch { /* keep the original error */ }
    throw err;
  }
}

// Signs in through the login form and waits for the app shell.
export async function uiLogin(page, base, username, password) {
  await page.goto(`${base}/login`);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-menu').waitFor();
}

// Chooses an option of an Element Plus <el-select> (by its data-test) whose
// label contains text. The select's trigger names its own popper
// (aria-describedby), so a closing dropdown of another select is never used.
export async function pickOption(page, testId, text) {
  const select = page.getByTestId(testId);
  await select.click();
  const popperId = await select.locator('.el-select__wrapper').getAttribute('aria-describedby');
  const popper = page.locator(`[id="${popperId}"]`);
  await popper.locator('.el-select-dropdown__item', { hasText: text }).first().click();
  await popper.waitFor({ state: 'hidden' }).catch(() => {});
}

// Waits until the contacts table (or card list) has finished loading.
export async function waitIdle(page) {
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.locator('.el-loading-mask').first().waitFor({ state: 'detached', timeout: 15000 }).catch(() => {});
}

// Ids of the contacts shown in the list (desktop table or phone cards).
export async function shownContactIds(page) {
  return page.evaluate(() => {
    const ids = [];
    for (const el of document.querySelectorAll('[data-test^="contact-name-"], [data-test^="contact-card-"]')) {
      const m = el.getAttribute('data-test').match(/(\d+)$/);
      if (m) ids.push(Number(m[1]));
    }
    return ids;
  });
}
