import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createCollectors } from '../collectors/index.js';
import { CollectorRunner } from '../collectors/runner.js';
import { ConfigError } from '../config/load.js';
import type { HeadroomConfig } from '../config/schema.js';
import type { HostFacts } from '../domain/host.js';
import type { World } from '../domain/world.js';
import { createExporterApp } from '../exporter/app.js';
import { runGuard, type GuardCrossing, type GuardStep } from '../guard/guard.js';
import { hardenSelf } from '../guard/harden.js';
import { readCgroupReading, readHostReading, type GuardReading } from '../guard/reading.js';
import { errorMessage } from '../logging/logger.js';
import type { NotificationSink } from '../notify/events.js';
import type { NotificationService } from '../notify/service.js';
import { CgroupFs } from '../procfs/cgroupfs.js';
import { NodeFileReader } from '../procfs/file-reader.js';
import { ProcFs, type KernelUnits } from '../procfs/procfs.js';
import { NodeTreeFs } from '../procfs/tree-fs.js';
import { hasCredentials, loadCredentials, type Credentials } from '../receiver/auth.js';
import { createReceiver } from '../receiver/index.js';
import type { Receiver } from '../receiver/receiver.js';
import { guardTrigger } from '../remediation/pipeline.js';
import { observeRefusal, type EpisodeState } from '../remediation/refusal-episodes.js';
import { createRemediation, loggingSink, type Remediation } from '../remediation/setup.js';
import { registerSelfMetrics } from './self-metrics.js';
import { findExecutable, machineHostname, pauseProcess, readHostFacts, runWithTimeout, sleep, systemCalls, timers, yieldToLoop } from './system.js';

/**
 * The one place where the agent is assembled: real roots (/proc, cgroupfs from the config), the clocks of the
 * World, the real timers, signals and file writes (./system.ts), HTTP, and the state files. Everything it
 * builds takes these as arguments; nothing below reaches for them itself (DEVELOPERS.md).
 *
 *   exporter (collectors → /metrics)         notify (outbox → Slack, log)
 *   receiver (webhook → pipeline queue)  ─┐
 *   guard (poll → crossing → pipeline)   ─┴→ remediation pipeline (src/remediation/pipeline.ts) → actions
 */
import { readFileSync } from 'node:fs';
import { loadWebConfig } from '../web/load.js';
import { createWebServer } from '../web/server.js';

export interface RunningAgent {
  readonly url: string;
  readonly server: Server;
  /** Present when the config has a `notify` section: deciders publish to `notifications.sink`. */
  readonly notifications?: NotificationService;
  /** Present with the receiver or the guard: the one remediation stack both use. */
  readonly remediation?: Remediation;
  readonly receiver?: Receiver;
  /** What kind of machine this is, read once at start. */
  readonly hostFacts: HostFacts;
  close(): Promise<void>;
}

/** Splits "host:port" / "[::1]:port". */
export function splitListen(listen: string): { host: string; port: number } {
  const idx = listen.lastIndexOf(':');
  const host = listen.slice(0, idx).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(idx + 1)) };
}

/** The receiver's credentials; a missing, empty or malformed one is a configuration mistake (exit 2). */
function receiverCredentials(config: HeadroomConfig, world: World, files: NodeFileReader): Credentials {
  if (!config.receiver.enabled) return {};
  try {
    return loadCredentials(config.receiver.auth, world.env, (path) => files.readText(path));
  } catch (error) {
    throw new ConfigError('receiver.auth', [errorMessage(error)]);
  }
}

/**
 * Starts the agent: the collectors behind /metrics and, as they are configured, notifications, the receiver
 * and the guard on one remediation stack. Resolves once it listens.
 */
