// Debian's Chromium driven by playwright-core. Never a browser download: the executable is
// /usr/bin/chromium (or YIJIAN_CHROMIUM). Each launch gets a fresh profile: playwright-core's
// launch() makes a new temporary --user-data-dir per browser and deletes it on close (it
// refuses a --user-data-dir argument for that reason).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from './server.mjs';

export const CHROMIUM = process.env.YIJIAN_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = join(REPO, 'target', 'screenshots');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
}

/** A cheap Android phone in WeChat: 360×740 CSS px, 2× pixels for crisp screenshots. */
export const PHONE = {
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: 'zh-CN',
  timezoneId: 'Asia/Shanghai',
  userAgent:
    'Mozilla/5.0 (Linux; Android 10; Redmi 8A Build/QKQ1.191014.001; wv) AppleWebKit/537.36 ' +
    '(KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36 ' +
    'XWEB/1200 MMWEBSDK/20231002 MicroMessenger/8.0.43.2480(0x28002B51) NetType/4G Language/zh_CN',
};

/** An office PC (the console): 1366×768. */
export const DESKTOP = {
  viewport: { width: 1366, height: 768 },
  deviceScaleFactor: 1,
  locale: 'zh-CN',
  timezoneId: 'Asia/Shanghai',
};

/** An A4 page at 96 dpi (210 × 297 mm). */
export const A4 = {
  viewport: { width: 794, height: 1123 },
  deviceScaleFactor: 1,
  locale: 'zh-CN',
  timezoneId: 'Asia/Shanghai',
};

/** Save a full-page screenshot as <repo>/target/screenshots/web-<name>.png; returns the path. */
export async function shot(page, name, { fullPage = true } = {}) {
  await mkdir(SHOTS, { recursive: true });
  // Let layout and paint settle: two animation frames. With JavaScript off the frames never
  // come back to the script, so wait at most half a second.
  await Promise.race([
    page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))).catch(() => {}),
    new Promise((r) => setTimeout(r, 500)),
  ]);
  const path = join(SHOTS, `web-${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/** Save bytes (e.g. a PNG the server made) next to the screenshots. */
export async function saveShot(name, bytes) {
  await mkdir(SHOTS, { recursive: true });
  const path = join(SHOTS, `web-${name}.png`);
  await writeFile(path, bytes);
  return path;
}

/** Roughly 2G (EDGE): 250 kbit/s each way, 800 ms round trip. */
export const NET_2G = { latency: 800, downloadThroughput: (250 * 1000) / 8, uploadThroughput: (250 * 1000) / 8 };

/** Throttle one page's network through the DevTools protocol. Returns the CDP session. */
export async function emulate2G(page, conditions = NET_2G) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, ...conditions });
  return cdp;
}

/**
 * Count what a page loads: every response with its size on the wire (encodedDataLength from
 * the DevTools protocol, headers included) and its decoded body size. Call before goto().
 */
export async function recordTraffic(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const byId = new Map();
  cdp.on('Network.responseReceived', (e) => {
    byId.set(e.requestId, { url: e.response.url, type: e.type, status: e.response.status, encoded: 0, decoded: 0 });
  });
  cdp.on('Network.dataReceived', (e) => {
    const r = byId.get(e.requestId);
    if (r) r.decoded += e.dataLength;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = byId.get(e.requestId);
    if (r) r.encoded = e.encodedDataLength;
  });
  return {
    responses: () => [...byId.values()],
    stop: () => cdp.detach().catch(() => {}),
  };
}
