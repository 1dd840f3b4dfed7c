import { dump } from 'js-yaml';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from '../agent/node-flags.js';
import { renderAlertmanagerConfig, renderPrometheusConfig, stackPaths } from './config.js';
import type { StackPorts } from './ports.js';
import { httpGet, pollUntil, startProcess, type ExitStatus, type ManagedProcess } from './process.js';

/** Everything the stack listens on is loopback. */
export const STACK_HOST = '127.0.0.1';

export { DEFAULT_STACK_PORTS, type StackPorts } from './ports.js';

export interface StackOptions {
  /** The repository (or installed package) holding prometheus/, alerting/ and dist/. */
  readonly repoRoot: string;
  /** Configs, data and logs of all three processes live here. */
  readonly stateDir: string;
  readonly ports: StackPorts;
  readonly binaries: { readonly prometheus: string; readonly alertmanager: string };
  /** The Node binary that runs the agent (process.execPath). */
  readonly node: string;
  /** The agent's --config file, if any. */
  readonly agentConfig?: string;
  /** Overrides for tests: scrape the agent and evaluate rules more often. */
  readonly agentScrapeInterval?: string;
  readonly evaluationInterval?: string;
  /** How long each process may take to answer its readiness URL. */
  readonly readyTimeoutMs?: number;
  readonly log: (line: string) => void;
}

export interface StackUrls {
  readonly agent: string;
  readonly prometheus: string;
  readonly alertmanager: string;
}

export interface RunningStack {
  readonly urls: StackUrls;
  readonly processes: readonly ManagedProcess[];
  /** Resolves when the first of the processes exits on its own. */
  readonly firstExit: Promise<{ readonly name: string; readonly status: ExitStatus }>;
  /** Stops every process the stack started (by PID), all at once; resolves when all are gone. */
  stop(): Promise<void>;
}

/** Creates the state directory, its configs and (once) the receiver's bearer token. Returns the paths. */
export function prepareStateDir(opts: Pick<StackOptions, 'repoRoot' | 'stateDir' | 'ports' | 'agentScrapeInterval' | 'evaluationInterval'>): ReturnType<typeof stackPaths> {
  const paths = stackPaths(opts.stateDir);
  for (const dir of [opts.stateDir, paths.prometheusData, paths.alertmanagerData, paths.logs]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(paths.tokenFile)) writeFileSync(paths.tokenFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  const target = (port: number): string => `${STACK_HOST}:${port}`;
  const promDir = join(opts.repoRoot, 'prometheus');
  writeFileSync(
    paths.prometheusConfig,
    renderPrometheusConfig(readFileSync(join(promDir, 'prometheus.yml'), 'utf8'), {
      configDir: promDir,
      agentTargets: [target(opts.ports.agent)],
      prometheusTarget: target(opts.ports.prometheus),
      alertmanagerTarget: target(opts.ports.alertmanager),
      agentScrapeInterval: opts.agentScrapeInterval,
      evaluationInterval: opts.evaluationInterval,
    }),
  );
  // Without a config of the user's, the agent gets one that turns its receiver on with the stack's token, in
  // dry run: alerts flow end to end and every decision is audited and reported, but nothing is stopped until
  // the user passes --config with remediation.dry_run: false.
  writeFileSync(
    join(opts.stateDir, 'agent.yml'),
    dump({
      receiver: { enabled: true, auth: { token_file: paths.tokenFile } },
      remediation: { dry_run: true, state_dir: join(opts.stateDir, 'headroom') },
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    paths.alertmanagerConfig,
    renderAlertmanagerConfig(readFileSync(join(opts.repoRoot, 'alerting', 'alertmanager.yml'), 'utf8'), {
      agentUrl: `http://${target(opts.ports.agent)}`,
      tokenFile: paths.tokenFile,
    }),
  );
  return paths;
}

/**
 * Starts the agent, Alertmanager and Prometheus wired together on loopback, each waited for until it answers.
 * If any of them fails to come up, the ones already started are stopped before the error is thrown.
 */
export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const agentMain = join(opts.repoRoot, 'dist', 'cli', 'main.js');
  if (!existsSync(agentMain)) throw new Error(`${agentMain} is missing: run npm run build first`);
  const paths = prepareStateDir(opts);
  const url = (port: number): string => `http://${STACK_HOST}:${port}`;
  const urls: StackUrls = { agent: url(opts.ports.agent), prometheus: url(opts.ports.prometheus), alertmanager: url(opts.ports.alertmanager) };
  const started: ManagedProcess[] = [];
  const stopAll = async (): Promise<void> => {
    const results = await Promise.allSettled(started.map((p) => p.stop()));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${started[i]?.name ?? '?'}: ${String(r.reason)}`] : []));
    if (failed.length > 0) throw new Error(`could not stop: ${failed.join('; ')}`);
  };
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const launch = async (name: string, command: string, args: string[], readyUrl: string): Promise<void> => {
    const proc = await startProcess(name, command, args, join(paths.logs, `${name}.log`));
    started.push(proc);
    opts.log(`started ${name} (pid ${proc.pid}), log ${proc.logFile}`);
    await pollUntil(async () => ((await httpGet(readyUrl)) === undefined ? undefined : true), {
      timeoutMs,
      intervalMs: 250,
      what: `${name} at ${readyUrl}`,
      abort: () => (proc.hasExited() ? `exited during start-up, see ${proc.logFile}` : undefined),
    });
  };
  try {
    await launch(
      'agent',
      opts.node,
      [...AGENT_NODE_FLAGS, agentMain, 'agent', '--listen', `${STACK_HOST}:${opts.ports.agent}`, '--config', opts.agentConfig ?? join(opts.stateDir, 'agent.yml')],
      `${urls.agent}/healthz`,
    );
    await launch(
      'alertmanager',
      opts.binaries.alertmanager,
      [
        `--config.file=${paths.alertmanagerConfig}`,
        `--storage.path=${paths.alertmanagerData}`,
        `--web.listen-address=${STACK_HOST}:${opts.ports.alertmanager}`,
        // One instance: no gossip port on the network.
        '--cluster.listen-address=',
      ],
      `${urls.alertmanager}/-/ready`,
    );
    await launch(
      'prometheus',
      opts.binaries.prometheus,
      [
        `--config.file=${paths.prometheusConfig}`,
        `--storage.tsdb.path=${paths.prometheusData}`,
        `--web.listen-address=${STACK_HOST}:${opts.ports.prometheus}`,
      ],
      `${urls.prometheus}/-/ready`,
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
  const firstExit = Promise.race(started.map((p) => p.exited.then((status) => ({ name: p.name, status }))));
  return { urls, processes: started, firstExit, stop: stopAll };
}
