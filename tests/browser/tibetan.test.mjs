// Tibetan beside Chinese on the resident pages of 甘南藏族自治州 (villages 6230…), in Chromium
// as a resident's phone shows them: the page's own Tibetan font draws the letters (Chromium
// says which font drew each text), no Chinese text is left without its Tibetan unless it is a
// name, the language switch keeps what was typed, and every page holds at 200 % text with
// contrast and touch targets as for the Chinese pages.
//
// Screenshots: <repo>/target/screenshots/web-bo-*.png (and web-a11y-bo-*-200.png at 200 %).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VILLAGE } from './lib/server.mjs';
import { PHONE, shot } from './lib/browser.mjs';
import { serverAndBrowser } from './lib/suite.mjs';
import { check } from './lib/a11y.mjs';
import { applicant, assertFormHolds, fillForm, submit } from './lib/resident.mjs';

const T = { timeout: 180_000 };
/** 贡玛村, 玛曲县, 甘南藏族自治州. */
const GANNAN = '623025100200';
const OTHER_TIBETAN_FONTS = /tibet|monlam|uchen|sambhota|jomolhari|qomolangma|kailash/i;

const ctx = serverAndBrowser();

/** Chinese text outside a Tibetan-and-Chinese pair that is not marked as a name. */
async function untranslated(page) {
  return page.evaluate(() => {
    const out = [];
    const han = /[\u4e00-\u9fff]/;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!han.test(n.data)) continue;
      const el = n.parentElement;
      if (el.closest('.bi, [translate="no"], textarea')) continue;
      out.push(`${el.tagName.toLowerCase()}#${el.id}: ${n.data.trim()}`);
    }
    return out;
  });
}

/** Which fonts Chromium used for every Tibetan text on the page. */
async function tibetanFonts(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: '.bo' });
  const used = new Map();
  // Every Tibetan text has Tibetan letters, so the page's font must have drawn in each one.
  const without = [];
  for (const nodeId of nodeIds) {
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    for (const f of fonts) {
      const key = `${f.familyName}${f.isCustomFont ? ' (web font)' : ''}`;
      used.set(key, (used.get(key) ?? 0) + f.glyphCount);
    }
    if (!fonts.some((f) => f.isCustomFont && f.familyName === 'Yijian Tibetan' && f.glyphCount > 0)) {
      const { outerHTML } = await cdp.send('DOM.getOuterHTML', { nodeId });
      without.push(`${outerHTML.slice(0, 80)} drawn with ${fonts.map((f) => f.familyName)}`);
    }
  }
  await cdp.detach();
  return { count: nodeIds.length, used, without };
}

async function assertTibetan(page, name) {
  await page.evaluate(() => document.fonts.ready);
  assert.equal(await page.locator('html').getAttribute('lang'), 'bo', `${name}: not a Tibetan page`);
  assert.ok(await page.locator('#review-note').isVisible(), `${name}: the unreviewed note is missing`);
  const { count, used, without } = await tibetanFonts(page);
  assert.ok(count > 0, `${name}: no Tibetan text`);
  assert.deepEqual(without, [], `${name}: Tibetan not drawn with the page's font`);
  assert.ok((used.get('Yijian Tibetan (web font)') ?? 0) > 0, `${name}: the page's font drew nothing: ${[...used.keys()]}`);
  const others = [...used.keys()].filter((k) => OTHER_TIBETAN_FONTS.test(k) && k !== 'Yijian Tibetan (web font)');
  assert.deepEqual(others, [], `${name}: another Tibetan font drew letters`);
  assert.deepEqual(await untranslated(page), [], `${name}: Chinese without its Tibetan`);
  const digits = await page.evaluate(() => /[\u0f20-\u0f33]/.test(document.body.innerText));
  assert.equal(digits, false, `${name}: Tibetan digits (numbers stay Arabic)`);
  await shot(page, `bo-${name}`);
}

describe('Tibetan beside Chinese on the resident pages', () => {
  test('a 甘南 village: form, its errors, receipt, status; the switch keeps what was typed', T, async () => {
    // axe-core is injected as a script, which the pages' CSP rightly refuses.
    const context = await ctx.browser.newContext({ ...PHONE, bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    try {
      await page.goto(`${ctx.server.url}/d/${GANNAN}`);
      await assertTibetan(page, 'form');
      await check(page, 'bo-form');

      await submit(page);
      await assertTibetan(page, 'form-errors');
      assert.match(await page.locator('[data-field=applicant_name] .err').innerText(), /ཞུ་མཁན་གྱི་མིང་འབྲི་རོགས།[\s\S]*请填写申请人姓名/);
      await check(page, 'bo-form-errors');

      // To Chinese and back with the form half filled: nothing typed is lost.
      const a = applicant({ address: '贡玛村2社5号' });
      await fillForm(page, a);
      await submit(page, '#lang-switch');
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
      await assertFormHolds(page, a);
      await submit(page, '#lang-switch');
      assert.equal(await page.locator('html').getAttribute('lang'), 'bo');
      await assertFormHolds(page, a);

      await submit(page);
      assert.match(page.url(), /\/receipt\//);
      await assertTibetan(page, 'receipt');
      await check(page, 'bo-receipt');
      const receipt = (await page.locator('#receipt-no').innerText()).replace(/\s/g, '');

      await page.goto(`${ctx.server.url}/s`);
      await assertTibetan(page, 'status-lookup');
      await page.locator('#receipt').fill(receipt);
      await page.locator('#last4').fill(a.phone.slice(-4));
      await submit(page, '#lookup');
      await assertTibetan(page, 'status');
      assert.match(await page.locator('#stage').innerText(), /ཞུ་འབུལ་འབྱོར་ཟིན།[\s\S]*等待乡镇受理/);
      await check(page, 'bo-status');
    } finally {
      await context.close();
    }
  });

  test('a village elsewhere opens in Chinese and switches to Tibetan with what was typed', T, async () => {
    const context = await ctx.browser.newContext(PHONE);
    const page = await context.newPage();
    try {
      await page.goto(`${ctx.server.url}/d/${VILLAGE}`);
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
      const a = applicant();
      await fillForm(page, a);
      await submit(page, '#lang-switch');
      await assertTibetan(page, 'switched-form');
      await assertFormHolds(page, a);
    } finally {
      await context.close();
    }
  });
});
