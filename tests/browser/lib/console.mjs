// The supervisor console: signing in as one of the test users (for console pages and the
// staff-only print pages). A console.test.mjs would start like print.test.mjs and call
// signIn(page, server, 'county') first.

import assert from 'node:assert/strict';
import { DESKTOP } from './browser.mjs';

/** A user of the test server by role (or by login). */
export function userOf(server, roleOrLogin) {
  const u = server.users.find((x) => x.role === roleOrLogin || x.login === roleOrLogin);
  assert.ok(u, `no test user ${roleOrLogin}`);
  return u;
}

/** A desktop context (1366×768) of `browser`, signed in as `who`; returns {context, page, user}. */
export async function consoleSession(browser, server, who = 'county', options = {}) {
  const context = await browser.newContext(Object.assign({}, DESKTOP, options));
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const user = await signIn(page, server, who);
  return { context, page, user };
}

/** Sign in through the login form, as a person does; ends on the page after login. */
export async function signIn(page, server, who = 'county', next = '/console') {
  const user = typeof who === 'string' ? userOf(server, who) : who;
  await page.goto(`${server.url}/console/login?next=${encodeURIComponent(next)}`);
  await page.locator('#login').fill(user.login);
  await page.locator('#password').fill(user.password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('#signin').click()]);
  assert.ok(!new URL(page.url()).pathname.startsWith('/console/login'), `sign-in as ${user.login} failed: still on ${page.url()}`);
  return user;
}
