import { startServer } from './lib/server.mjs';
import { DESKTOP, launch } from './lib/browser.mjs';
import { signIn } from './lib/console.mjs';
const server = await startServer({ users: [], demoSeed: true });
const browser = await launch();
try {
  const ctx = await browser.newContext({ ...DESKTOP });
  const page = await ctx.newPage();
  const u = server.seed.users.find((x) => x.login === '13800000011');
  await signIn(page, server, u);
  await page.goto(`${server.url}/console?scope=621102105201`);
  await page.waitForSelector('#chart-stage svg');
  console.log(await page.evaluate(() => {
    const out = { sh: document.documentElement.scrollHeight, body: document.body.scrollHeight, main: document.querySelector('main').getBoundingClientRect().bottom };
    out.tall = Array.from(document.querySelectorAll('body *')).map((e) => [e.tagName + '#' + e.id + '.' + e.className, Math.round(e.getBoundingClientRect().bottom)]).filter((x) => x[1] > 1600).slice(0, 20);
    return out;
  }));
} finally { await browser.close(); await server.stop(); }
