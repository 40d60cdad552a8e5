// The village's printed information sheet (明白纸): an A4 print page with the QR code of the
// declaration form as inline SVG, and the same sheet as a PNG drawn by the server. Both are for
// signed-in staff whose scope covers the village (here the county user).
//
// Screenshots: <repo>/target/screenshots/web-print-sheet.png (the page at A4 size) and
// web-print-sheet-server.png (the server's PNG, saved as it came).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VILLAGE } from './lib/server.mjs';
import { A4, saveShot, shot } from './lib/browser.mjs';
import { serverAndBrowser } from './lib/suite.mjs';
import { consoleSession } from './lib/console.mjs';

const T = { timeout: 120_000 };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const ctx = serverAndBrowser();

test('staff only: without signing in the sheet is not shown', T, async () => {
  const res = await fetch(`${ctx.server.url}/print/village/${VILLAGE}/sheet.png`, { redirect: 'manual' });
  assert.notEqual(res.status, 200, 'the sheet was served without a sign-in');
  assert.doesNotMatch(res.headers.get('content-type') ?? '', /^image\//);
});

test('the village sheet prints on A4 with the form QR code as inline SVG', T, async () => {
  const { context, page } = await consoleSession(ctx.browser, ctx.server, 'county', A4);
  try {
    const res = await page.goto(`${ctx.server.url}/print/village/${VILLAGE}`);
    assert.equal(res.status(), 200, `GET /print/village/${VILLAGE} → ${res.status()}`);
    assert.match(res.headers()['content-type'] ?? '', /text\/html/);
    const svg = page.locator('svg');
    assert.ok((await svg.count()) >= 1, 'no inline SVG (the QR code) on the sheet');
    const box = await svg.first().boundingBox();
    // A QR code a phone can read from arm's length: at least ~4 cm (≈ 150 CSS px) on paper.
    assert.ok(box && box.width >= 150 && Math.abs(box.width - box.height) < 2, `QR code box ${JSON.stringify(box)}`);
    const text = await page.locator('body').innerText();
    assert.match(text, /鲁家沟镇南川村/, 'the sheet does not name the village');
    assert.ok(text.includes(`/d/${VILLAGE}`), 'the form address is not printed under the QR code');
    // Nothing loaded besides the page itself (inline SVG, inline CSS), so it prints offline.
    await shot(page, 'print-sheet');
    // The PDF a browser would print: one A4 page.
    const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    assert.equal(pages, 1, `the sheet prints on ${pages} pages`);
  } finally {
    await context.close();
  }
});

test('the village sheet is also a PNG (A4 proportions)', T, async () => {
  const { context } = await consoleSession(ctx.browser, ctx.server, 'county');
  // The browser context's own request client carries its session cookie.
  const res = await context.request.get(`${ctx.server.url}/print/village/${VILLAGE}/sheet.png`);
  const png = await res.body();
  await context.close();
  assert.equal(res.status(), 200, `GET …/sheet.png → ${res.status()}`);
  assert.match(res.headers()['content-type'] ?? '', /^image\/png/);
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, 'not a PNG');
  // IHDR: width and height, big-endian, at bytes 16..24.
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const ratio = height / width;
  assert.ok(Math.abs(ratio - 297 / 210) < 0.03, `PNG is ${width}×${height}, not A4-shaped`);
  assert.ok(width >= 1000, `PNG is only ${width} px wide (too coarse to print)`);
  await saveShot('print-sheet-server', png);
});
