// The supervisor console in a real browser on an office PC (1366×768), against a real server
// with the demo data (`yijian-server demo-seed`): a township clerk signs in, reads the
// dashboard of 鲁家沟镇 and drills down to a village, reads the overdue list, reviews a case;
// the county approves it; another township is refused what is not its own; the administrator
// creates a user and reads the holiday calendar.
//
// The tests run in order and share one server: (2) reviews the case that (3) approves.
//
// Screenshots: <repo>/target/screenshots/web-console-*.png
//
// console.css and console.js are compiled into the server. To look at edits of them without a
// rebuild, YIJIAN_CONSOLE_ASSETS=<repo>/sync-server/assets/console serves those two files from
// that directory instead (everything else still comes from the server).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer } from './lib/server.mjs';
import { DESKTOP, launch, shot } from './lib/browser.mjs';
import { signIn } from './lib/console.mjs';

const T = { timeout: 60_000 };

const LUJIAGOU = '621102105'; // 鲁家沟镇
const NANCHUAN = '621102105201'; // 南川村
const NEIGUANYING = '621102102'; // 内官营镇

// Stage::TownshipReviewed and Stage::Approved (core/src/workflow.rs, name_zh).
const STAGE_TOWNSHIP_REVIEWED = '乡镇复核通过待县审批';
const STAGE_APPROVED = '县级审批通过';

let server;
let browser;
let seed;

before(async () => {
  // No users of lib/server.mjs's own list: the demo seed brings its own (same logins).
  server = await startServer({ users: [], demoSeed: true });
  seed = server.seed;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A demo user by login. */
function user(login) {
  const u = seed.users.find((x) => x.login === login);
  assert.ok(u, `demo-seed made no user ${login}`);
  return u;
}

/** A demo case by applicant name. */
function demoCase(applicant) {
  const c = seed.cases.find((x) => x.applicant === applicant);
  assert.ok(c, `demo-seed made no case of ${applicant}`);
  return c;
}

const TOWNSHIP = () => user('13800000011');
const OTHER_TOWNSHIP = () => user('13800000012');
const COUNTY = () => user('13800000021');
const ADMIN = () => user('13800000000');

const ASSETS = process.env.YIJIAN_CONSOLE_ASSETS;

async function desktop() {
  const context = await browser.newContext({ ...DESKTOP });
  if (ASSETS) {
    await context.route(/\/console\/assets\/console\.(css|js)$/, async (route) => {
      const file = new URL(route.request().url()).pathname.split('/').pop();
      const type = file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
      await route.fulfill({ status: 200, contentType: type, body: await readFile(join(ASSETS, file)) });
    });
  }
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const trouble = watch(page);
  // Forms with data-confirm ask first: say yes, and remember what was asked.
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    d.accept().catch(() => {});
  });
  return { context, page, trouble, dialogs };
}

/**
 * Whatever goes wrong in the page: script errors, console errors, failed requests and
 * HTTP errors. `expect(status)` lets through the status a test asked for (a 403 page).
 */
function watch(page) {
  const seen = [];
  let allowed = new Set();
  page.on('pageerror', (e) => seen.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // Chromium asks for /favicon.ico by itself; the console has none (a 404 nobody sees).
    if (/\/favicon\.ico$/.test(m.location()?.url ?? '')) return;
    // Chromium logs the status of a page it was asked for (e.g. the 403 page) as an error.
    if (/status of (\d+)/.test(text) && allowed.has(Number(/status of (\d+)/.exec(text)[1]))) return;
    seen.push(`console error: ${text} (${m.location()?.url})`);
  });
  page.on('requestfailed', (r) => seen.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowed.has(r.status())) seen.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return {
    list: () => seen.slice(),
    expect: (...statuses) => { allowed = new Set(statuses); },
    assertNone: (what) => assert.deepEqual(seen, [], `${what}: ${seen.join('\n')}`),
  };
}

/** Click and wait for the page that follows; returns its response. */
async function clickAndWait(page, locator) {
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  return res;
}

const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

