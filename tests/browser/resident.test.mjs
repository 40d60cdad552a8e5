// The resident's pages in a real browser, on a cheap phone's screen (360×740): the declaration
// form behind the village QR code, its receipt and SMS, errors beside their fields (with
// JavaScript on and off), 2G, a repeated declaration, the status lookup, and the appeal.
//
// Screenshots: <repo>/target/screenshots/web-resident-*.png

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VILLAGE, api, startServer, waitForSms } from './lib/server.mjs';
import { PHONE, emulate2G, recordTraffic, shot } from './lib/browser.mjs';
import { serverAndBrowser } from './lib/suite.mjs';
import { applicant, assertFormHolds, fieldError, fillForm, submit } from './lib/resident.mjs';

// (g) needs `yijian-server demo-seed --json` (a case in stage township_reviewed). A binary
// without that command fails (g); to run the rest against such a binary, set APPEAL_TODO to
// a reason string and (g) runs as a TODO (reported, never failing the run).
const APPEAL_TODO = false;

// No test may hang the run: each gets two minutes (2G included).
const T = { timeout: 120_000 };

const RECEIPT = /^\d{6}-\d{3}-\d{3}-\d{4}$/;

const ctx = serverAndBrowser();

async function phonePage(extra = {}) {
  const context = await ctx.browser.newContext({ ...PHONE, ...extra });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return { context, page };
}

/** Declare through the form; returns the receipt number shown. */
async function declare(page, a) {
  await page.goto(`${ctx.server.url}/d/${VILLAGE}`);
  await fillForm(page, a);
  await submit(page);
  assert.match(new URL(page.url()).pathname, new RegExp(`^/d/${VILLAGE}/receipt/`), `not on a receipt page: ${page.url()}`);
  return (await page.locator('#receipt-no').innerText()).trim();
}

