import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { dump, load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/stack/process.js';
import { repo } from '../alerting/support.js';
import { createV1Cgroup, inCgroup, type TestCgroup } from '../support/cgroup.js';
import { makeCa, makeCert, type CertPair } from '../support/certs.js';
import { CLI, requireBuiltCli } from '../support/cli.js';
import { alivePid, descendants, killTree, startIn, Topology, type Host, type Started } from './topology.js';
import { skipSuite } from '../support/suites.js';

/**
 * The fleet, end to end on one machine: three "hosts" (network namespaces on a bridge, each agent in its own
 * PID and mount namespace with its own /proc), a central Prometheus scraping them over HTTPS with a client
 * certificate, and two Alertmanagers in one gossip cluster (their API over TLS with basic auth). Each agent
 * pulls its own alerts from both Alertmanagers (docs/fleet.md). Memory hogs run inside a 512 MiB hard-limited v1 cgroup, in host B's PID
 * namespace. Everything is torn down by PID and by the names created here, whatever happens.
 */
const exec = promisify(execFile);
const TAG = String(process.pid);
const MiB = 1024 * 1024;


interface AuditLine {
  event: string;
  source: string;
  reasonCode?: string;
  action?: string;
  key?: string;
  alertName?: string;
  target?: { root?: { pid: number } };
}

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  generatorURL: string;
  status: { state: string; silencedBy: string[] };
}