/** Nothing is wider than the 1366 px screen (no sideways scrolling). */
async function assertNoSidewaysScroll(page, what) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `${what} scrolls sideways: ${scroll} px wide in a ${client} px window`);
}

/** The page ends where its content ends (no empty screen to scroll into below it). */
async function assertNoEmptyTail(page, what) {
  const { doc, content } = await page.evaluate(() => {
    const bottom = (el) => (el ? el.getBoundingClientRect().bottom + window.scrollY : 0);
    return {
      doc: document.documentElement.scrollHeight,
      content: Math.max(bottom(document.querySelector('body > main')), bottom(document.querySelector('nav.side'))),
    };
  });
  assert.ok(doc <= Math.ceil(content) + 1, `${what} is ${doc} px tall, its content ends at ${Math.round(content)} px`);
}

/** Load the lazy photo thumbnails (a full-page screenshot does not), then back to the top. */
async function loadThumbnails(page) {
  const imgs = page.locator('#photos .photos a img');
  const n = await imgs.count();
  for (let i = 0; i < n; i++) await imgs.nth(i).scrollIntoViewIfNeeded();
  await page.waitForFunction(() => Array.from(document.querySelectorAll('#photos .photos a img')).every((i) => i.complete && i.naturalWidth > 0));
  await page.evaluate(() => window.scrollTo(0, 0));
  return n;
}

/** Every chart placeholder on the page was drawn by ECharts (SVG renderer) with some text. */
async function assertChartsDrawn(page) {
  const ids = await page.locator('div.chart').evaluateAll((els) => els.map((e) => e.id));
  assert.ok(ids.length >= 1, 'no chart placeholders');
  await page.locator(`#${ids[0]} svg`).first().waitFor({ state: 'attached' });
  for (const id of ids) {
    const drawn = await page.locator(`#${id}`).evaluate((el) => {
      const svg = el.querySelector('svg');
      const box = el.getBoundingClientRect();
      return {
        svg: !!svg || !!el.querySelector('canvas'),
        shown: box.width > 100 && box.height > 100,
        text: svg ? svg.textContent.replace(/\s+/g, '') : '',
      };
    });
    assert.ok(drawn.svg, `#${id}: no <svg>/<canvas> drawn`);
    assert.ok(drawn.shown, `#${id}: chart box is not shown`);
    assert.ok(drawn.text.length > 0, `#${id}: chart drew no labels`);
  }
  return ids;
}

/** The rows of table `sel` as arrays of cell texts. */
async function rows(page, sel) {
  return page.locator(`${sel} tbody tr`).evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.cells).map((td) => td.innerText.replace(/\s+/g, ' ').trim())));
}

