// Test harness: runs the real `rowgate` binary as a child process on a free 127.0.0.1 port,
// over a fresh temporary data dir (embedded SQLite, migrated and seeded with the demo data at
// start), with a fixed test secret, and mints tokens with `rowgate token` under the same
// environment. Every gateway started here is killed and its data dir removed when the test
// file is done — also when a test fails, a hook throws or the process is interrupted.

import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import WebSocket from 'ws';

const execFileAsync = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

/** The HMAC secret every gateway of the suite signs and verifies tokens with (≥ 32 bytes). */
export const TEST_SECRET = 'rowgate-js-client-suite-secret-0123456789abcdef';

/** Demo data ids (see server/src/seed/demo.rs). */
const demo = (group, n) =>
  `deadbeef-0000-4000-8000-${(group * 0x10000 + n).toString(16).padStart(12, '0')}`;
export const ACME = demo(1, 1);
export const GLOBEX = demo(1, 2);
export const ALICE = demo(2, 1);
export const BOB = demo(2, 2);
export const CAROL = demo(2, 3);
export const DAVE = demo(2, 4);
export const FRANK = demo(2, 6);
export const HEIDI = demo(2, 8);
/** Post `n` of the demo data (1: "Welcome to Acme", 2: "Q3 roadmap", …). */
export const post = (n) => demo(4, n);

/** The binary under test: `ROWGATE_BIN` (relative to the current directory), else the debug build. */
export function binaryPath() {
  const configured = process.env.ROWGATE_BIN;
  return configured ? resolve(process.cwd(), configured) : resolve(here, '../target/debug/rowgate');
}

// Children and data dirs still alive, cleaned up synchronously if the process goes away.
const live = new Set();
function cleanupAllSync() {
  for (const gw of live) {
    try {
      gw.child.kill('SIGKILL');
    } catch {}
    try {
      rmSync(gw.dir, { recursive: true, force: true });
    } catch {}
  }
  live.clear();
}
process.on('exit', cleanupAllSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    cleanupAllSync();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[signal]);
  });
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The environment of the child: nothing inherited that would point it elsewhere. A variable
 * `extra` sets to `null` is left out (`{ ROWGATE_JWT_SECRET: null }`: the embedded default
 * generates its own secret).
 */
function childEnv(dir, port, extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('ROWGATE_') || key === 'DATABASE_URL' || key === 'REDIS_URL') continue;
    env[key] = value;
  }
  const merged = {
    ...env,
    ROWGATE_LISTEN: `127.0.0.1:${port}`,
    ROWGATE_DATA_DIR: dir,
    ROWGATE_JWT_SECRET: TEST_SECRET,
    ROWGATE_SHUTDOWN_GRACE_SECS: '1',
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
    NO_COLOR: '1',
    ...extra,
  };
  for (const [key, value] of Object.entries(merged)) {
    if (value === null) delete merged[key];
  }
  return merged;
}

async function startOnce(bin, extraEnv, timeoutMs) {
  const dir = mkdtempSync(join(tmpdir(), 'rowgate-clients-'));
  const port = await freePort();
  const env = childEnv(dir, port, extraEnv);
  const child = spawn(bin, ['serve'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const gw = { child, dir, output: '' };
  live.add(gw);
  const keep = (chunk) => {
    gw.output = (gw.output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exitedPromise = new Promise((r) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      r(exited);
    }),
  );
  child.once('error', (error) => {
    exited = { code: null, signal: null, error };
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let healthy = false;
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) {
        healthy = true;
        break;
      }
    } catch {}
    await sleep(100);
  }

  const stopChild = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitedPromise;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
    live.delete(gw);
  };

  if (!healthy) {
    await stopChild();
    return {
      failure: exited
        ? `rowgate exited before /healthz answered (${exited.error ?? `code ${exited.code}, signal ${exited.signal}`})`
        : `rowgate did not answer /healthz within ${timeoutMs} ms`,
      output: gw.output,
      retry: Boolean(exited) && /address (already )?in use/i.test(gw.output),
    };
  }

  return { url, env, stopChild, exitedPromise, gw };
}

/**
 * Starts a gateway. `options.env` adds variables (e.g. `{ ROWGATE_WS_KEEPALIVE_SECS: '2' }`)
 * or, set to `null`, removes them.
 * Returns `{ url, graphqlUrl, wsUrl, token(user, tenant, opts), gql(...), stop(), output() }`.
 */
