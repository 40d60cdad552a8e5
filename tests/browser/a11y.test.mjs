// The resident's pages for old eyes: at 200 % text (browser zoom on a 360 px phone, as a
// 75-year-old sets it) nothing runs off the screen, no control overlaps another and every
// action is still reachable; text contrast is at least 4.5:1 as axe-core measures it on the
// rendered page; every touch target is at least 48×48 CSS px at normal size.
//
// Screenshots: <repo>/target/screenshots/web-a11y-*.png

import { describe, test } from 'node:test';
import { VILLAGE } from './lib/server.mjs';
import { PHONE } from './lib/browser.mjs';
import { serverAndBrowser } from './lib/suite.mjs';
import { check } from './lib/a11y.mjs';
import { applicant, fillForm, submit } from './lib/resident.mjs';

const T = { timeout: 120_000 };

const ctx = serverAndBrowser();

describe('the resident pages for old eyes', () => {
  test('form, its errors, receipt and status lookup: 200 % text, contrast, targets', T, async () => {
    // axe-core is injected as a script, which the pages' CSP rightly refuses.
    const context = await ctx.browser.newContext({ ...PHONE, bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    try {
      await page.goto(`${ctx.server.url}/d/${VILLAGE}`);
      await check(page, 'form');
      // Submitted empty: every message beside its field must hold at 200 % too.
      await page.locator('#submit').click();
      await page.waitForLoadState('load');
      await check(page, 'form-errors');
      await page.goto(`${ctx.server.url}/d/${VILLAGE}`);
      await fillForm(page, applicant());
      await submit(page);
      await check(page, 'receipt');
      await page.goto(`${ctx.server.url}/s`);
      await check(page, 'status');
    } finally {
      await context.close();
    }
  });
});