describe('supervisor console at 1366×768', () => {
  // ---- (1) township: sign in, dashboard of 鲁家沟镇, case list, drill down, overdue list ----
  test('(1) a township clerk signs in and sees only 鲁家沟镇: dashboard, cases, a village, overdue', T, async () => {
    const { context, page, trouble } = await desktop();
    try {
      const me = TOWNSHIP();
      const mine = seed.cases.filter((c) => c.village.startsWith(LUJIAGOU));
      assert.ok(mine.length >= 5, `demo-seed has only ${mine.length} cases in 鲁家沟镇`);

      // The login page, as a person sees it: fill login and password, click 登录.
      let res = await page.goto(`${server.url}/console/login`);
      assert.equal(res.status(), 200);
      assert.equal(await page.locator('form input[type=hidden][name=t]').count(), 1, 'no anti-forgery field');
      await shot(page, 'console-login');
      await page.locator('#login').fill(me.login);
      await page.locator('#password').fill(me.password);
      res = await clickAndWait(page, page.locator('#signin'));
      assert.equal(res.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/console', `after sign-in: ${page.url()}`);

      // The dashboard of 鲁家沟镇.
      const crumb = await text(page.locator('#breadcrumb'));
      assert.equal(crumb, '鲁家沟镇', `breadcrumb: "${crumb}"`);
      assert.match(await text(page.locator('main h1')), /^鲁家沟镇/);
      assert.match(await text(page.locator('header.top .who')), new RegExp(`${me.name}.*乡镇审核人员.*鲁家沟镇`));
      for (const k of ['open', 'overdue', 'due-soon', 'self-share', 'included-self-share', 'median-visit', 'median-approval']) {
        const v = await text(page.locator(`#kpi-${k} .value`));
        assert.match(v, /^(\d+(\.\d+)?(%|天)?|—)$/, `#kpi-${k} shows "${v}"`);
      }
      // Every case of the township counted, none of the others.
      const total = await text(page.locator('#kpi-open .sub'));
      assert.equal(total, `共${mine.length}件`, `#kpi-open counts ${total}, the demo has ${mine.length} in 鲁家沟镇`);
      const open = Number(await text(page.locator('#kpi-open .value')));
      assert.ok(open >= 1 && open <= mine.length, `open cases ${open}`);
      // The villages below: all of 鲁家沟镇, 南川村 among them.
      const codes = await page.locator('#children tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.code));
      assert.ok(codes.length >= 2, `#children lists ${codes.length} villages`);
      assert.ok(codes.every((c) => c.startsWith(LUJIAGOU)), `#children lists other townships: ${codes}`);
      assert.ok(codes.includes(NANCHUAN), '南川村 is not among the villages');
      const body = await page.locator('main').innerText();
      assert.doesNotMatch(body, /内官营镇|通渭县|沈桂芝/, 'the dashboard shows another township');

      // The charts: ECharts from the server itself, drawn as SVG with labels.
      const charts = await assertChartsDrawn(page);
      assert.ok(charts.includes('chart-stage') && charts.includes('chart-children'), `charts: ${charts}`);
      const stageLabels = await page.locator('#chart-stage svg').evaluate((s) => s.textContent);
      assert.ok(stageLabels.includes('公示已完成'), `the stage chart has no bar for 公示已完成 (刘玉梅): ${stageLabels.slice(0, 200)}`);
      const echarts = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('echarts')));
      assert.deepEqual(echarts.map((u) => new URL(u).pathname), ['/console/assets/echarts.min.js'], 'ECharts not served by the server');
      await assertNoSidewaysScroll(page, 'the dashboard');
      await assertNoEmptyTail(page, 'the dashboard');
      await shot(page, 'console-dashboard-township');

      // The case list: 鲁家沟镇's cases, not 内官营镇's.
      res = await page.goto(`${server.url}/console/cases`);
      assert.equal(res.status(), 200);
      const list = await rows(page, '#cases');
      const names = list.map((r) => r[0]);
      for (const n of ['赵永红', '孙德明', '刘玉梅']) assert.ok(names.includes(n), `${n} is not in the case list`);
      assert.ok(!names.includes('沈桂芝'), '沈桂芝 (内官营镇) is in 鲁家沟镇\'s case list');
      assert.equal(list.length, mine.length, `the list has ${list.length} cases, the demo ${mine.length} in 鲁家沟镇`);
      assert.ok(list.every((r) => r[2].startsWith('鲁家沟镇')), 'a case of another township is listed');
      await shot(page, 'console-cases');

      // Drill down: a click anywhere on 南川村's row (not only on its name).
      await page.goto(`${server.url}/console`);
      const row = page.locator(`#children tbody tr[data-code="${NANCHUAN}"]`);
      await row.locator('td').nth(1).click();
      await page.waitForURL((u) => u.searchParams.get('scope') === NANCHUAN);
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).pathname, '/console');
      assert.equal(await text(page.locator('#breadcrumb')), '鲁家沟镇 › 南川村民委员会');
      assert.equal(await page.locator(`#breadcrumb a[data-code="${LUJIAGOU}"]`).count(), 1, 'the breadcrumb does not link back to 鲁家沟镇');
      assert.match(await text(page.locator('main h1')), /^南川村民委员会/);
      const villageTotal = seed.cases.filter((c) => c.village === NANCHUAN).length;
      assert.equal(await text(page.locator('#kpi-open .sub')), `共${villageTotal}件`);
      await assertChartsDrawn(page);
      await assertNoSidewaysScroll(page, 'the village dashboard');
      await assertNoEmptyTail(page, 'the village dashboard');
      await shot(page, 'console-dashboard-village');
      // … and back up through the breadcrumb.
      await clickAndWait(page, page.locator(`#breadcrumb a[data-code="${LUJIAGOU}"]`));
      assert.equal(await text(page.locator('#breadcrumb')), '鲁家沟镇');

      // The overdue list: whose job each case is.
      res = await page.goto(`${server.url}/console/overdue`);
      assert.equal(res.status(), 200);
      const heads = await page.locator('#overdue thead th').allInnerTexts();
      const ownerCol = heads.findIndex((h) => h.includes('责任单位'));
      assert.ok(ownerCol >= 0, `no owner column in ${heads}`);
      const overdue = await rows(page, '#overdue');
      assert.ok(overdue.length >= 1, 'the overdue list is empty (the demo has overdue cases)');
      for (const r of overdue) {
        assert.ok(r[ownerCol] && r[ownerCol] !== '—', `no owner for ${r[0]}: "${r[ownerCol]}"`);
        // The job of the village, the township or the county above (安定区 approves).
        assert.match(r[ownerCol], /^(鲁家沟镇|\S+村民委员会|安定区)[ （]/, `owner "${r[ownerCol]}" of ${r[0]} is not above 鲁家沟镇`);
        assert.match(r[5], /已逾期|还剩|今天|到期/, `status of ${r[0]}: "${r[5]}"`);
      }
      assert.ok(overdue.some((r) => r[5].includes('已逾期')), 'no case marked 已逾期');
      await assertNoSidewaysScroll(page, 'the overdue list');
      await shot(page, 'console-overdue');

      trouble.assertNone('errors while reading the console');
    } finally {
      await context.close();
    }
  });

  // ---- (2) township review of 刘玉梅's case ----
  test('(2) the township reviews 刘玉梅\'s case: timeline, photos, 同意 → 乡镇复核通过待县审批', T, async () => {
    const { context, page, trouble } = await desktop();
    try {
      const c = demoCase('刘玉梅');
      assert.equal(c.stage, 'publicly_noticed');
      await signIn(page, server, TOWNSHIP(), `/console/cases/${c.case_id}`);
      assert.equal(new URL(page.url()).pathname, `/console/cases/${c.case_id}`, 'sign-in did not go on to the case');

      assert.match(await text(page.locator('#summary h1')), new RegExp(`刘玉梅.*${c.receipt_no}`));
      assert.equal(await text(page.locator('#stage')), '公示已完成');
      const before = await page.locator('#timeline li').count();
      assert.ok(before >= 5, `the timeline has ${before} entries`);
      const steps = await page.locator('#timeline li .what').allInnerTexts();
      assert.ok(steps.some((s) => s.includes('公示')), `no public notice in the timeline: ${steps}`);

      // Photos: thumbnails that load (all of them: lazy ones too), and the viewer.
      const n = await loadThumbnails(page);
      assert.ok(n >= 3, `${n} photos on the case page`);
      await assertNoSidewaysScroll(page, 'the case page');
      await shot(page, 'console-case');
      const thumbs = page.locator('#photos .photos a img');
      const captions = await thumbs.evaluateAll((is) => is.map((i) => i.alt));
      await thumbs.first().click();
      const box = page.locator('.lightbox');
      await box.waitFor({ state: 'visible' });
      assert.equal(new URL(page.url()).pathname, `/console/cases/${c.case_id}`, 'the thumbnail navigated away instead of opening the viewer');
      const loaded = () => page.waitForFunction(() => {
        const img = document.querySelector('.lightbox img');
        return img && img.complete && img.naturalWidth > 0;
      });
      await loaded();
      const big = await box.locator('img').evaluate((i) => ({ w: i.naturalWidth, h: i.naturalHeight }));
      assert.ok(big.w >= 200, `the viewer shows a ${big.w}×${big.h} image`);
      assert.equal(await text(box.locator('.lb-bar span')), captions[0]);
      await shot(page, 'console-case-photo', { fullPage: false });
      // → shows the next photo, Esc closes.
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction((cap) => document.querySelector('.lightbox .lb-bar span')?.textContent === cap, captions[1]);
      await loaded();
      // The › button (console.js from this tree on) does the same for the mouse.
      if (await box.locator('.lb-next').count()) {
        await box.locator('.lb-next').click();
        await page.waitForFunction((cap) => document.querySelector('.lightbox .lb-bar span')?.textContent === cap, captions[2]);
        assert.ok(await box.isVisible(), 'the › button closed the viewer');
      }
      await page.keyboard.press('Escape');
      await box.waitFor({ state: 'detached' });

      // The review form: 同意, an opinion, submit.
      const form = page.locator('form.step[data-step="township_review"]');
      assert.ok(await form.isVisible(), 'no township review form');
      assert.equal(await page.locator('form.step[data-step="county_approve"]').count(), 0, 'a township is offered the county\'s approval');
      await form.locator('input[name=agree][value="1"]').check();
      const opinion = '经复核，该户因病支出大，符合边缘易致贫户认定条件，同意报县审批。';
      await form.locator('textarea[name=opinion]').fill(opinion);
      const res = await clickAndWait(page, form.locator('button[type=submit]'));
      assert.equal(res.status(), 200);
      assert.equal(new URL(page.url()).pathname, `/console/cases/${c.case_id}`);

      const flash = page.locator('#flash');
      assert.match((await flash.getAttribute('class')) ?? '', /\bok\b/, `flash: ${await text(flash)}`);
      assert.match(await text(flash), /已办理：乡镇复核/);
      assert.equal(await text(page.locator('#stage')), STAGE_TOWNSHIP_REVIEWED);
      assert.equal(await page.locator('#timeline li').count(), before + 1, 'the review is not in the timeline');
      const last = page.locator('#timeline li').last();
      assert.match(await text(last), new RegExp(`陈国平.*乡镇复核.*公示已完成 → ${STAGE_TOWNSHIP_REVIEWED}`));
      assert.equal(await form.count(), 0, 'the review form is still offered');
      await loadThumbnails(page);
      await shot(page, 'console-case-reviewed');

      trouble.assertNone('errors on the case page');
    } finally {
      await context.close();
    }
  });

  // ---- (3) county approval of the same case ----
  test('(3) the county approves the reviewed case → 县级审批通过, in the timeline', T, async () => {
    const { context, page, trouble, dialogs } = await desktop();
    try {
      const c = demoCase('刘玉梅');
      const me = COUNTY();
      await signIn(page, server, me);
      let res = await page.goto(`${server.url}/console/cases/${c.case_id}`);
      assert.equal(res.status(), 200);
      assert.equal(await text(page.locator('#stage')), STAGE_TOWNSHIP_REVIEWED, 'test (2) did not leave the case reviewed');
      const before = await page.locator('#timeline li').count();

      const form = page.locator('form.step[data-step="county_approve"]');
      assert.ok(await form.isVisible(), 'no county approval form');
      const options = await form.locator('select[name=category] option').evaluateAll((os) => os.map((o) => o.value));
      assert.ok(options.includes('marginal_at_risk'), `categories offered: ${options}`);
      await form.locator('select[name=category]').selectOption('marginal_at_risk');
      res = await clickAndWait(page, form.locator('button[type=submit]'));
      assert.equal(res.status(), 200);

      const flash = page.locator('#flash');
      assert.match((await flash.getAttribute('class')) ?? '', /\bok\b/, `flash: ${await text(flash)} (dialogs: ${dialogs})`);
      assert.equal(await text(page.locator('#stage')), STAGE_APPROVED);
      assert.match(await text(page.locator('#summary')), /监测对象类型\s*边缘易致贫户/);
      assert.equal(await page.locator('#timeline li').count(), before + 1);
      const last = page.locator('#timeline li').last();
      assert.match(await text(last.locator('.who')), new RegExp(me.name));
      assert.equal(await text(last.locator('.what')), '县级审批通过');
      assert.match(await text(last.locator('.detail')), new RegExp(`${STAGE_TOWNSHIP_REVIEWED} → ${STAGE_APPROVED}`));
      await loadThumbnails(page);
      await shot(page, 'console-case-approved');

      // And the township, reloading its list, sees the new stage.
      res = await page.goto(`${server.url}/console/cases?scope=${LUJIAGOU}&stage=approved`);
      assert.ok((await rows(page, '#cases')).some((r) => r[0] === '刘玉梅'), '刘玉梅 is not listed as approved');

      trouble.assertNone('errors while approving');
    } finally {
      await context.close();
    }
  });

  // ---- (4) out of scope, not an admin, not signed in ----
  test('(4) 内官营镇 is refused 鲁家沟镇\'s case and dashboard (403), a non-admin the admin pages; anonymous → login', T, async () => {
    const { context, page, trouble } = await desktop();
    try {
      trouble.expect(403);
      await signIn(page, server, OTHER_TOWNSHIP());
      assert.equal(await text(page.locator('#breadcrumb')), '内官营镇');
      assert.equal(await page.locator(`#breadcrumb [data-code="${NEIGUANYING}"]`).count(), 1);

      const c = demoCase('赵永红');
      let res = await page.goto(`${server.url}/console/cases/${c.case_id}`);
      assert.equal(res.status(), 403, `another township's case → ${res.status()}`);
      assert.ok(await page.locator('#forbidden').isVisible(), 'no #forbidden');
      assert.match(await text(page.locator('#forbidden')), /内官营镇/);
      const body = await page.locator('body').innerText();
      for (const leak of ['赵永红', c.receipt_no, c.phone]) {
        assert.ok(!body.includes(leak), `the refusal shows "${leak}"`);
      }
      assert.equal(await page.locator('form.step').count(), 0);
      await shot(page, 'console-forbidden');

      res = await page.goto(`${server.url}/console?scope=${LUJIAGOU}`);
      assert.equal(res.status(), 403, `?scope=${LUJIAGOU} → ${res.status()}`);
      assert.ok(await page.locator('#forbidden').isVisible());
      assert.equal(await page.locator('#kpi-open').count(), 0, 'figures of 鲁家沟镇 shown');
      for (const path of ['/console/cases', '/console/overdue']) {
        res = await page.goto(`${server.url}${path}?scope=${LUJIAGOU}`);
        assert.equal(res.status(), 403, `${path}?scope=${LUJIAGOU} → ${res.status()}`);
      }
      // Its own list does not hold 鲁家沟镇's cases either.
      await page.goto(`${server.url}/console/cases`);
      const names = (await rows(page, '#cases')).map((r) => r[0]);
      assert.ok(names.includes('沈桂芝'), '沈桂芝 missing from 内官营镇\'s list');
      assert.ok(!names.includes('赵永红') && !names.includes('刘玉梅'), `内官营镇 lists 鲁家沟镇's cases: ${names}`);

      res = await page.goto(`${server.url}/console/admin`);
      assert.equal(res.status(), 403, `/console/admin as a township → ${res.status()}`);
      assert.ok(await page.locator('#forbidden').isVisible());
      assert.equal(await page.locator('nav.side a[data-nav=admin]').count(), 0, 'a township is offered 系统管理');
      res = await page.goto(`${server.url}/console/admin/calendar`);
      assert.equal(res.status(), 403);
      trouble.assertNone('errors on the refusals');
    } finally {
      await context.close();
    }

    // Not signed in: to the login page, and from there back where one was going.
    const anon = await desktop();
    try {
      const res = await anon.page.goto(`${server.url}/console/overdue`);
      const url = new URL(anon.page.url());
      assert.equal(url.pathname, '/console/login', `anonymous /console/overdue ended on ${anon.page.url()} (${res.status()})`);
      assert.equal(await anon.page.locator('input[name=next]').inputValue(), '/console/overdue');
      assert.ok(await anon.page.locator('#signin').isVisible());
      await anon.page.locator('#login').fill(TOWNSHIP().login);
      await anon.page.locator('#password').fill(TOWNSHIP().password);
      await clickAndWait(anon.page, anon.page.locator('#signin'));
      assert.equal(new URL(anon.page.url()).pathname, '/console/overdue', 'sign-in did not go on to the page asked for');
    } finally {
      await anon.context.close();
    }
  });

  // ---- (5) the administrator ----
  test('(5) the admin creates a village worker, a bad one is refused with the form kept; the calendar lists 2026', T, async () => {
    const { context, page, trouble } = await desktop();
    try {
      await signIn(page, server, ADMIN());
      let res = await page.goto(`${server.url}/console/admin`);
      assert.equal(res.status(), 200);
      assert.ok(await page.locator('#users').isVisible());
      const users = await page.locator('#users tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.login));
      for (const u of seed.users) assert.ok(users.includes(u.login), `user ${u.login} is not listed`);
      assert.ok(!users.includes('13800009999'));

      const form = page.locator('form#new-user');
      const fill = async (v) => {
        await form.locator('input[name=login]').fill(v.login);
        await form.locator('input[name=name]').fill(v.name);
        await form.locator('select[name=role]').selectOption(v.role);
        await form.locator('input[name=scope]').fill(v.scope);
        await form.locator('input[name=password]').fill(v.password);
      };
      const good = { login: '13800009999', name: '测试网格员', role: 'village_worker', scope: '621102105203', password: 'wangge-2026' };
      await fill(good);
      res = await clickAndWait(page, page.locator('#create-user'));
      assert.equal(res.status(), 200);
      const flash = page.locator('#flash');
      assert.match((await flash.getAttribute('class')) ?? '', /\bok\b/, `flash: ${await text(flash)}`);
      assert.match(await text(flash), /已创建用户：测试网格员（13800009999，村级网格员）/);
      const row = page.locator('#users tbody tr[data-login="13800009999"]');
      assert.equal(await row.count(), 1, 'the new user is not in #users');
      assert.match(await text(row), /测试网格员.*13800009999.*村级网格员.*鲁家沟镇/);
      assert.equal(await page.locator('#new-user-error').count(), 0);
      await shot(page, 'console-admin');

      // A village worker whose scope is a city: refused, everything typed still there.
      trouble.expect(422);
      const bad = { login: '13800009998', name: '错误网格员', role: 'village_worker', scope: '6211', password: 'wangge-2026' };
      await fill(bad);
      res = await clickAndWait(page, page.locator('#create-user'));
      assert.equal(res.status(), 422, `the bad user → HTTP ${res.status()}`);
      const err = page.locator('#new-user-error');
      assert.ok(await err.isVisible(), 'no #new-user-error');
      assert.ok((await text(err)).length > 4, `error "${await text(err)}"`);
      for (const k of ['login', 'name', 'scope', 'password']) {
        assert.equal(await form.locator(`input[name=${k}]`).inputValue(), bad[k], `${k} lost what was typed`);
      }
      assert.equal(await form.locator('select[name=role]').inputValue(), bad.role);
      assert.equal(await page.locator('#users tbody tr[data-login="13800009998"]').count(), 0, 'the bad user was created');
      assert.equal(await page.locator('#users tbody tr[data-login="13800009999"]').count(), 1);
      await shot(page, 'console-admin-error');

      // The holiday calendar.
      res = await page.goto(`${server.url}/console/admin/calendar`);
      assert.equal(res.status(), 200);
      const years = await page.locator('#calendar-years tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.year));
      assert.ok(years.includes('2026'), `calendar years: ${years}`);
      const y2026 = await text(page.locator('#calendar-years tr[data-year="2026"]'));
      assert.match(y2026, /春节/, `2026: ${y2026}`);
      await shot(page, 'console-calendar');

      trouble.assertNone('errors on the admin pages');
    } finally {
      await context.close();
    }
  });
});
