import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { dump, load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../src/audit/audit-log.js';
import { freePort, repo, runTool } from './support.js';

/**
 * docker-compose.yml's agent, run the way compose runs it, without Docker: the service as `docker-compose
 * config` resolves it, the image's ENTRYPOINT from the Dockerfile, the service's command, and every volume
 * mapped to a place on this machine (/proc and /sys to themselves, named volumes and the operator's secrets
 * to temp directories, files from the repository to themselves). Container paths in the command and in the
 * mounted config are translated through those mounts, so a path that is not mounted — or a state directory
 * on a read-only mount of a read_only container — fails here as it would in the container.
 * The one deviation: the listen port is a free one (other tests run on this machine at the same time).
 */

interface Mount {
  readonly target: string;
  readonly host: string;
  readonly readOnly: boolean;
}

interface Service {
  command?: string[];
  volumes?: string[];
  read_only?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
}

/** A uid that is neither root nor nobody. */
const OPERATOR_UID = 41_234;

const dir = mkdtempSync(join(tmpdir(), `headroom-compose-agent-${process.pid}-`));
let child: ChildProcess | undefined;
let url = '';
let token = '';
let stateDir = '';
let logs = '';

function composeConfig(): { services: Record<string, Service> } {
  const r = runTool('docker-compose', ['-f', 'docker-compose.yml', 'config']);
  expect(r.status, r.output).toBe(0);
  return load(r.stdout) as { services: Record<string, Service> };
}

/** "src:dst[:mode]" as docker-compose config prints them; a source that is not a path is a named volume. */
function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((v) => {
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    let host: string;
    if (!isAbsolute(source)) {
      host = join(dir, 'volumes', source);
      mkdirSync(host, { recursive: true });
    } else if (source.startsWith(repo('secrets'))) {
      // The operator creates secrets/ (docker-compose.yml's header says how); here it is under the temp dir.
      host = join(dir, source.slice(repo().length));
    } else host = source;
    return { target, host, readOnly: mode.split(',').includes('ro') };
  });
}

/** A container path → where it is on this machine, through the longest mount; undefined when not mounted. */
function translate(ms: readonly Mount[], path: string): Mount & { path: string } | undefined {
  const m = ms.filter((x) => path === x.target || path.startsWith(`${x.target}/`)).sort((a, b) => b.target.length - a.target.length)[0];
  return m ? { ...m, path: m.host + path.slice(m.target.length) } : undefined;
}

