// harness.mjs — starts a real siyu server on a free port with a fresh data
// dir and talks to it over HTTP only (nginx-tests / Redis start_server style).
//
//   const srv = await startServer({ contacts: 300 });   // runs `siyu demo` first
//   const admin = await srv.login();                     // session client (cookie + CSRF)
//   const res = await admin.get('/api/v1/contacts');     // { status, body, headers }
//   await srv.stop();
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BIN = process.env.SIYU_BIN || path.resolve('build/siyu');

// Runs the siyu binary synchronously; returns { status, stdout, stderr }.
export function runSiyu(args, opts = {}) {
  try {
    const stdout = execFileSync(BIN, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    return { status: e.status, stdout: String(e.stdout || ''), stderr: String(e.stderr || '') };
  }
}

export class Client {
  constructor(base, { token, cookie, csrf } = {}) {
    this.base = base;
    this.token = token;
    this.cookie = cookie;
    this.csrf = csrf;
  }
  // Sends a request. body: object (JSON), string or Buffer (sent as is).
  async req(method, url, body, headers = {}) {
    const h = { ...headers };
    if (this.token) h['authorization'] = `Bearer ${this.token}`;
    if (this.cookie) h['cookie'] = this.cookie;
    if (this.csrf && method !== 'GET') h['x-csrf-token'] = this.csrf;
    let payload = body;
    if (body !== undefined && typeof body === 'object' && !Buffer.isBuffer(body)) {
      payload = JSON.stringify(body);
      if (!h['content-type']) h['content-type'] = 'application/json';
    }
    const res = await fetch(this.base + url, { method, headers: h, body: payload });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: json, text, headers: res.headers };
  }
  get(url, headers) { return this.req('GET', url, undefined, headers); }
  post(url, body, headers) { return this.req('POST', url, body, headers); }
  patch(url, body, headers) { return this.req('PATCH', url, body, headers); }
  put(url, body, headers) { return this.req('PUT', url, body, headers); }
  del(url, body, headers) { return this.req('DELETE', url, body, headers); }
}

// Starts a server. opts.dataDir: use this data dir instead of a fresh one.
// opts.contacts: when set, `siyu demo --contacts N` seeds the
// data dir first (demo.json is then in srv.demo). opts.args: extra serve args.
export async function startServer(opts = {}) {
  const dir = opts.dataDir || mkdtempSync(path.join(tmpdir(), 'siyu-e2e-'));
  let demo = null;
  if (opts.contacts !== undefined) {
    const r = runSiyu(['demo', '--data', dir, '--seed', String(opts.seed ?? 1), '--contacts', String(opts.contacts)]);
    if (r.status !== 0) throw new Error(`siyu demo failed: ${r.stderr}`);
    demo = JSON.parse(readFileSync(path.join(dir, 'demo.json'), 'utf8'));
  }
  const proc = spawn(BIN, ['serve', '--data', dir, '--listen', '127.0.0.1:0', ...(opts.args || [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // test receivers listen on 127.0.0.1, which a real server refuses to
    // deliver to; a test may set it back to '0'
    env: { SIYU_WEBHOOK_ALLOW_PRIVATE: '1', ...process.env, ...(opts.env || {}) },
  });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 15000);
    const onData = (d) => {
      log += d.toString();
      const m = log.match(/listening url=http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${log}`)); });
  });
  proc.stderr.on('data', (d) => { log += d.toString(); });
  const base = `http://127.0.0.1:${port}`;
  const srv = {
    dir, port, base, demo, proc,
    get log() { return log; },
    anon: new Client(base),
    // Logs in with a password and returns a cookie+CSRF client.
    async login(username = demo?.admin?.username, password = demo?.admin?.password) {
      const res = await fetch(base + '/api/v1/auth/login', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(body)}`);
      const cookie = (res.headers.getSetCookie() || []).map((c) => c.split(';')[0]).join('; ');
      return new Client(base, { cookie, csrf: body.csrf_token });
    },
    // A client using the demo admin API token.
    admin() { return new Client(base, { token: demo.admin.api_token }); },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) {
        const done = new Promise((r) => proc.on('exit', r));
        proc.kill(signal);
        await done;
      }
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
  return srv;
}