describe.skipIf(skipSuite('fleet-netns'))('fleet: 3 hosts, central Prometheus, 2 clustered Alertmanagers, agents pulling their alerts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-fleet-'));
  const topo = new Topology(TAG);
  const started: Started[] = [];
  const agents = new Map<string, Started>();
  let hosts: Host[] = [];
  let jobCgroup: TestCgroup | undefined;
  let serverCa: CertPair;
  let clientCa: CertPair;
  let promClient: CertPair;
  let adminClient: CertPair;
  const hostCerts = new Map<string, CertPair>();
  const TOKEN = `fleet-token-${TAG}-0123456789abcdef`;
  const [am1, am2] = topo.hubAddresses;
  const amUrls = [`https://${am1}:9093`, `https://${am2}:9093`];
  const AM_PASSWORD = `am-secret-${TAG}`;
  /** curl arguments for the Alertmanagers' API: TLS (server CA) and basic auth, as the agents use them. */
  const amAuth = (): string[] => ['--cacert', serverCa.cert, '-u', `headroom:${AM_PASSWORD}`];
  const prom = `http://${am1}:9090`;
  /** Alerts each Alertmanager showed for host B, by fingerprint (recorded by the watcher). */
  const seenByAm = new Map<string, Map<string, AmAlert>>(amUrls.map((u) => [u, new Map()]));
  let watching = true;
  let watcher: Promise<void> = Promise.resolve();
  let criticalThreshold = 0;

  const host = (name: string): Host => {
    const h = hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  };
  const instance = (h: Host): string => `${h.address}:9632`;
  const stateDir = (h: Host): string => join(dir, h.name, 'state');
  const audit = (h: Host): AuditLine[] => {
    const file = join(stateDir(h), 'audit.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as AuditLine);
  };
  const actions = (h: Host): AuditLine[] => audit(h).filter((l) => l.event === 'action');
  const slack = (h: Host): unknown[] => {
    const file = join(dir, `slack-${h.name}.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown[]) : [];
  };
  const slackText = (h: Host): string => JSON.stringify(slack(h));
  const curlIn = async (ns: string, args: readonly string[]): Promise<{ code: number; out: string }> => {
    try {
      const r = await exec('ip', ['netns', 'exec', ns, 'curl', '-sS', '--max-time', '5', ...args], { timeout: 10_000 });
      return { code: 0, out: r.stdout };
    } catch (error) {
      const e = error as { code?: number; stdout?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, out: e.stdout ?? '' };
    }
  };
  const amAlerts = async (url: string, filter: string[]): Promise<AmAlert[]> => {
    const q = filter.map((f) => `filter=${encodeURIComponent(f)}`).join('&');
    const r = await curlIn(topo.hub, [...amAuth(), `${url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true&${q}`]);
    return r.code === 0 ? (JSON.parse(r.out) as AmAlert[]) : [];
  };
  const jobPids = (): number[] => {
    if (!jobCgroup) return [];
    return readFileSync(jobCgroup.procsFile, 'utf8').trim().split('\n').filter((l) => l.length > 0).map(Number);
  };
  /** Starts the hog in host B's PID, mount and network namespaces, inside the 512 MiB cgroup. */
  const startHog = (targetMib: number, stepMib = 32, delay = 0.05): Started => {
    const b = host('b');
    const agent = agents.get('b');
    // The first process of the agent's tree that lives in another PID namespace: the agent, PID 1 there.
    const ours = readlinkSync('/proc/self/ns/pid');
    const init = agent?.child.pid !== undefined ? descendants(agent.child.pid).find((p) => { try { return readlinkSync(`/proc/${p}/ns/pid`) !== ours; } catch { return false; } }) : undefined;
    if (init === undefined || !jobCgroup) throw new Error('host b agent not running');
    const [file, args] = inCgroup(jobCgroup.procsFile, ['nsenter', '-t', String(init), '-p', '-m', '--', 'python3', join(repo('test', 'fleet', 'hog.py')), String(targetMib), String(stepMib), String(delay)]);
    const s = startIn(b.ns, 'hog', [file, ...args]);
    started.push(s);
    return s;
  };
  const killJobs = (): void => {
    for (const pid of jobPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };

  beforeAll(async () => {
    requireBuiltCli();
    // Certificates: one CA for the agents' server certificates, another for clients (Prometheus, an admin).
    const certs = join(dir, 'certs');
    mkdirSync(certs);
    serverCa = makeCa(certs, 'server-ca');
    clientCa = makeCa(certs, 'client-ca');
    promClient = makeCert(certs, clientCa, 'prometheus', { sans: ['DNS:prometheus'], client: true });
    adminClient = makeCert(certs, clientCa, 'admin', { sans: ['DNS:admin'], client: true });
    // Network.
    topo.createHub();
    hosts = ['a', 'b', 'c'].map((n, i) => topo.addHost(n, i + 1));
    for (const h of hosts) hostCerts.set(h.name, makeCert(certs, serverCa, `host-${h.name}`, { sans: [`IP:${h.address}`] }));
    // The hog's cgroup (host B's jobs), hard-limited.
    jobCgroup = createV1Cgroup(`hr-fleet-${TAG}-b-jobs`, 512 * MiB);

    // Fake Slack, one per host, on the hub's address: a host whose link is cut cannot reach it.
    const secrets = hosts.map((h) => `${h.name}:${8100 + hosts.indexOf(h)}:secret${h.name}${TAG}`);
    const slackProc = startIn(topo.hub, 'slack', [process.execPath, '--import', 'tsx', repo('test', 'fleet', 'slack-process.ts'), am1, dir, ...secrets], { cwd: repo() });
    started.push(slackProc);
    await pollUntil(async () => Promise.resolve((slackProc.output().match(/^ready /gm) ?? []).length === 3 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: 'fake Slack', abort: () => (slackProc.child.exitCode !== null ? slackProc.output() : undefined) });
    const slackUrls = new Map([...slackProc.output().matchAll(/^ready (\w+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));

    // Two Alertmanagers in one cluster, from the repo's fleet config; their API over TLS with basic auth.
    const amConfig = repo('alerting', 'alertmanager-fleet.yml');
    writeFileSync(join(dir, 'am-password'), AM_PASSWORD);
    writeFileSync(join(dir, 'amtool-http.yml'), dump({ tls_config: { ca_file: serverCa.cert }, basic_auth: { username: 'headroom', password: AM_PASSWORD } }));
    const amHash = bcrypt.hashSync(AM_PASSWORD, 4);
    for (const [i, addr] of topo.hubAddresses.entries()) {
      const c = makeCert(certs, serverCa, `am${i + 1}`, { sans: [`IP:${addr}`] });
      writeFileSync(join(dir, `am${i + 1}-web.yml`), dump({ tls_server_config: { cert_file: c.cert, key_file: c.key }, basic_auth_users: { headroom: amHash } }));
    }
    for (const [i, addr] of topo.hubAddresses.entries()) {
      const peer = topo.hubAddresses[1 - i] ?? '';
      const s = startIn(topo.hub, `alertmanager-${i + 1}`, [
        'prometheus-alertmanager',
        `--config.file=${amConfig}`,
        `--storage.path=${join(dir, `am${i + 1}`)}`,
        `--web.listen-address=${addr}:9093`,
        `--web.config.file=${join(dir, `am${i + 1}-web.yml`)}`,
        `--cluster.listen-address=${addr}:9094`,
        `--cluster.peer=${peer}:9094`,
        '--cluster.settle-timeout=2s',
        '--cluster.pushpull-interval=2s',
        '--cluster.gossip-interval=100ms',
      ]);
      started.push(s);
    }
    await pollUntil(
      async () => {
        for (const u of amUrls) {
          const r = await curlIn(topo.hub, [...amAuth(), `${u}/api/v2/status`]);
          if (r.code !== 0) return undefined;
          const st = JSON.parse(r.out) as { cluster: { status: string; peers: unknown[] } };
          if (st.cluster.status !== 'ready' || st.cluster.peers.length !== 2) return undefined;
        }
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'Alertmanager cluster of 2 ready' },
    );

    // Prometheus: the repo's prometheus.yml with the fleet's targets, HTTPS and both Alertmanagers.
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    const memTotal = Number(/MemTotal:\s+(\d+) kB/.exec(meminfo)?.[1]) * 1024;
    criticalThreshold = Number(((300 * MiB) / memTotal).toFixed(6));
    const base = load(readFileSync(repo('prometheus', 'prometheus.yml'), 'utf8')) as Record<string, unknown> & { scrape_configs: Array<Record<string, unknown>> };
    const headroomJob = base.scrape_configs.find((j) => j.job_name === 'headroom');
    if (!headroomJob) throw new Error('prometheus/prometheus.yml has no headroom job');
    writeFileSync(join(dir, 'prom-password'), 'scrape-secret');
    const promConfig = {
      ...base,
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: [repo('prometheus', 'rules', '*.yml')],
      alerting: { alertmanagers: [{ scheme: 'https', tls_config: { ca_file: serverCa.cert }, basic_auth: { username: 'headroom', password_file: join(dir, 'am-password') }, static_configs: [{ targets: topo.hubAddresses.map((a) => `${a}:9093`) }] }] },
      scrape_configs: [
        {
          ...headroomJob,
          scrape_interval: '1s',
          scrape_timeout: '900ms',
          scheme: 'https',
          tls_config: { ca_file: serverCa.cert, cert_file: promClient.cert, key_file: promClient.key },
          basic_auth: { username: 'prometheus', password_file: join(dir, 'prom-password') },
          static_configs: [{ targets: hosts.map(instance) }],
        },
      ],
    };
    writeFileSync(join(dir, 'prometheus.yml'), dump(promConfig));
    started.push(startIn(topo.hub, 'prometheus', ['prometheus', `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=${am1}:9090`]));

    // The agents, each in its host's network namespace and its own PID + mount namespace (own /proc).
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const hash = bcrypt.hashSync('scrape-secret', 4);
    for (const h of hosts) {
      const hd = join(dir, h.name);
      mkdirSync(hd, { recursive: true });
      const cert = hostCerts.get(h.name) as CertPair;
      writeFileSync(join(hd, 'web.yml'), dump({ tls_server_config: { cert_file: cert.cert, key_file: cert.key, client_auth_type: 'RequireAndVerifyClientCert', client_ca_file: clientCa.cert }, basic_auth_users: { prometheus: hash } }));
      // Slack over loopback inside the host (a relay carries it across the host's link to the hub's fake Slack).
      const upstream = new URL(slackUrls.get(h.name) ?? 'http://invalid');
      const relay = startIn(h.ns, `relay-${h.name}`, [process.execPath, '--import', 'tsx', repo('test', 'fleet', 'relay.ts'), '8200', upstream.hostname, upstream.port], { cwd: repo() });
      started.push(relay);
      await pollUntil(async () => Promise.resolve(relay.output().includes('relay ready') ? true : undefined), { timeoutMs: 20_000, intervalMs: 100, what: `Slack relay on ${h.name}`, abort: () => (relay.child.exitCode !== null ? relay.output() : undefined) });
      writeFileSync(join(hd, 'slack-url'), `http://127.0.0.1:8200${upstream.pathname}`);
      const config = {
        agent: { listen: `${h.address}:9632` },
        // The three "hosts" share one kernel's cgroup tree: cgroup series would be the same on all of them.
        collectors: { disabled: ['cgroups'] },
        thresholds: { process_tree_critical: criticalThreshold, host_memory_warning: 0.98, host_memory_critical: 0.99 },
        // No evidence capture here: the test starts each job through nsenter, which runs outside the host's PID
        // namespace and stops itself when its child is frozen (SIGSTOP) — invisible to the agent, so never
        // continued. Evidence is tested in test/evidence/; this test is about routing.
        // Incidents follow each other within seconds here: no cooldown between actions (default 2m).
        remediation: { state_dir: stateDir(h), cooldown: '1s', min_victim_size: '100M', evidence: { enabled: false }, recovered: { process_tree_share_below: Number((criticalThreshold / 2).toFixed(6)), cgroup_used_below: 0.8 } },
        receiver: { enabled: true, host: `host-${h.name}`, auth: { token_file: join(dir, 'token') } },
        notify: { state_dir: join(hd, 'notify'), slack: { webhook_url_file: join(hd, 'slack-url'), request_timeout: '2s' }, retry: { initial_backoff: '200ms', max_backoff: '2s' } },
        fleet: { enabled: true, instance: instance(h), alertmanagers: amUrls, interval: '1s', timeout: '900ms', tls: { ca_file: serverCa.cert }, basic_auth: { username: 'headroom', password_file: join(dir, 'am-password') } },
        web: { config_file: join(hd, 'web.yml') },
        ...(h.name === 'b' ? { guard: { enabled: true, watch_cgroup: jobCgroup.rel, available_below: 0.1, harden_self: false } } : {}),
      };
      writeFileSync(join(hd, 'agent.yml'), dump(config));
      const s = startIn(h.ns, `agent-${h.name}`, ['unshare', '--pid', '--mount', '--fork', '--mount-proc', process.execPath, CLI, 'agent', '--config', join(hd, 'agent.yml')]);
      started.push(s);
      agents.set(h.name, s);
    }
    for (const [name, s] of agents) {
      await pollUntil(async () => Promise.resolve(s.output().includes('"msg":"agent listening"') ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: `agent ${name}`,
        abort: () => (s.child.exitCode !== null ? `exited: ${s.output()}` : undefined),
      });
    }
    // Every target up over HTTPS.
    await pollUntil(
      async () => {
        const r = await curlIn(topo.hub, [`${prom}/api/v1/targets`]);
        if (r.code !== 0) return undefined;
        const t = (JSON.parse(r.out) as { data: { activeTargets: Array<{ health: string; labels: { job: string } }> } }).data.activeTargets.filter((x) => x.labels.job === 'headroom');
        return t.length === 3 && t.every((x) => x.health === 'up') ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'Prometheus scraping all three agents over HTTPS' },
    );
    // Record what each Alertmanager shows about host B while the test runs.
    watcher = (async () => {
      while (watching) {
        for (const u of amUrls) {
          for (const a of await amAlerts(u, [`instance="${instance(host('b'))}"`])) seenByAm.get(u)?.set(`${a.fingerprint}|${a.startsAt}`, a);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
  }, 240_000);

  afterAll(async () => {
    watching = false;
    await watcher.catch(() => undefined);
    const problems: string[] = [];
    if (process.env.HEADROOM_FLEET_KEEP !== undefined) for (const s of started) writeFileSync(join(dir, `log-${s.name}-${s.child.pid}.txt`), s.output());
    killJobs();
    for (const s of [...started].reverse()) killTree(s.child.pid);
    for (let i = 0; i < 50 && (jobPids().length > 0 || started.some((s) => s.child.pid !== undefined && alivePid(s.child.pid))); i++) await new Promise((r) => setTimeout(r, 100));
    try {
      jobCgroup?.remove();
    } catch (error) {
      problems.push(String(error));
    }
    problems.push(...topo.teardown());
    if (process.env.HEADROOM_FLEET_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`fleet teardown: ${problems.join('; ')}`);
  }, 60_000);

  const b = (): Host => host('b');

  it(
    'a runaway job on host B → one action on B only, though both Alertmanagers have the alert',
    async () => {
      const hog = startHog(380);
      await pollUntil(async () => Promise.resolve(hog.output().includes('ready') ? true : undefined), { timeoutMs: 30_000, intervalMs: 100, what: 'hog at 380 MiB' });
      const action = await pollUntil(async () => Promise.resolve(actions(b())[0]), { timeoutMs: 120_000, intervalMs: 250, what: 'action on host B' });
      expect(action).toMatchObject({ source: 'receiver', action: 'stop_process_tree', alertName: 'HeadroomProcessMemoryCritical' });
      await pollUntil(async () => Promise.resolve(jobPids().length === 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 100, what: 'the hog stopped' });
      // Both members of the cluster held the same alert (same fingerprint and startsAt): one action.
      const key = action.key ?? '';
      for (const u of amUrls) expect([...(seenByAm.get(u)?.keys() ?? [])].map((k) => `${k.split('|')[0]}|${new Date(k.split('|')[1] ?? '').toISOString()}`), u).toContain(key);
      await new Promise((r) => setTimeout(r, 5_000)); // more pulls from both Alertmanagers
      expect(actions(b())).toHaveLength(1);
      expect(actions(host('a'))).toHaveLength(0);
      expect(actions(host('c'))).toHaveLength(0);
      await pollUntil(async () => Promise.resolve(slackText(b()).includes('stop_process_tree') || slackText(b()).includes('Stopped') ? true : undefined), { timeoutMs: 20_000, intervalMs: 250, what: 'Slack message from B about the action' });
      expect(slackText(host('a'))).not.toMatch(/host-b|stop_process_tree/);
      expect(slackText(host('c'))).not.toMatch(/host-b|stop_process_tree/);
    },
    200_000,
  );

  it(
    'the same alert silenced (amtool, on one member; gossip carries it) → no action, Slack says it was silenced',
    async () => {
      const add = spawnSync('ip', ['netns', 'exec', topo.hub, 'amtool', 'silence', 'add', `--alertmanager.url=${amUrls[0]}`, `--http.config.file=${join(dir, 'amtool-http.yml')}`, '--author=fleet-test', '--comment=maintenance on B', '--duration=30m', 'alertname=HeadroomProcessMemoryCritical', `instance=${instance(b())}`], { encoding: 'utf8', timeout: 20_000 });
      expect(add.status, add.stderr).toBe(0);
      const silenceId = add.stdout.trim();
      await pollUntil(
        async () => {
          const r = await curlIn(topo.hub, [...amAuth(), `${amUrls[1]}/api/v2/silence/${silenceId}`]);
          return r.code === 0 && r.out.includes('"active"') ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'silence gossiped to the second Alertmanager' },
      );
      const before = actions(b()).length;
      startHog(380);
      const told = await pollUntil(async () => Promise.resolve(slackText(b()).includes('silenced in Alertmanager') ? slackText(b()) : undefined), { timeoutMs: 120_000, intervalMs: 250, what: 'Slack message that the alert was silenced' });
      expect(told).toContain(silenceId);
      for (const u of amUrls) {
        const alerts = await amAlerts(u, ['alertname="HeadroomProcessMemoryCritical"', `instance="${instance(b())}"`]);
        expect(alerts.length, u).toBeGreaterThan(0);
        expect(alerts.every((a) => a.status.state === 'suppressed' && a.status.silencedBy.includes(silenceId)), u).toBe(true);
      }
      await new Promise((r) => setTimeout(r, 4_000));
      expect(jobPids().length).toBeGreaterThan(0);
      expect(actions(b())).toHaveLength(before);
      expect(audit(b()).some((l) => l.alertName === 'HeadroomProcessMemoryCritical' && l.event === 'action' && l.key !== actions(b())[0]?.key)).toBe(false);
      killJobs();
      await pollUntil(async () => Promise.resolve(jobPids().length === 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 100, what: 'silenced hog killed by the test' });
      expect(spawnSync('ip', ['netns', 'exec', topo.hub, 'amtool', 'silence', 'expire', `--alertmanager.url=${amUrls[0]}`, `--http.config.file=${join(dir, 'amtool-http.yml')}`, silenceId]).status).toBe(0);
    },
    200_000,
  );

  it(
    'host B\'s link cut during an incident → B\'s guard stops the job, HeadroomAgentDown fires centrally, B\'s Slack messages arrive after the link returns, no second action',
    async () => {
      const before = actions(b()).length;
      const slackBefore = slack(b()).length;
      topo.setLink(b(), false);
      const cutAt = Date.now();
      try {
      startHog(480, 32, 0.1);
      const guardAction = await pollUntil(async () => Promise.resolve(actions(b()).slice(before).find((a) => a.source === 'guard')), { timeoutMs: 60_000, intervalMs: 100, what: 'the guard acting on B' });
      expect(guardAction.action).toBe('stop_process_tree');
      await pollUntil(async () => Promise.resolve(jobPids().length === 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 100, what: 'the job stopped by the guard' });
      // Central: B is unreachable, HeadroomAgentDown fires in both Alertmanagers (the rule has for: 1m).
      await pollUntil(
        async () => {
          for (const u of amUrls) {
            const alerts = await amAlerts(u, ['alertname="HeadroomAgentDown"', `instance="${instance(b())}"`]);
            if (!alerts.some((a) => a.status.state === 'active')) return undefined;
          }
          return true;
        },
        { timeoutMs: 150_000, intervalMs: 1_000, what: 'HeadroomAgentDown for B in both Alertmanagers' },
      );
      expect(Date.now() - cutAt).toBeGreaterThan(55_000);
      // Nothing from B reached Slack while the link was down: the messages wait in B's outbox.
      expect(slack(b()).length).toBe(slackBefore);
      } finally {
        topo.setLink(b(), true);
      }
      await pollUntil(async () => Promise.resolve(slack(b()).length > slackBefore ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, what: 'B\'s queued Slack messages after the link returned' });
      expect(JSON.stringify(slack(b()).slice(slackBefore))).toContain('guard');
      // Prometheus sees B again; B pulls again; nothing acts a second time.
      await pollUntil(
        async () => {
          const r = await curlIn(topo.hub, [`${prom}/api/v1/query?query=${encodeURIComponent(`up{instance="${instance(b())}"}`)}`]);
          return r.code === 0 && r.out.includes('"1"') ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'B scraped again' },
      );
      await new Promise((r) => setTimeout(r, 8_000));
      expect(actions(b())).toHaveLength(before + 1);
      expect(actions(host('a'))).toHaveLength(0);
      expect(actions(host('c'))).toHaveLength(0);
    },
    300_000,
  );

  it(
    'a forged or replayed request from another host (A → B) is refused',
    async () => {
      const url = `https://${b().address}:9632/alerts/remediate`;
      const seen = [...(seenByAm.get(amUrls[0] as string)?.values() ?? [])].find((a) => a.labels.alertname === 'HeadroomProcessMemoryCritical' && a.fingerprint === actions(b())[0]?.key?.split('|')[0]);
      expect(seen, 'scenario 1 alert recorded').toBeDefined();
      const alert = seen as AmAlert;
      const body = JSON.stringify({ version: '4', groupKey: 'forged', truncatedAlerts: 0, status: 'firing', receiver: 'headroom-remediate', groupLabels: {}, commonLabels: {}, alerts: [{ status: 'firing', labels: alert.labels, annotations: alert.annotations, startsAt: alert.startsAt, endsAt: alert.endsAt, generatorURL: alert.generatorURL, fingerprint: alert.fingerprint }] });
      writeFileSync(join(dir, 'replay.json'), body);
      const a = host('a');
      const common = ['-o', '/dev/null', '-w', '%{http_code}', '--cacert', serverCa.cert, '-H', 'content-type: application/json', '--data-binary', `@${join(dir, 'replay.json')}`];
      const before = audit(b()).length;
      const beforeActions = actions(b()).length;
      // No client certificate: the TLS handshake is refused.
      const noCert = await curlIn(a.ns, [...common, '-H', `Authorization: Bearer ${TOKEN}`, url]);
      expect(noCert.code).not.toBe(0);
      // A's own certificate is not from the client CA: refused.
      const aCert = hostCerts.get('a') as CertPair;
      const wrongCa = await curlIn(a.ns, [...common, '--cert', aCert.cert, '--key', aCert.key, '-H', `Authorization: Bearer ${TOKEN}`, url]);
      expect(wrongCa.code).not.toBe(0);
      // A valid client certificate but a forged token: 401.
      const forged = await curlIn(a.ns, [...common, '--cert', adminClient.cert, '--key', adminClient.key, '-H', 'Authorization: Bearer forged-token-forged-token', url]);
      expect(forged.out).toBe('401');
      // Basic auth for /metrics is no credential for the receiver.
      const basic = await curlIn(a.ns, [...common, '--cert', adminClient.cert, '--key', adminClient.key, '-u', 'prometheus:scrape-secret', url]);
      expect(basic.out).toBe('401');
      // A replay of the genuine alert B already acted on, with every credential: accepted, refused as a duplicate.
      const replay = await curlIn(a.ns, [...common, '--cert', adminClient.cert, '--key', adminClient.key, '-H', `Authorization: Bearer ${TOKEN}`, url]);
      expect(replay.out).toBe('200');
      await pollUntil(async () => Promise.resolve(audit(b()).slice(before).find((l) => l.event === 'duplicate')), { timeoutMs: 10_000, intervalMs: 100, what: 'the replay audited as a duplicate' });
      expect(actions(b())).toHaveLength(beforeActions);
      expect(audit(b()).slice(before).filter((l) => l.event === 'rejected').length).toBeGreaterThanOrEqual(2);
    },
    60_000,
  );
});
