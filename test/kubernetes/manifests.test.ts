// deploy/kubernetes, rendered by kustomize itself (`kubectl kustomize`, offline) and every object checked
// against the Kubernetes and Prometheus Operator schemas (test/kubernetes/schemas.ts). HEADROOM_KUBECTL picks
// another kubectl (e.g. Debian's 1.20, whose kustomize is v2.0.3) for the same checks.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return --
   rendered YAML is untyped data, walked by path in the assertions; the schema check is what types it. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardConfigMapName, renderDashboardConfigMaps, renderPrometheusRule, type SourceFile } from '../../deploy/kubernetes/src/manifests.js';
import { parseConfigText } from '../../src/config/load.js';
import { METRICS_PATH } from '../../src/exporter/app.js';
import { repo } from '../alerting/support.js';
import { schemaViolations, type KubeObject } from './schemas.js';

const KUBECTL = process.env.HEADROOM_KUBECTL ?? 'kubectl';
const K8S = repo('deploy', 'kubernetes');

function sources(dir: string, suffix: string): SourceFile[] {
  return readdirSync(repo(dir))
    .filter((n) => n.endsWith(suffix))
    .map((name) => ({ name, text: readFileSync(repo(dir, name), 'utf8') }));
}

interface Rendered {
  readonly status: number | null;
  readonly stderr: string;
  readonly objects: KubeObject[];
}

let work = '';
beforeAll(() => {
  const v = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
  if (v.error !== undefined || v.status !== 0) {
    throw new Error(`${KUBECTL} not found or not working (${v.error?.message ?? v.stderr}): scripts/install-deps.sh installs Debian's kubernetes-client`);
  }
  // A copy with a freshly generated token, as an operator would create it (the repo never holds one).
  work = mkdtempSync(join(tmpdir(), 'headroom-kube-render-'));
  cpSync(K8S, work, { recursive: true, filter: (src) => !src.includes(`${join('deploy', 'kubernetes', 'src')}`) });
  writeFileSync(join(work, 'base', 'receiver-token'), `${randomBytes(32).toString('base64')}\n`);
});
afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

function kustomize(dir: string): Rendered {
  const r = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) throw r.error;
  const objects = r.status === 0 ? (loadAll(r.stdout) as KubeObject[]).filter((o) => o !== null) : [];
  return { status: r.status, stderr: r.stderr, objects };
}

const rendered = new Map<string, Rendered>();
function render(variant: string): KubeObject[] {
  let r = rendered.get(variant);
  if (r === undefined) {
    r = kustomize(join(work, variant));
    rendered.set(variant, r);
  }
  expect(r.status, `kubectl kustomize ${variant}: ${r.stderr}`).toBe(0);
  return r.objects;
}

