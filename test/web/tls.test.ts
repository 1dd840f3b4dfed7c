import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/stack/process.js';
import { parseWebConfig } from '../../src/web/web-config.js';
import { freePorts, promApi } from '../alerting/support.js';
import { makeCa, makeCert, type CertPair } from '../support/certs.js';
import { runCli, startAgentProcess } from '../support/cli.js';
import { killAndWait } from '../support/processes.js';

/**
 * The agent's HTTP server with an exporter-toolkit web config: real certificates from openssl (a CA, a server
 * certificate, a client certificate, an expired one), real HTTPS requests with and without a client certificate
 * and basic auth, a real Prometheus scraping the agent over HTTPS, and the start-up errors for bad TLS config.
 */
const dir = mkdtempSync(join(tmpdir(), 'headroom-tls-'));
const TOKEN = 'tls-test-token-0123456789';
let ca: CertPair;
let server: CertPair;
let client: CertPair;
let expired: CertPair;
let otherCa: CertPair;
let rogue: CertPair;
const children: ChildProcess[] = [];

interface Reply {
  readonly status: number;
  readonly body: string;
}

function get(url: string, opts: { cert?: CertPair; auth?: string; method?: string; body?: string; bearer?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: readFileSync(ca.cert),
        ...(opts.cert ? { cert: readFileSync(opts.cert.cert), key: readFileSync(opts.cert.key) } : {}),
        headers: {
          ...(opts.auth ? { authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` } : {}),
          ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
          ...(opts.body ? { 'content-type': 'application/json' } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(opts.body);
  });
}

function writeWebConfig(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(() => {
  ca = makeCa(dir);
  server = makeCert(dir, ca, 'server', { sans: ['IP:127.0.0.1', 'DNS:localhost'] });
  client = makeCert(dir, ca, 'prometheus', { sans: ['DNS:prometheus.example'], client: true });
  expired = makeCert(dir, ca, 'expired', { sans: ['IP:127.0.0.1'], days: -1 });
  otherCa = makeCa(dir, 'other-ca');
  rogue = makeCert(dir, otherCa, 'rogue', { sans: ['DNS:prometheus.example'], client: true });
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
}, 60_000);

afterAll(async () => {
  for (const c of children) await killAndWait(c);
  rmSync(dir, { recursive: true, force: true });
});

describe('web config parsing (exporter-toolkit format)', () => {
  it('tolerates keys it does not apply and lists them', () => {
    const r = parseWebConfig('tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\nrate_limit:\n  interval: 1s\n  burst: 20\nsomething_new: 1\n');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.ignored.map((s) => s.split(':')[0])).toEqual(['tls_server_config.cipher_suites', 'rate_limit']);
  });
  it('names the key of each problem', () => {
    const r = parseWebConfig('tls_server_config:\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n  min_version: TLS14\nbasic_auth_users:\n  alice: plain\n');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const text = r.problems.join('\n');
      expect(text).toContain('tls_server_config.min_version: must be one of TLS10, TLS11, TLS12, TLS13');
      expect(text).toContain('basic_auth_users.alice: must be a bcrypt hash');
    }
    const r2 = parseWebConfig('tls_server_config:\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n');
    expect(r2.ok).toBe(false);
    if (!r2.ok) {
      expect(r2.problems).toContain('tls_server_config.cert_file: required (the server certificate, PEM)');
      expect(r2.problems.join('\n')).toContain('tls_server_config.client_ca_file: required with client_auth_type RequireAndVerifyClientCert');
    }
  });
});

describe('headroom agent over HTTPS (--web.config.file)', () => {
  let url = '';
  let port = 0;
  let promPort = 0;
  beforeAll(async () => {
    [port = 0, promPort = 0] = await freePorts(2);
    const web = writeWebConfig(
      'web.yml',
      [
        'tls_server_config:',
        `  cert_file: ${server.cert}`,
        '  key_file: server.key', // relative to the web config file's directory, as in the toolkit
        '  client_auth_type: RequireAndVerifyClientCert',
        `  client_ca_file: ${ca.cert}`,
        '  min_version: TLS12',
        'http_server_config:',
        '  headers:',
        '    X-Content-Type-Options: nosniff',
        'basic_auth_users:',
        `  prometheus: ${bcrypt.hashSync('scrape-secret', 4)}`,
        '',
      ].join('\n'),
    );
    const config = join(dir, 'agent.yml');
    writeFileSync(config, `receiver:\n  enabled: true\n  host: tls-host\n  auth:\n    token_file: ${join(dir, 'token')}\nremediation:\n  dry_run: true\n  state_dir: ${join(dir, 'state')}\n`);
    const agent = await startAgentProcess(['--config', config, '--listen', `127.0.0.1:${port}`, '--web.config.file', web]);
    children.push(agent.child);
    url = agent.url;
  }, 60_000);

  it('listens on https', () => {
    expect(url).toBe(`https://127.0.0.1:${port}`);
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    await expect(get(`${url}/metrics`, { auth: 'prometheus:scrape-secret' })).rejects.toThrow();
    await expect(get(`${url}/metrics`, { cert: rogue, auth: 'prometheus:scrape-secret' })).rejects.toThrow();
  });

  it('with the client certificate: basic auth required on /metrics, right password → metrics, headers applied', async () => {
    expect((await get(`${url}/metrics`, { cert: client })).status).toBe(401);
    expect((await get(`${url}/metrics`, { cert: client, auth: 'prometheus:wrong' })).status).toBe(401);
    expect((await get(`${url}/metrics`, { cert: client, auth: 'mallory:scrape-secret' })).status).toBe(401);
    const ok = await get(`${url}/metrics`, { cert: client, auth: 'prometheus:scrape-secret' });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('headroom_memory_total_bytes');
  });

  it('the receiver keeps its bearer token on top of TLS', async () => {
    const body = JSON.stringify({ version: '4', groupKey: 'k', truncatedAlerts: 0, status: 'firing', receiver: 'r', groupLabels: {}, commonLabels: {}, alerts: [{ status: 'firing', labels: { alertname: 'X', severity: 'warning' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'abc' }] });
    expect((await get(`${url}/alerts/notify`, { cert: client, method: 'POST', body })).status).toBe(401);
    expect((await get(`${url}/alerts/notify`, { cert: client, method: 'POST', body, auth: 'prometheus:scrape-secret' })).status).toBe(401);
    expect((await get(`${url}/alerts/notify`, { cert: client, method: 'POST', body, bearer: 'wrong-token' })).status).toBe(401);
    expect((await get(`${url}/alerts/notify`, { cert: client, method: 'POST', body, bearer: TOKEN })).status).toBe(200);
  });

  it(
    'a real Prometheus scrapes the agent over HTTPS with a client certificate and basic auth',
    async () => {
      const promDir = join(dir, 'prom');
      const promConfig = join(dir, 'prometheus.yml');
      writeFileSync(
        promConfig,
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 900ms',
          'scrape_configs:',
          '  - job_name: headroom',
          '    scheme: https',
          '    tls_config:',
          `      ca_file: ${ca.cert}`,
          `      cert_file: ${client.cert}`,
          `      key_file: ${client.key}`,
          '    basic_auth:',
          '      username: prometheus',
          '      password: scrape-secret',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${port}']`,
          '  - job_name: headroom-no-client-cert',
          '    scheme: https',
          '    tls_config:',
          `      ca_file: ${ca.cert}`,
          '    basic_auth:',
          '      username: prometheus',
          '      password: scrape-secret',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${port}']`,
          '',
        ].join('\n'),
      );
      const prom = spawn('prometheus', [`--config.file=${promConfig}`, `--storage.tsdb.path=${promDir}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
      children.push(prom);
      const base = `http://127.0.0.1:${promPort}`;
      interface Target {
        labels: Record<string, string>;
        health: string;
        lastError: string;
      }
      const targets = await pollUntil(
        async () => {
          const r = await promApi<{ activeTargets: Target[] }>(base, '/api/v1/targets');
          const t = r.data.activeTargets;
          return t.length === 2 && t.every((x) => x.health !== 'unknown') ? t : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'both targets scraped' },
      );
      const good = targets.find((t) => t.labels.job === 'headroom');
      const bad = targets.find((t) => t.labels.job === 'headroom-no-client-cert');
      expect(good?.health, good?.lastError).toBe('up');
      expect(bad?.health).toBe('down');
      const q = await promApi<{ result: Array<{ value: [number, string] }> }>(base, `/api/v1/query?query=${encodeURIComponent('headroom_memory_total_bytes{job="headroom"}')}`);
      expect(Number(q.data.result[0]?.value[1])).toBeGreaterThan(0);
    },
    90_000,
  );
});

describe('bad TLS config stops the agent at start with exit 2, naming the key', () => {
  const start = (name: string, text: string): { code: number | null; stderr: string } => {
    const web = writeWebConfig(name, text);
    return runCli(['agent', '--listen', '127.0.0.1:0', '--web.config.file', web]);
  };
  it('a missing certificate file', () => {
    const r = start('missing.yml', `tls_server_config:\n  cert_file: ${join(dir, 'nope.crt')}\n  key_file: ${server.key}\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`tls_server_config.cert_file: cannot read ${join(dir, 'nope.crt')} (ENOENT)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  it('a key that does not match the certificate', () => {
    const r = start('mismatch.yml', `tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${client.key}\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tls_server_config.key_file: the private key');
    expect(r.stderr).toContain('does not match the certificate');
  });
  it('an expired certificate', () => {
    const r = start('expired.yml', `tls_server_config:\n  cert_file: ${expired.cert}\n  key_file: ${expired.key}\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tls_server_config\.cert_file: the certificate \S+expired\.crt expired on \d{4}-/);
  });
  it('a missing web config file', () => {
    const r = runCli(['agent', '--listen', '127.0.0.1:0', '--web.config.file', join(dir, 'absent.yml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read the file (ENOENT)');
  });
});