describe('declaration form', () => {
  test('(a) a household declares, gets a receipt on screen and by SMS', T, async () => {
    const { context, page } = await phonePage();
    try {
      const a = applicant();
      await page.goto(`${ctx.server.url}/d/${VILLAGE}`);
      for (const f of ['applicant_name', 'phone', 'id_number', 'address', 'household_size', 'description', 'consent', 'submit']) {
        assert.ok(await page.locator(`#${f}`).isVisible(), `#${f} is not shown`);
      }
      const risks = await page.locator('input[name=risk_types]').evaluateAll((els) => els.map((e) => e.value));
      for (const r of ['illness', 'schooling', 'disability', 'disaster', 'accident', 'unstable_employment', 'housing_safety', 'drinking_water', 'other']) {
        assert.ok(risks.includes(r), `risk type ${r} missing (has ${risks})`);
      }
      await shot(page, 'resident-form');
      await fillForm(page, a);
      await shot(page, 'resident-form-filled');
      await submit(page);
      const receipt = (await page.locator('#receipt-no').innerText()).trim();
      assert.match(receipt, RECEIPT);
      assert.ok(receipt.startsWith('621102-105-201-'), receipt);
      await shot(page, 'resident-receipt');

      const sms = await waitForSms(ctx.server.dataDir, (t) => t.template === 'receipt' && t.text.includes(receipt));
      assert.equal(sms.phone.replace(/^\+?86/, ''), a.phone, 'the receipt went to another phone');
      assert.ok(sms.out_id, 'the text has no out_id');
    } finally {
      await context.close();
    }
  });

  async function wrongIdAndPhone(page, name) {
    const a = applicant({ id_number: '110105194912310021', phone: '1380013800' });
    await page.goto(`${ctx.server.url}/d/${VILLAGE}`);
    await fillForm(page, a);
    await submit(page);
    // Still the form, with the two problems written beside their fields and nothing lost.
    assert.equal(new URL(page.url()).pathname, `/d/${VILLAGE}`);
    const idErr = await fieldError(page, 'id_number');
    const phoneErr = await fieldError(page, 'phone');
    assert.match(idErr, /校验/, `ID number error: "${idErr}"`);
    assert.match(phoneErr, /11位|手机号/, `phone error: "${phoneErr}"`);
    assert.ok(await page.locator('[data-field=id_number] .err').isVisible());
    assert.ok(await page.locator('[data-field=phone] .err').isVisible());
    for (const f of ['applicant_name', 'address', 'household_size', 'risk_types', 'description', 'consent']) {
      assert.equal(await fieldError(page, f), '', `unexpected error beside ${f}`);
    }
    await assertFormHolds(page, a);
    await shot(page, name);
  }

  test('(b) a wrong ID check digit and a 10-digit phone are shown beside their fields, nothing typed is lost', T, async () => {
    const { context, page } = await phonePage();
    try {
      await wrongIdAndPhone(page, 'resident-form-errors');
    } finally {
      await context.close();
    }
  });

  test('(c) the same with JavaScript disabled', T, async () => {
    const { context, page } = await phonePage({ javaScriptEnabled: false });
    try {
      await wrongIdAndPhone(page, 'resident-form-errors-nojs');
      // And a good declaration goes through without JavaScript too.
      const receipt = await declare(page, applicant());
      assert.match(receipt, RECEIPT);
    } finally {
      await context.close();
    }
  });

  test('(d) the whole declaration completes on emulated 2G', T, async (t) => {
    const { context, page } = await phonePage();
    try {
      await emulate2G(page);
      const a = applicant();
      const t0 = performance.now();
      await page.goto(`${ctx.server.url}/d/${VILLAGE}`, { waitUntil: 'load', timeout: 120_000 });
      const loaded = performance.now();
      await fillForm(page, a);
      const t1 = performance.now();
      await submit(page);
      const done = performance.now();
      const receipt = (await page.locator('#receipt-no').innerText()).trim();
      assert.match(receipt, RECEIPT);
      const msg = `2G (250 kbit/s, 800 ms): form loaded in ${(loaded - t0).toFixed(0)} ms; ` +
        `submit → receipt shown in ${(done - t1).toFixed(0)} ms; total without typing ${(loaded - t0 + done - t1).toFixed(0)} ms`;
      t.diagnostic(msg);
    } finally {
      await context.close();
    }
  });

  test('the form page is one request of at most 30 KB (HTML with its inline CSS)', T, async (t) => {
    const { context, page } = await phonePage();
    try {
      const traffic = await recordTraffic(page);
      await page.goto(`${ctx.server.url}/d/${VILLAGE}`, { waitUntil: 'load' });
      await page.waitForLoadState('networkidle');
      const res = traffic.responses();
      await traffic.stop();
      const doc = res.find((r) => r.type === 'Document');
      assert.ok(doc, 'no document response recorded');
      const others = res.filter((r) => r !== doc && !r.url.endsWith('/favicon.ico'));
      assert.deepEqual(others.map((r) => r.url), [], 'the form page loads something besides itself');
      const favicon = res.some((r) => r.url.endsWith('/favicon.ico'));
      const msg = `form page: ${doc.decoded} bytes of HTML+CSS, ${doc.encoded} bytes on the wire` +
        (favicon ? ' (the browser also asked for /favicon.ico)' : '');
      t.diagnostic(msg);
      assert.ok(doc.decoded <= 30 * 1024, `form page is ${doc.decoded} bytes`);
    } finally {
      await context.close();
    }
  });

  test('(e) declaring again with the same ID number shows no receipt: it is texted to the first phone', T, async () => {
    const { context, page } = await phonePage();
    try {
      const a = applicant();
      const first = await declare(page, a);
      // Later, maybe from a son's phone, maybe a stranger who knows the ID number: same
      // person, different number. The page must not show the receipt or the first phone.
      await page.goto(`${ctx.server.url}/d/${VILLAGE}`);
      await fillForm(page, { ...a, phone: a.phone.replace(/\d{4}$/, '7777'), description: '' });
      await submit(page);
      assert.ok(await page.locator('#already-declared').isVisible(), 'not told it is declared already');
      const text = await page.locator('main').innerText();
      assert.match(text, /已经有一件申报正在办理中/);
      assert.match(await page.locator('#receipt-resent').innerText(), /重新用短信发到/);
      for (const leak of [first, first.replace(/-/g, ''), a.phone.slice(-4)]) {
        assert.ok(!text.replace(/\s/g, '').includes(leak), `the page shows ${leak}`);
      }
      await shot(page, 'resident-receipt-again');
    } finally {
      await context.close();
    }
  });
});

