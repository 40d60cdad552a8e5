// One real server and one Chromium per test file, started before its tests and stopped after
// them (also when a test failed). The returned object's `server` and `browser` are set once the
// `before` hook has run, so tests read them from it rather than capturing them at load time.

import { after, before } from 'node:test';
import { launch } from './browser.mjs';
import { startServer } from './server.mjs';

export function serverAndBrowser() {
  const ctx = { server: undefined, browser: undefined };
  before(async () => {
    ctx.server = await startServer();
    ctx.browser = await launch();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.server?.stop();
  });
  return ctx;
}
