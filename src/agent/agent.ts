import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createCollectors } from '../collectors/index.js';
import { CollectorRunner } from '../collectors/runner.js';
import type { HeadroomConfig } from '../config/schema.js';
import { createExporterApp } from '../exporter/app.js';
import { errorMessage } from '../logging/logger.js';
import type { NotificationService } from '../notify/service.js';
import { CgroupFs } from '../procfs/cgroupfs.js';
import { NodeFileReader } from '../procfs/file-reader.js';
import { ProcFs, type KernelUnits } from '../procfs/procfs.js';
import type { NotificationSink } from '../notify/events.js';
import type { World } from '../cli/world.js';
import { readFileSync } from 'node:fs';
import { loadWebConfig } from '../web/load.js';
import { createWebServer } from '../web/server.js';

export interface RunningAgent {
  readonly url: string;
  readonly server: Server;
  /** Present when the config has a `notify` section: deciders publish to `notifications.sink`. */
  readonly notifications?: NotificationService;
  close(): Promise<void>;
}

/** Splits "host:port" / "[::1]:port". */
export function splitListen(listen: string): { host: string; port: number } {
  const idx = listen.lastIndexOf(':');
  const host = listen.slice(0, idx).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(idx + 1)) };
}

/**
 * Starts the agent: the collectors behind /metrics (and, as they are configured, the features that share
 * its HTTP server). Resolves once it listens.
 */
export async function startAgent(
  config: HeadroomConfig,
  world: World,
  units: KernelUnits,
  /** Where the receiver publishes (tests); defaults to the notify service's sink, else a logging sink. */
  options: { readonly sink?: NotificationSink } = {},
): Promise<RunningAgent> {
  // [fleet] TLS / basic auth from the exporter-toolkit web config, checked before anything starts (exit 2).
  const web = loadWebConfig(config.web.config_file, (p) => readFileSync(p, 'utf8'), world.now());
  for (const note of web.ignored) world.logger.warn('web config: key not applied', { note });
  const files = new NodeFileReader();
  const proc = new ProcFs(config.agent.procfs, files, units);
  const cgroups = new CgroupFs(config.agent.cgroupfs, files);
  const runner = new CollectorRunner(createCollectors(), { config, proc, cgroups, files }, world.monotonic, (collector, error) =>
    world.logger.warn('collector failed', { collector, error: errorMessage(error) }),
  );
  const selfRegistry = new Registry();
  collectDefaultMetrics({ register: selfRegistry, prefix: 'headroom_agent_' });
  // Features load only when configured: an exporter-only agent stays small (see docs/benchmarks.md).
  const notifications = config.notify
    ? (await import('../notify/service.js')).createNotificationService({ config: config.notify, logger: world.logger, env: world.env })
    : undefined;
  const receiver = config.receiver.enabled
    ? await (await import('../receiver/mount.js')).startReceiver(config, world, { proc, cgroups, files }, options.sink ?? notifications?.sink)
    : undefined;
  const guard = config.guard.enabled
    ? (await import('../guard/start.js')).startGuard(config, world, { proc, cgroups, files: new NodeFileReader() }, receiver?.remediation, options.sink ?? notifications?.sink)
    : undefined;
  // [fleet] pull this host's alerts from the Alertmanager cluster into the receiver's pipeline (docs/fleet.md).
  const fleet = config.fleet.enabled
    ? (await import('../fleet/start.js')).startAlertSource(config, world, receiver?.remediation.pipeline, options.sink ?? notifications?.sink ?? (await import('../remediation/setup.js')).loggingSink(world.logger))
    : undefined;
  const app = createExporterApp({
    runner,
    extraRegistries: [
      selfRegistry,
      ...(notifications ? [notifications.registry] : []),
      ...(receiver ? [receiver.registry] : []),
      ...(guard?.registry ? [guard.registry] : []),
      ...(fleet ? [fleet.registry] : []), // [fleet]
    ],
    version: world.version,
    logger: world.logger,
  });
  if (receiver) app.use(receiver.router);

  const { host, port } = splitListen(config.agent.listen);
  // [fleet] http or https per the web config; the receiver's /alerts/ keep their own bearer auth.
  const { server, scheme } = createWebServer(app, {
    web,
    ownAuthPaths: ['/alerts/'],
    onRejected: (reason) => world.logger.warn('web: request rejected', { reason }),
  });
  await new Promise<void>((resolve, reject) => {
    server.listen(port, host);
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${scheme}://${shownHost}:${address.port}`;
  world.logger.info('agent listening', { url, procfs: config.agent.procfs, cgroupfs: config.agent.cgroupfs });
  notifications?.start();
  return {
    url,
    server,
    ...(notifications ? { notifications } : {}),
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      await fleet?.stop(); // [fleet]
      await guard?.stop();
      await receiver?.close();
      // After the server: a request still in flight may publish; what is undelivered stays in the outbox.
      await notifications?.stop();
    },
  };
}