function one(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(found.map((o) => o.metadata?.name), `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return found[0] as KubeObject;
}

type Any = any;
const daemonSet = (objects: readonly KubeObject[]): Any => one(objects, 'DaemonSet', 'headroom');
const agentContainer = (objects: readonly KubeObject[]): Any => daemonSet(objects).spec.template.spec.containers[0];

const VARIANTS = ['base', 'overlays/kube-prometheus-stack', 'overlays/write-actions'];

describe('generated from the one source (npm run kubernetes)', () => {
  it('base/generated/prometheusrule.yaml is what prometheus/rules/*.yml generates', () => {
    const committed = readFileSync(join(K8S, 'base', 'generated', 'prometheusrule.yaml'), 'utf8');
    expect(committed, 'stale: run npm run kubernetes and commit').toBe(renderPrometheusRule(sources('prometheus/rules', '.yml')));
  });

  it('base/generated/grafana-dashboards.yaml is what grafana/dashboards/*.json generates', () => {
    const committed = readFileSync(join(K8S, 'base', 'generated', 'grafana-dashboards.yaml'), 'utf8');
    expect(committed, 'stale: run npm run kubernetes and commit').toBe(renderDashboardConfigMaps(sources('grafana/dashboards', '.json')));
  });

  it('the check fails on a rule changed only in the source', () => {
    const files = sources('prometheus/rules', '.yml');
    const changed = files.map((f) => (f.name === 'headroom-alerts.yml' ? { ...f, text: f.text.replace('for: 10s', 'for: 11s') } : f));
    expect(changed).not.toEqual(files);
    expect(renderPrometheusRule(changed)).not.toBe(readFileSync(join(K8S, 'base', 'generated', 'prometheusrule.yaml'), 'utf8'));
  });

  it('the PrometheusRule holds exactly the groups and rules of prometheus/rules (nothing lost in translation)', () => {
    const fromSources = sources('prometheus/rules', '.yml')
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((f) => (load(f.text) as { groups: unknown[] }).groups);
    const rule = one(render('base'), 'PrometheusRule', 'headroom') as Any;
    expect(rule.spec.groups).toEqual(fromSources);
    expect(fromSources.length).toBeGreaterThan(1);
  });

  it('rejects two rule files with the same group name', () => {
    const f = { name: 'a.yml', text: 'groups:\n  - name: g\n    rules: []\n' };
    expect(() => renderPrometheusRule([f, { ...f, name: 'b.yml' }])).toThrow(/"g" is in both a.yml and b.yml/);
  });
});

describe('kubectl kustomize renders every variant; every object passes the Kubernetes / Prometheus Operator schemas', () => {
  it.each(VARIANTS)('%s', (variant) => {
    const objects = render(variant);
    expect(objects.map((o) => `${String(o.kind)}/${o.metadata?.name?.replace(/-[a-z0-9]{10}$/, '-<hash>') ?? ''}`).sort()).toEqual([
      'ConfigMap/headroom-config-<hash>',
      ...sources('grafana/dashboards', '.json').map((d) => `ConfigMap/${dashboardConfigMapName(d.name)}`),
      'DaemonSet/headroom',
      'Namespace/headroom',
      'PrometheusRule/headroom',
      'ResourceQuota/headroom-critical-pods',
      'Secret/headroom-receiver-token-<hash>',
      'Service/headroom',
      'ServiceAccount/headroom',
      'ServiceMonitor/headroom',
    ].sort());
    for (const o of objects) expect(schemaViolations(o), `${String(o.kind)}/${o.metadata?.name ?? ''}`).toEqual([]);
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata?.namespace, `${String(o.kind)}`).toBe('headroom');
  });

  it('the schema check fails on deliberately broken objects, naming the field', () => {
    const objects = render('base');
    const ds = structuredClone(daemonSet(objects));
    ds.spec.template.spec.hostPID = 'yes';
    ds.spec.template.spec.containers[0].resources.limits.memory = 'lots';
    ds.spec.template.spec.containers[0].securityContext.capabilities.add = 'KILL';
    const dsErrors = schemaViolations(ds).join('\n');
    expect(dsErrors).toContain('spec/template/spec/hostPID must be boolean');
    expect(dsErrors).toContain('resources/limits/memory must match format "quantity"');
    expect(dsErrors).toContain('capabilities/add must be array');

    const sm = structuredClone(one(objects, 'ServiceMonitor')) as Any;
    sm.spec.endpoints[0].interval = '5 seconds';
    expect(schemaViolations(sm).join('\n')).toMatch(/endpoints\/0\/interval must match pattern/);

    const rule = structuredClone(one(objects, 'PrometheusRule')) as Any;
    delete rule.spec.groups[0].name;
    rule.spec.groups[1].rules[0].for = 'a while';
    const ruleErrors = schemaViolations(rule).join('\n');
    expect(ruleErrors).toMatch(/groups\/0 must have required property name/);
    expect(ruleErrors).toMatch(/groups\/1\/rules\/0\/for must match pattern/);

    const svc = structuredClone(one(objects, 'Service')) as Any;
    svc.spec.ports[0].port = 'ninety';
    expect(schemaViolations(svc).join('\n')).toMatch(/ports\/0\/port must be integer/);

    expect(schemaViolations({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } })).toEqual([
      'no schema for example.com/v1/Widget: add its model to test/kubernetes/schemas.ts',
    ]);
  });

  it('without a receiver token file kustomize refuses to render (no token is committed)', () => {
    const bare = mkdtempSync(join(tmpdir(), 'headroom-kube-notoken-'));
    try {
      cpSync(join(K8S, 'base'), bare, { recursive: true });
      rmSync(join(bare, 'receiver-token'), { force: true });
      const r = kustomize(bare);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('receiver-token');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
    const tracked = spawnSync('git', ['ls-files', 'deploy/kubernetes'], { cwd: repo(), encoding: 'utf8' }).stdout;
    expect(tracked).not.toMatch(/receiver-token/);
    expect(spawnSync('git', ['check-ignore', '-q', 'deploy/kubernetes/base/receiver-token'], { cwd: repo() }).status, 'receiver-token is in .gitignore').toBe(0);
  });
});

describe('the DaemonSet', () => {
  it('sees the node: host PID namespace, the host /proc and /sys/fs/cgroup read-only, and the agent pointed at them', () => {
    const objects = render('base');
    const spec = daemonSet(objects).spec.template.spec;
    const c = agentContainer(objects);
    expect(spec.hostPID).toBe(true);
    expect(spec.hostNetwork ?? false).toBe(false);
    const hostPaths = new Map<string, string>(spec.volumes.filter((v: Any) => v.hostPath).map((v: Any) => [v.name, v.hostPath.path]));
    const mounts = new Map<string, Any>(c.volumeMounts.map((m: Any) => [m.mountPath, m]));
    const hostMount = (hostPath: string): Any => [...mounts.values()].find((m) => hostPaths.get(m.name) === hostPath);
    expect(hostMount('/proc')).toMatchObject({ mountPath: '/host/proc', readOnly: true });
    expect(hostMount('/sys/fs/cgroup')).toMatchObject({ mountPath: '/host/sys/fs/cgroup', readOnly: true });
    for (const p of ['/etc/passwd', '/var/log/pods', '/var/log/containers']) expect(hostMount(p)?.readOnly, p).toBe(true);
    // Only the state directory is writable on the host.
    expect([...hostPaths.values()].filter((p) => hostMount(p)?.readOnly !== true)).toEqual(['/var/lib/headroom']);
    const args: string[] = c.args;
    expect(args[args.indexOf('--path.procfs') + 1]).toBe('/host/proc');
    expect(args[args.indexOf('--path.cgroupfs') + 1]).toBe('/host/sys/fs/cgroup');
  });

  it('has the smallest capability set for its actions: all dropped, KILL and SYS_PTRACE added, no privilege', () => {
    const sc = agentContainer(render('base')).securityContext;
    expect(sc.capabilities.drop).toEqual(['ALL']);
    expect([...sc.capabilities.add].sort()).toEqual(['KILL', 'SYS_PTRACE']);
    expect(sc).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsUser: 0 });
  });

  it('runs where the jobs are and stays there: GPU taints tolerated, system-node-critical, requests and a memory limit', () => {
    const objects = render('base');
    const spec = daemonSet(objects).spec.template.spec;
    expect(spec.priorityClassName).toBe('system-node-critical');
    expect(spec.tolerations).toEqual(expect.arrayContaining([
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoExecute' },
    ]));
    expect(agentContainer(objects).resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    expect(spec.automountServiceAccountToken).toBe(false);
    // The quota that lets system-node-critical pods into this namespace names that class.
    const quota = one(objects, 'ResourceQuota') as Any;
    expect(quota.spec.scopeSelector.matchExpressions[0]).toEqual({ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] });
  });

  it("its config map is a valid headroom config that listens where the Service, the probes and the ServiceMonitor look", () => {
    const objects = render('base');
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name?.startsWith('headroom-config-')) as Any;
    const c = agentContainer(objects);
    const configPath: string = c.args[c.args.indexOf('--config') + 1];
    const configMount = c.volumeMounts.find((m: Any) => configPath.startsWith(`${m.mountPath}/`));
    const configVolume = daemonSet(objects).spec.template.spec.volumes.find((v: Any) => v.name === configMount.name);
    expect(configVolume.configMap.name).toBe(cm.metadata.name);
    const config = parseConfigText(cm.data[configPath.slice(configMount.mountPath.length + 1)], 'headroom.yml');
    const port = Number(config.agent.listen.split(':').pop());
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: port, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    const svc = one(objects, 'Service') as Any;
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.ports[0]).toMatchObject({ name: 'metrics', port, targetPort: 'metrics' });
    expect(svc.spec.selector).toEqual(daemonSet(objects).spec.template.metadata.labels);
    const sm = one(objects, 'ServiceMonitor') as Any;
    expect(sm.spec.selector.matchLabels).toEqual(svc.metadata.labels);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: METRICS_PATH, interval: '5s' });
    // The receiver's token comes from the generated Secret's mount; the pod names from the read-only log mount.
    const secret = one(objects, 'Secret') as Any;
    const tokenVolume = daemonSet(objects).spec.template.spec.volumes.find((v: Any) => v.secret);
    expect(tokenVolume.secret.secretName).toBe(secret.metadata.name);
    const tokenMount = c.volumeMounts.find((m: Any) => m.name === tokenVolume.name);
    expect(config.receiver.auth.token_file).toBe(`${tokenMount.mountPath}/${Object.keys(secret.data)[0]}`);
    expect(config.kubernetes.pod_logs_dir).toBe('/host/var/log/pods');
    expect(config.agent.procfs).toBe('/host/proc');
  });

  it('ships every dashboard as a ConfigMap with the Grafana sidecar label', () => {
    const objects = render('base');
    for (const d of sources('grafana/dashboards', '.json')) {
      const cm = one(objects, 'ConfigMap', dashboardConfigMapName(d.name)) as Any;
      expect(cm.metadata.labels.grafana_dashboard).toBe('1');
      expect(JSON.parse(cm.data[d.name])).toEqual(JSON.parse(d.text));
    }
  });
});

describe('overlays', () => {
  const withoutRelease = (o: Any): Any => {
    const c = structuredClone(o);
    delete c.metadata.labels.release;
    return c;
  };

  it('kube-prometheus-stack: the release label on the ServiceMonitor and the PrometheusRule, nothing else changed', () => {
    const base = render('base');
    const kps = render('overlays/kube-prometheus-stack');
    const release = (load(readFileSync(join(K8S, 'overlays', 'kube-prometheus-stack', 'release-label.yaml'), 'utf8')) as Array<{ value: string }>)[0]?.value;
    expect(release).toBe('kube-prometheus-stack');
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
      expect((one(kps, kind) as Any).metadata.labels.release, kind).toBe(release);
      expect(withoutRelease(one(kps, kind))).toEqual(one(base, kind));
    }
    for (const o of kps.filter((x) => x.kind !== 'ServiceMonitor' && x.kind !== 'PrometheusRule')) {
      expect(o.metadata?.labels?.release, `${String(o.kind)}`).toBeUndefined();
    }
    expect(daemonSet(kps)).toEqual(daemonSet(base));
  });

  it('write-actions: SYS_RESOURCE, a writable cgroup tree and the container\'s own /proc; the host /proc stays read-only', () => {
    const base = render('base');
    const w = render('overlays/write-actions');
    const c = agentContainer(w);
    expect([...c.securityContext.capabilities.add].sort()).toEqual(['KILL', 'SYS_PTRACE', 'SYS_RESOURCE']);
    expect(c.args[c.args.indexOf('--path.procfs') + 1]).toBe('/proc');
    expect(c.volumeMounts.find((m: Any) => m.mountPath === '/host/sys/fs/cgroup').readOnly).toBe(false);
    expect(c.volumeMounts.find((m: Any) => m.mountPath === '/host/proc').readOnly).toBe(true);
    expect(c.securityContext.privileged).toBe(false);
    const rest = (o: Any): Any => {
      const x = structuredClone(o);
      delete x.spec.template.spec.containers[0].args;
      delete x.spec.template.spec.containers[0].securityContext.capabilities.add;
      delete x.spec.template.spec.containers[0].volumeMounts;
      return x;
    };
    expect(rest(daemonSet(w))).toEqual(rest(daemonSet(base)));
  });
});