export async function startGateway(options = {}) {
  const bin = binaryPath();
  if (!existsSync(bin)) {
    throw new Error(`rowgate binary not found at ${bin}: build it (cargo build) or set ROWGATE_BIN`);
  }
  const extraEnv = options.env ?? {};
  let started;
  for (let attempt = 1; attempt <= 3; attempt++) {
    started = await startOnce(bin, extraEnv, options.timeoutMs ?? 60_000);
    if (!started.failure) break;
    if (!started.retry || attempt === 3) {
      throw new Error(`${started.failure}\n--- rowgate output ---\n${started.output}`);
    }
  }
  const { url, env, stopChild, exitedPromise, gw } = started;
  let stopped = false;

  const gateway = {
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `${url.replace('http://', 'ws://')}/graphql`,
    env,

    /** Mints a token with `rowgate token` (`opts.ttl`: `90s`, `1h`…; `opts.role`). */
    async token(user, tenant, opts = {}) {
      const args = ['token'];
      if (user) args.push('--user', user);
      if (tenant) args.push('--tenant', tenant);
      if (opts.role) args.push('--role', opts.role);
      args.push('--ttl', opts.ttl ?? '1h');
      const { stdout } = await execFileAsync(bin, args, { env, cwd: gw.dir, timeout: 30_000 });
      const token = stdout.trim().split(/\s+/).pop();
      if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token ?? '')) {
        throw new Error(`rowgate token printed no token: ${JSON.stringify(stdout)}`);
      }
      return token;
    },

    /** POSTs a GraphQL request; returns `{ status, headers, body }` (body parsed if JSON). */
    async gql(query, variables = {}, token, headers = {}) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      return { status: response.status, headers: response.headers, body };
    },

    /** The last lines the gateway printed (for assertion messages). */
    output: () => gw.output,

    /** Whether the process has exited. */
    exited: exitedPromise,

    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild();
    },
  };
  return gateway;
}

/**
 * A list of events with `waitFor(predicate, ms)`: resolves with the first event (already
 * received or to come) that matches, rejects after `ms`.
 */
export class EventLog {
  constructor(label = 'events') {
    this.label = label;
    this.events = [];
    this.errors = [];
    this.waiters = new Set();
  }

  push(event) {
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(event)) {
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(event);
      }
    }
  }

  fail(error) {
    this.errors.push(error);
  }

  find(predicate) {
    return this.events.find(predicate);
  }

  waitFor(predicate, ms = 5000, what = 'a matching event') {
    const found = this.events.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolveEvent, reject) => {
      const waiter = { predicate, resolve: resolveEvent };
      waiter.timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `${this.label}: no ${what} within ${ms} ms; received ${JSON.stringify(this.events)}` +
              (this.errors.length ? `; errors ${JSON.stringify(this.errors.map(String))}` : ''),
          ),
        );
      }, ms);
      this.waiters.add(waiter);
    });
  }
}

/** A title no other test run uses. */
export function unique(prefix) {
  return `${prefix} ${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Subscriptions start asynchronously on the server: until one is registered, events are
 * missed. Writes a probe post (public, so every subscriber may see it) until every log has
 * received one, so that what the test does next is seen by live subscriptions.
 * `titleOf(event)` reads the post title out of an event of a log.
 */
export async function primeSubscriptions(gateway, logs, titleOf, { attempts = 10, wait = 1000 } = {}) {
  const writer = await gateway.token(CAROL, ACME);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const title = unique('probe');
    const { body } = await gateway.gql(
      'mutation($t: String!) { createPost(input: {title: $t, body: "probe", status: PUBLISHED, visibility: PUBLIC}) { id } }',
      { t: title },
      writer,
    );
    if (body?.errors) throw new Error(`probe write failed: ${JSON.stringify(body)}`);
    try {
      await Promise.all(logs.map((log) => log.waitFor((e) => titleOf(e) === title, wait)));
      return;
    } catch {}
  }
  throw new Error(
    `subscriptions never received a probe event after ${attempts} writes: ` +
      logs.map((l) => `${l.label}: ${JSON.stringify(l.events)} ${l.errors.map(String)}`).join('; '),
  );
}

/** Creates a post as `token`; returns its id (asserting the write succeeded). */
export async function createPost(gateway, token, title, extra = '') {
  const { body } = await gateway.gql(
    `mutation($t: String!) { createPost(input: {title: $t, body: "b", status: PUBLISHED${extra}}) { id } }`,
    { t: title },
    token,
  );
  if (body?.errors || !body?.data?.createPost?.id) {
    throw new Error(`createPost failed: ${JSON.stringify(body)}`);
  }
  return body.data.createPost.id;
}

/**
 * Opens a bare socket speaking `protocol` that sends `connection_init` with `token` and then
 * answers nothing, neither protocol pings nor WebSocket ping frames (a peer whose network is
 * gone). Resolves after the server closes it, or after `waitMs` (then it is terminated), with
 * the message types it received and `{ code, reason, after }` of the close (null if none).
 */
export async function silentPeer(gateway, protocol, token, waitMs) {
  const socket = new WebSocket(gateway.wsUrl, protocol, { autoPong: false });
  const received = [];
  const opened = Date.now();
  const closed = new Promise((resolveClose) =>
    socket.on('close', (code, reason) => resolveClose({ code, reason: reason.toString(), after: Date.now() - opened })),
  );
  socket.on('message', (data) => received.push(JSON.parse(data.toString()).type));
  socket.on('open', () =>
    socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } })),
  );
  let timer;
  const outcome = await Promise.race([closed, new Promise((r) => (timer = setTimeout(() => r(null), waitMs)))]);
  clearTimeout(timer);
  if (!outcome) socket.terminate();
  return { received, outcome };
}