function headerCommand(): string {
  // The documented way to create the token: the command line in docker-compose.yml's header.
  const line = readFileSync(repo('docker-compose.yml'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('#') && l.includes('secrets/receiver-token') && l.includes('>'));
  expect(line, 'docker-compose.yml must say how to create secrets/receiver-token').toBeDefined();
  return (line ?? '').replace(/^#\s*/, '');
}

const warning = (fp: string) => ({
  version: '4',
  groupKey: '{}:{alertname="HeadroomHostMemoryHigh"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'headroom-notify',
  groupLabels: { alertname: 'HeadroomHostMemoryHigh' },
  commonLabels: { alertname: 'HeadroomHostMemoryHigh', severity: 'warning' },
  commonAnnotations: {},
  externalURL: 'http://127.0.0.1:9093',
  // Warnings only: this agent runs with the shipped config, which may act on critical alerts.
  alerts: [{ status: 'firing', labels: { alertname: 'HeadroomHostMemoryHigh', severity: 'warning', instance: 'compose-test' }, annotations: {}, startsAt: '2025-12-12T03:12:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: fp }],
});

describe('docker-compose.yml: the agent can receive Alertmanager webhooks', () => {
  const services = composeConfig().services;
  const agent = services.agent ?? {};
  const agentMounts = mounts(agent);

  beforeAll(async () => {
    const made = spawnSync('sh', ['-c', headerCommand()], { cwd: dir, encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    // Made by an operator who is not root (in the docker group): the agent must still be able to read it.
    chownSync(join(dir, 'secrets', 'receiver-token'), OPERATOR_UID, OPERATOR_UID);

    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(repo('Dockerfile'), 'utf8'))?.[1] ?? '[]') as string[];
    expect(entrypoint[0]).toBe('node');
    const image = [{ target: '/opt/headroom', host: repo(), readOnly: true }];
    const port = await freePort();
    const args: string[] = [];
    const command = agent.command ?? [];
    for (const [i, arg] of [...entrypoint.slice(1), ...command].entries()) {
      const previous = i > 0 ? [...entrypoint.slice(1), ...command][i - 1] : undefined;
      if (previous === '--listen') {
        expect(arg).toBe('127.0.0.1:9632');
        args.push(`127.0.0.1:${port}`);
      } else if (previous === '--config') {
        const file = translate(agentMounts, arg);
        expect(file, `--config ${arg} is not mounted into the agent`).toBeDefined();
        expect(existsSync(file?.path ?? ''), `${file?.path} (mounted at ${arg}) does not exist`).toBe(true);
        // The config names container paths: translate each through the mounts.
        const doc = load(readFileSync(file?.path ?? '', 'utf8')) as Record<string, Record<string, unknown>>;
        const tokenFile = (doc.receiver?.auth as Record<string, string> | undefined)?.token_file ?? '';
        const tokenMount = translate(agentMounts, tokenFile);
        expect(tokenMount, `receiver.auth.token_file ${tokenFile} is not mounted`).toBeDefined();
        const stateDirSetting = doc.remediation?.state_dir;
        const state = translate(agentMounts, typeof stateDirSetting === 'string' ? stateDirSetting : '/var/lib/headroom');
        expect(state, 'remediation.state_dir is not on a volume (the container is read_only)').toBeDefined();
        expect(state?.readOnly, 'remediation.state_dir is on a read-only mount').toBe(false);
        stateDir = state?.path ?? '';
        token = readFileSync(tokenMount?.path ?? '', 'utf8').trim();
        const translated = { ...doc, receiver: { ...doc.receiver, auth: { token_file: tokenMount?.path } }, remediation: { ...doc.remediation, state_dir: stateDir } };
        const out = join(dir, 'headroom.yml');
        writeFileSync(out, dump(translated));
        args.push(out);
      } else if (arg.startsWith('/')) {
        const t = translate(i < entrypoint.length - 1 ? image : agentMounts, arg);
        expect(t, `${arg} is not in the image or mounted`).toBeDefined();
        args.push(t?.path ?? arg);
      } else args.push(arg);
    }
    expect(agent.read_only).toBe(true);
    // The container's privileges: root with only the capabilities compose adds back, no new privileges.
    const caps = ['-all', ...(agent.cap_add ?? []).map((c) => `+${c.toLowerCase()}`)].join(',');
    expect(agent.cap_drop).toEqual(['ALL']);
    const nnp = (agent.security_opt ?? []).includes('no-new-privileges:true') ? ['--no-new-privs'] : [];
    child = spawn('setpriv', ['--bounding-set', caps, '--inh-caps', '-all', ...nnp, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent did not start: ${logs}`)), 30_000);
      child?.stderr?.on('data', (chunk: Buffer) => {
        logs += chunk.toString();
        const m = /"msg":"agent listening","url":"([^"]+)"/.exec(logs);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child?.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`agent exited with ${code}: ${logs}`));
      });
    });
  });

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers Alertmanager on /alerts/remediate and /alerts/notify with the mounted token (2xx), 401 without it', async () => {
    expect(agent.command, 'the agent service must run with a config (the receiver is off without one)').toContain('--config');
    expect(token.length).toBeGreaterThanOrEqual(32);
    for (const [i, route] of ['remediate', 'notify'].entries()) {
      const body = JSON.stringify(warning(`c0de${i}`));
      const ok = await fetch(`${url}/alerts/${route}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      expect(ok.status, `${route}: ${await ok.clone().text()}\n${logs}`).toBe(200);
      expect(await ok.json()).toMatchObject({ status: 'accepted', alerts: 1 });
      expect((await fetch(`${url}/alerts/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(401);
      expect((await fetch(`${url}/alerts/${route}`, { method: 'POST', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, body })).status).toBe(401);
    }
    expect(logs).not.toContain('remediation actions are DISABLED');
    // The decisions went to the state volume; warnings never act.
    // Audit lines are written in batches: wait (bounded) for all six, the two decisions and the four refusals.
    const settled = (a: ReturnType<typeof readAuditLog>): boolean =>
      a.filter((e) => e.event === 'notified').length >= 2 && a.filter((e) => e.event === 'rejected' && e.reasonCode === 'unauthenticated').length >= 4;
    for (let i = 0; i < 600 && !settled(readAuditLog(join(stateDir, 'audit.jsonl'))); i++) await new Promise((r) => setTimeout(r, 50));
    const audit = readAuditLog(join(stateDir, 'audit.jsonl'));
    expect(audit.filter((e) => e.event === 'rejected' && e.reasonCode === 'unauthenticated')).toHaveLength(4);
    expect(audit.filter((e) => e.event === 'action')).toEqual([]);
  });

  it("Alertmanager's webhook URLs and credentials_file reach this agent and the same token file", () => {
    const am = services.alertmanager ?? {};
    const amMounts = mounts(am);
    const configFile = (am.command ?? []).find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length) ?? '';
    const amConfig = load(readFileSync(translate(amMounts, configFile)?.path ?? '', 'utf8')) as {
      receivers: Array<{ name: string; webhook_configs?: Array<{ url: string; http_config?: { authorization?: { credentials_file?: string } } }> }>;
    };
    const agentListen = (agent.command ?? [])[(agent.command ?? []).indexOf('--listen') + 1];
    const agentConfigPath = (agent.command ?? [])[(agent.command ?? []).indexOf('--config') + 1] ?? '';
    const agentConfig = load(readFileSync(translate(agentMounts, agentConfigPath)?.path ?? '', 'utf8')) as { receiver: { auth: { token_file: string } } };
    const agentToken = translate(agentMounts, agentConfig.receiver.auth.token_file)?.path;
    // prom/alertmanager runs as nobody: neither the owner nor in the group of the operator's file.
    expect(statSync(agentToken ?? '').mode & 0o004, 'secrets/receiver-token must be readable by Alertmanager (nobody)').toBe(0o004);
    const hooks = amConfig.receivers.flatMap((r) => r.webhook_configs ?? []);
    expect(hooks.map((h) => h.url).sort()).toEqual([`http://${agentListen}/alerts/notify`, `http://${agentListen}/alerts/remediate`]);
    for (const h of hooks) {
      const cred = h.http_config?.authorization?.credentials_file ?? '';
      expect(translate(amMounts, cred)?.path, `${cred} in alertmanager`).toBe(agentToken);
    }
  });
});