describe('status lookup and appeal', () => {
  test('(f) /s shows the stage, the next step and what was done; a wrong last4 finds nothing', T, async () => {
    const { context, page } = await phonePage();
    try {
      const a = applicant();
      const receipt = await declare(page, a);

      await page.goto(`${ctx.server.url}/s`);
      await page.locator('#receipt').fill(receipt);
      await page.locator('#last4').fill(a.phone.slice(-4));
      await submit(page, '#lookup');
      const stage = (await page.locator('#stage').innerText()).trim();
      const next = (await page.locator('#next').innerText()).trim();
      const done = await page.locator('#done li').allInnerTexts();
      assert.ok(stage.length > 0, 'no stage shown');
      assert.ok(next.length > 0, 'no next step shown');
      assert.ok(done.length >= 1, 'the done list is empty');
      assert.match(done.join('\n'), /申报/, `done list: ${done}`);
      await shot(page, 'resident-status');

      await page.goto(`${ctx.server.url}/s`);
      await page.locator('#receipt').fill(receipt);
      const wrong = String((Number(a.phone.slice(-4)) + 1) % 10000).padStart(4, '0');
      await page.locator('#last4').fill(wrong);
      await submit(page, '#lookup');
      assert.equal(await page.locator('#stage').count(), 0, 'a wrong last4 still showed the case');
      assert.match(await page.locator('main').innerText(), /没有查到/);
      // What was typed is still there.
      assert.equal(await page.locator('#receipt').inputValue(), receipt);
      await shot(page, 'resident-status-not-found');
    } finally {
      await context.close();
    }
  });

  // ---- (g) APPEAL (needs demo-seed; see APPEAL_TODO at the top) ----
  test('(g) after a county rejection made through the API, the resident sees the reason and appeals', { ...T, todo: APPEAL_TODO }, async () => {
    const seeded = await startServer({ users: [], demoSeed: true });
    const { context, page } = await phonePage();
    try {
      const { users, cases } = seeded.seed;
      const c = cases.find((x) => x.stage === 'township_reviewed');
      assert.ok(c, 'demo-seed made no case in stage township_reviewed');
      const county = users.find((u) => u.role === 'county' && c.village.startsWith(u.scope));
      assert.ok(county, `demo-seed made no county user over village ${c.village}`);

      const sync = api(seeded.url);
      const { token, device_id } = await sync.login(county.login, county.password);
      const reason = '经入户核查，家庭年人均纯收入高于监测范围，暂不纳入。';
      const outcome = await sync.step(token, device_id, c.case_id, { step: 'county_reject', reason });
      assert.equal(outcome.type, 'applied', JSON.stringify(outcome));

      await page.goto(`${seeded.url}/s`);
      await page.locator('#receipt').fill(c.receipt_no);
      await page.locator('#last4').fill(String(c.phone).slice(-4));
      await submit(page, '#lookup');
      assert.equal((await page.locator('#reason').innerText()).trim(), reason);
      await shot(page, 'resident-rejected');

      await page.locator('#appeal-reason').fill('我家老伴常年吃药，药费没有算进去，请再核实一下。');
      await submit(page, '#appeal-submit');
      assert.match(await page.locator('main').innerText(), /申诉已提交/, 'no banner saying the appeal was filed');
      assert.match((await page.locator('#stage').innerText()).trim(), /^申诉已提交/);
      await shot(page, 'resident-appeal-filed');
    } finally {
      await context.close();
      await seeded.stop();
    }
  });
});
