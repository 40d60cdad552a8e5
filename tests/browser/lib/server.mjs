// A real yijian-server for one test file: fresh temporary data directory (SQLite), users
// imported from a CSV written here, port 0, and the `listening on` line awaited (no sleeps).
// Every server started here is killed at the end: by stop(), and, should a test file die
// without calling it, when the Node process exits.
//
// The binary is <repo>/target/debug/yijian-server unless YIJIAN_SERVER_BIN names another.
// YIJIAN_TEST_KEEP=1 keeps the data directories (their paths are printed) for a post-mortem.

import { spawn, execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function serverBin() {
  return process.env.YIJIAN_SERVER_BIN || join(REPO, 'target', 'debug', 'yijian-server');
}

/** The users every test server gets (one per role and level of the test region, 安定区). */
export const USERS = [
  { login: '13800000001', name: '李网格', role: 'village_worker', scope: '621102105201', password: 'village-pass-1' },
  { login: '13800000002', name: '王乡镇', role: 'township', scope: '621102105', password: 'township-pass-1' },
  { login: '13800000003', name: '张县级', role: 'county', scope: '621102', password: 'county-pass-1' },
  { login: '13800000004', name: '赵市级', role: 'city', scope: '6211', password: 'city-pass-01' },
  { login: '13800000005', name: '刘省级', role: 'province', scope: '62', password: 'province-pass-1' },
  { login: '13800000006', name: '陈管理', role: 'admin', scope: '62', password: 'admin-pass-01' },
];

/** The test village: 甘肃省定西市安定区鲁家沟镇 (a real code from the region list). */
export const VILLAGE = '621102105201';

// Servers still running, with their data directories: killed (and the directories removed)
// when this process exits or is interrupted, whatever state the tests are in.
const live = new Map();
function killAll() {
  for (const [child, dir] of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
    if (!process.env.YIJIAN_TEST_KEEP) rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

function csvCell(v) {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function run(args, { env, timeoutMs = 60_000 } = {}) {
  return new Promise((res, rej) => {
    const child = execFile(serverBin(), args, { env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        err.message += stdout ? `\nstdout: ${stdout}` : '';
        rej(err);
      } else {
        res({ stdout, stderr });
      }
    });
    child.stdin?.end();
  });
}

/**
 * Start a server. Options:
 * - users: rows to import (default USERS)
 * - env: extra environment variables (configuration keys, e.g. YIJIAN_PUBLIC__…)
 * - demoSeed: run `demo-seed --json` before serving and return its JSON as `seed`
 * - timeoutMs: how long to wait for the `listening on` line
 */
export async function startServer({ users = USERS, env = {}, demoSeed = false, timeoutMs = 30_000 } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'yijian-browser-'));
  const childEnv = {
    ...process.env,
    // One test file declares many times from 127.0.0.1: lift the per-address limits.
    YIJIAN_PUBLIC__DECLARATIONS_PER_IP_PER_HOUR: '1000',
    YIJIAN_PUBLIC__LOOKUPS_PER_IP_PER_HOUR: '1000',
    YIJIAN_LOG: process.env.YIJIAN_LOG || 'info',
    ...env,
  };
  // Settings must come from here, not from the developer's shell.
  delete childEnv.YIJIAN_CONFIG;
  delete childEnv.YIJIAN_DATA_DIR;
  delete childEnv.YIJIAN_DATABASE_URL;
  delete childEnv.YIJIAN_LISTEN;

  const cleanup = async () => {
    if (process.env.YIJIAN_TEST_KEEP) {
      console.log(`# kept data dir ${dataDir}`);
    } else {
      await rm(dataDir, { recursive: true, force: true });
    }
  };

  let seed = null;
  try {
    if (users.length) {
      const csv = ['login,name,role,scope,password',
        ...users.map((u) => [u.login, u.name, u.role, u.scope, u.password].map(csvCell).join(','))].join('\n') + '\n';
      const file = join(dataDir, 'users.csv');
      await writeFile(file, csv);
      await run(['--data-dir', dataDir, 'import-users', file], { env: childEnv });
    }
    if (demoSeed) {
      const { stdout } = await run(['--data-dir', dataDir, 'demo-seed', '--json'], { env: childEnv });
      seed = JSON.parse(stdout);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }

  const child = spawn(serverBin(), ['--data-dir', dataDir, 'serve', '--listen', '127.0.0.1:0'], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.set(child, dataDir);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const exited = new Promise((res) => child.once('exit', (code, signal) => { live.delete(child); res({ code, signal }); }));

  let url;
  try {
    url = await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no "listening on" line within ${timeoutMs} ms`)), timeoutMs);
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const m = /^listening on (http:\/\/\S+)/.exec(line.trim());
        if (m) {
          clearTimeout(timer);
          res(m[1].replace(/\/$/, ''));
        }
      });
      child.once('error', (e) => { clearTimeout(timer); rej(e); });
      exited.then(({ code, signal }) => { clearTimeout(timer); rej(new Error(`server exited (code ${code}, signal ${signal}) before listening`)); });
    });
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    await cleanup();
    e.message += `\nbinary: ${serverBin()}\nstderr:\n${stderr.slice(-4000)}`;
    throw e;
  }

  let stopped = null;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await cleanup();
    })();
    return stopped;
  };

  return {
    url,
    dataDir,
    users,
    seed,
    stop,
    /** What the server logged so far (for failure messages). */
    stderr: () => stderr,
  };
}

// ---------------------------------------------------------------------------------------------
// The SMS log (provider "log": one JSON line per text in <dataDir>/sms.log)
// ---------------------------------------------------------------------------------------------

export async function readSms(dataDir) {
  let text;
  try {
    text = await readFile(join(dataDir, 'sms.log'), 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** Poll the SMS log until a text matches (the sender runs every ~2 s). */
export async function waitForSms(dataDir, predicate, { timeoutMs = 20_000, everyMs = 250 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const texts = await readSms(dataDir);
    const hit = texts.find(predicate);
    if (hit) return hit;
    if (Date.now() > end) {
      throw new Error(`no matching text in sms.log within ${timeoutMs} ms; it holds:\n${texts.map((t) => JSON.stringify(t)).join('\n') || '(nothing)'}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------------------------
// The JSON sync API
// ---------------------------------------------------------------------------------------------

/** A UUIDv7: 48-bit Unix ms timestamp, version 7, variant 10, the rest random. */
export function uuidv7(ms = Date.now()) {
  const b = randomBytes(16);
  let t = BigInt(ms);
  for (let i = 5; i >= 0; i--) {
    b[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A hybrid-logical-clock stamp as the server reads it: 15-digit wall ms, 8-hex counter, 8-hex node. */
export function makeHlc(node = randomInt(1, 0x7fffffff)) {
  let last = 0;
  let counter = 0;
  return () => {
    const now = Date.now();
    if (now > last) {
      last = now;
      counter = 0;
    } else {
      counter += 1;
    }
    return `${String(last).padStart(15, '0')}-${counter.toString(16).padStart(8, '0')}-${node.toString(16).padStart(8, '0')}`;
  };
}

export function api(url) {
  const hlc = makeHlc();
  async function call(method, path, body, token) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (!res.ok) {
      throw new Error(`${method} ${path} → HTTP ${res.status}: ${text.slice(0, 2000)}`);
    }
    return json;
  }
  return {
    call,
    /** → {token, device_id, user, server_time} */
    login: (login, password, device_name = 'browser-test') =>
      call('POST', '/v1/auth/login', { login, password, device_name }),
    /** commands: [{type, data}] command bodies, or full {id, hlc, body} commands. → {server_time, results} */
    push: (token, device_id, commands) =>
      call('POST', '/v1/sync/push', {
        protocol: 1,
        device_id,
        commands: commands.map((c) => (c.body ? c : { id: uuidv7(), hlc: hlc(), body: c })),
      }, token),
    /** One case step as a push; returns the command's outcome ({type: applied|already_applied|refused, …}). */
    async step(token, device_id, case_id, step) {
      const r = await this.push(token, device_id, [{ type: 'case_step', data: { case_id, step } }]);
      return r.results[0].outcome;
    },
  };
}
