// Checks for old eyes shared by the browser tests: contrast as axe-core measures it on the
// rendered page, touch targets of 48 px, and a page that holds at 200 % text.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { shot } from './browser.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's colour-contrast rule on the page as rendered: the failing nodes, described. */
export async function contrastFailures(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'rule', values: ['color-contrast'] } });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`));
  });
  return result;
}

/** Controls smaller than 48×48 CSS px (visible buttons, links, inputs, selects, checkboxes' labels). */
export async function smallTargets(page) {
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea, summary')) {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
      // A checkbox or radio counts with its label, which is what a finger presses.
      const target = (el.type === 'checkbox' || el.type === 'radio') && el.closest('label') ? el.closest('label').getBoundingClientRect() : r;
      // Links inside running text are exempt (WCAG 2.5.8's inline exception).
      if (el.tagName === 'A' && getComputedStyle(el.parentElement).display !== 'flex' && el.closest('p, li')) continue;
      if (target.height < 47.5 || target.width < 47.5) out.push(`${el.tagName.toLowerCase()}#${el.id || ''}.${el.className || ''} ${Math.round(target.width)}×${Math.round(target.height)}`);
    }
    return out;
  });
}

/** At 200 %: the page does not scroll sideways and no two controls overlap. */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const doc = document.scrollingElement;
    if (doc.scrollWidth > doc.clientWidth + 1) out.push(`scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    const boxes = [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea, label, h1, h2, p')]
      .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
      .map((e) => ({ e, r: e.getBoundingClientRect() }));
    for (const { e, r } of boxes) {
      if (r.right > doc.clientWidth + 1) out.push(`${e.tagName.toLowerCase()}#${e.id} runs off the right edge`);
    }
    const controls = boxes.filter(({ e }) => e.matches('button, a[href], input, select, textarea'));
    for (let i = 0; i < controls.length; i++) {
      for (let j = i + 1; j < controls.length; j++) {
        const a = controls[i].r;
        const b = controls[j].r;
        const ix = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const iy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        const nested = controls[i].e.contains(controls[j].e) || controls[j].e.contains(controls[i].e);
        if (ix > 2 && iy > 2 && !nested) out.push(`${controls[i].e.tagName}#${controls[i].e.id} overlaps ${controls[j].e.tagName}#${controls[j].e.id}`);
      }
    }
    return out;
  });
}

export async function zoom(page, factor) {
  await page.evaluate((f) => {
    document.documentElement.style.zoom = String(f);
  }, factor);
}

export async function check(page, name) {
  assert.deepEqual(await smallTargets(page), [], `${name}: touch targets under 48 px`);
  assert.deepEqual(await contrastFailures(page), [], `${name}: contrast under 4.5:1`);
  await zoom(page, 2);
  await shot(page, `a11y-${name}-200`);
  assert.deepEqual(await layoutProblems(page), [], `${name} at 200 %`);
  await zoom(page, 1);
}