export async function startAgent(
  config: HeadroomConfig,
  world: World,
  units: KernelUnits,
  /** Where remediation publishes (tests); defaults to the notify service's sink, else a logging sink. */
  options: { readonly sink?: NotificationSink } = {},
): Promise<RunningAgent> {
  const { logger } = world;
  // TLS / basic auth from the exporter-toolkit web config, checked before anything starts (exit 2).
  const web = loadWebConfig(config.web.config_file, (p) => readFileSync(p, 'utf8'), world.now());
  for (const note of web.ignored) logger.warn('web config: key not applied', { note });
  const files = new NodeFileReader();
  const proc = new ProcFs(config.agent.procfs, files, units);
  const cgroups = new CgroupFs(config.agent.cgroupfs, files);
  const treeFs = new NodeTreeFs();
  const runner = new CollectorRunner(createCollectors(treeFs), { config, proc, cgroups, files }, world.monotonic, (collector, error) =>
    logger.warn('collector failed', { collector, error: errorMessage(error) }),
  );
  const selfRegistry = new Registry();
  registerSelfMetrics(selfRegistry, 'headroom_agent_');
  const host = config.receiver.host ?? machineHostname();
  // Once at start, never per scrape (systeminformation spawns helpers and reads DMI); only for the features that
  // report (an exporter-only agent stays small, docs/benchmarks.md).
  const reports = config.notify !== undefined || config.receiver.enabled || config.guard.enabled;
  const hostFacts: HostFacts = world.hostFacts ? await world.hostFacts() : reports ? await readHostFacts(host, logger) : { hostname: host };

  // Features load only when configured: an exporter-only agent stays small (see docs/benchmarks.md).
  const notifications = config.notify
    ? (await import('../notify/service.js')).createNotificationService({ config: config.notify, logger, env: world.env, now: () => world.now().getTime(), sleep })
    : undefined;
  const sink = options.sink ?? notifications?.sink ?? loggingSink(logger);

  // One remediation stack for the receiver and the guard: one queue, idempotency state, audit log, rate limit.
  const credentials = receiverCredentials(config, world, files);
  const remediationRegistry = new Registry();
  const remediation =
    config.receiver.enabled || config.guard.enabled
      ? createRemediation({
          config,
          proc,
          cgroups,
          files,
          self: { pid: world.pid, ppid: world.ppid },
          host,
          hostFacts,
          actionsEnabled: hasCredentials(credentials),
          now: world.now,
          monotonic: world.monotonic,
          sleep: (ms) => sleep(ms),
          yieldToLoop,
          kill: systemCalls.kill,
          writeFile: systemCalls.writeFile,
          sink,
          logger,
          registry: remediationRegistry,
          treeFs,
          evidenceIo: {
            pause: pauseProcess,
            runTool: runWithTimeout,
            pySpy: () => findExecutable('py-spy', world.env.PATH),
          },
        })
      : undefined;
  if (remediation) {
    if (config.remediation.dry_run) logger.warn('remediation: dry_run is on; actions are reported, never run');
    try {
      await remediation.protectSshd();
    } catch (error) {
      logger.error('protect_sshd failed', { error: errorMessage(error) });
    }
  }

  let receiver: Receiver | undefined;
  if (config.receiver.enabled && remediation) {
    if (!hasCredentials(credentials)) {
      logger.warn('receiver: no credential configured (receiver.auth); remediation actions are DISABLED, alerts are only notified');
    }
    receiver = createReceiver(config, remediation, credentials, { now: world.now, monotonic: world.monotonic }, logger);
    logger.info('receiver ready', { routes: ['/alerts/remediate', '/alerts/notify'], actionsEnabled: hasCredentials(credentials), dryRun: config.remediation.dry_run, stateDir: config.remediation.state_dir });
  }

  const guard = config.guard.enabled && remediation ? startGuard(config, world, proc, cgroups, remediation) : undefined;
  // An incident held open after recovery (remediation.incident.close_after) closes when its hold is over.
  const stopHoldCheck = remediation ? timers.every(1000, () => remediation.pipeline.closeExpired()) : undefined;

  // A fleet: pull this host's alerts from the Alertmanager cluster into the same pipeline (docs/fleet.md).
  const fleet = config.fleet.enabled
    ? (await import('../fleet/start.js')).startAlertSource(config, world, receiver ? remediation?.pipeline : undefined, sink, { host, timers })
    : undefined;

  // The people's view (#13): status page at /, incident reports at /incidents/<id>, short history, agent.json.
  const people = (await import('../web/mount.js')).mountPeople(config, world, { proc, cgroups, files }, notifications, splitListen(config.agent.listen).host, { host, timers });
  const app = createExporterApp({
    runner,
    extraRegistries: [selfRegistry, ...(notifications ? [notifications.registry] : []), ...(remediation ? [remediationRegistry] : []), ...(fleet ? [fleet.registry] : [])],
    version: world.version,
    logger,
    yieldToLoop,
    ...(config.page.enabled ? { home: people.home } : {}),
  });
  if (config.page.enabled) app.use(people.router);
  if (receiver) app.use(receiver.router);

  const { host: listenHost, port } = splitListen(config.agent.listen);
  // http or https per the web config; the receiver's /alerts/ keep their own bearer auth.
  const { server, scheme } = createWebServer(app, {
    web,
    ownAuthPaths: ['/alerts/'],
    onRejected: (reason) => logger.warn('web: request rejected', { reason }),
  });
  await new Promise<void>((resolve, reject) => {
    server.listen(port, listenHost);
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${scheme}://${shownHost}:${address.port}`;
  logger.info('agent listening', { url, procfs: config.agent.procfs, cgroupfs: config.agent.cgroupfs });
  notifications?.start();
  people.start(url);
  return {
    url,
    server,
    hostFacts,
    ...(notifications ? { notifications } : {}),
    ...(remediation ? { remediation } : {}),
    ...(receiver ? { receiver } : {}),
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      people.close();
      await fleet?.stop();
      await guard?.stop();
      stopHoldCheck?.();
      await remediation?.pipeline.idle();
      // Incidents held after recovery end now, with their report and summary (memory had come back).
      remediation?.pipeline.closeHeld();
      remediation?.close();
      // After the server: a request still in flight may publish; what is undelivered stays in the outbox.
      await notifications?.stop();
    },
  };
}

/**
 * The local guard: polls its scope (host, or the watched cgroup), and on a crossing submits an urgent trigger
 * to the shared pipeline (it goes before anything the receiver queued).
 */
function startGuard(config: HeadroomConfig, world: World, proc: ProcFs, cgroups: CgroupFs, remediation: Remediation): { stop(): Promise<void> } {
  const g = config.guard;
  let read: () => GuardReading;
  if (g.watch_cgroup !== undefined) {
    const hierarchy = cgroups.detectMemoryHierarchy();
    if (hierarchy === undefined) throw new Error(`guard.watch_cgroup ${g.watch_cgroup}: no cgroup memory controller under ${cgroups.root}`);
    const path = g.watch_cgroup;
    read = () => readCgroupReading(cgroups, hierarchy, path);
    read(); // fail at start, not at the first poll, when the cgroup is missing or has no limit
  } else {
    read = () => readHostReading(proc);
  }
  const hardened = g.harden_self ? hardenSelf(world.pid, proc, systemCalls, world.logger) : [];
  const controller = new AbortController();
  // Quiet logs: one journal line per episode of identical refusals (the pipeline writes the closing count).
  let episodes: EpisodeState = new Map();
  const remediate = async (c: GuardCrossing): Promise<GuardStep> => {
    const d = await remediation.pipeline.handle(guardTrigger({ at: c.crossedAt, scope: c.watchCgroup, alertName: 'HeadroomGuard', stalling: c.cause === 'memory_pressure' }), { urgent: true });
    const doneMs = world.monotonic() * 1000;
    const incident = d.kind === 'action' || d.kind === 'refusal' ? d.incident : undefined;
    const step: GuardStep = {
      continue: incident?.open === true,
      hold: incident?.closedBecause === 'max_victims' || incident?.closedBecause === 'max_reclaim' || incident?.closedBecause === 'action_failed',
      ...(incident?.victim?.freedBytes !== undefined ? { freedBytes: incident.victim.freedBytes } : {}),
    };
    if (d.kind === 'refusal' && incident === undefined) {
      const seen = observeRefusal(episodes, { stream: 'guard', reasonCode: d.reasonCode, reason: d.reason }, world.monotonic() * 1000, config.remediation.refusal_episode_max);
      episodes = seen.state;
      if (!seen.write) return step;
    } else {
      episodes = new Map();
    }
    world.logger.warn('guard decision', {
      cause: c.cause,
      reason: c.reason,
      outcome: d.kind,
      ...(d.kind === 'action' ? { action: d.action, result: d.result, incident: d.incidentId } : {}),
      ...(incident ? { incidentOpen: incident.open, victims: incident.victims, ...(incident.closedBecause ? { ended: incident.closedBecause } : {}), ...(incident.held ? { heldUntil: incident.heldUntil } : {}), ...(incident.victim ? { victim: incident.victim } : {}) } : {}),
      ...(d.kind === 'refusal' ? { refusal: d.reasonCode, refusalReason: d.reason } : {}),
      ...(d.kind === 'failed' ? { error: d.reason } : {}),
      crossingToDecisionMs: Math.round(c.firedAtMs - c.crossedAtMs),
      crossingToDoneMs: Math.round(doneMs - c.crossedAtMs),
      stepMs: Math.round(doneMs - c.firedAtMs),
    });
    return step;
  };
  const loop = runGuard(
    {
      read,
      settings: {
        availableBelow: g.available_below,
        sustainMs: g.sustain,
        psiFullAbove: g.psi_full_above,
        psiSustainMs: g.psi_sustain,
        minIntervalMs: g.min_interval,
        maxIntervalMs: g.max_interval,
      },
      watchCgroup: g.watch_cgroup,
      monotonicMs: () => world.monotonic() * 1000,
      now: world.now,
      sleep,
      remediate,
      logger: world.logger,
      settleMs: config.remediation.incident.settle,
    },
    controller.signal,
  );
  world.logger.info('guard running', {
    scope: g.watch_cgroup === undefined ? 'host' : `cgroup ${g.watch_cgroup}`,
    availableBelow: g.available_below,
    psiFullAbove: g.psi_full_above,
    sharedWithReceiver: config.receiver.enabled,
    hardened,
  });
  return {
    stop: async () => {
      controller.abort();
      await loop;
    },
  };
}
