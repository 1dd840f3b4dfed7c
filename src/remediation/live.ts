import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { World } from '../domain/world.js';
import type { HeadroomConfig } from '../config/schema.js';
import type { NotificationSink } from '../notify/events.js';
import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import type { ProcFs } from '../procfs/procfs.js';
import { createRemediation, loggingSink, type Remediation } from './setup.js';

/**
 * The remediation stack on the real machine, for the agent (receiver or guard): real signals, file writes,
 * clocks and sleeps from the World the entry point built; never the agent itself or its parent as a target.
 */
export function createLiveRemediation(
  config: HeadroomConfig,
  world: World,
  io: { readonly proc: ProcFs; readonly cgroups: CgroupFs; readonly files: FileReader },
  opts: { readonly actionsEnabled: boolean; readonly sink: NotificationSink | undefined; readonly registry: Registry },
): Remediation {
  return createRemediation({
    config,
    ...io,
    self: { pid: world.pid, ppid: world.ppid },
    host: config.receiver.host ?? hostname(),
    actionsEnabled: opts.actionsEnabled,
    now: world.now,
    monotonic: world.monotonic,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    kill: (pid, signal) => process.kill(pid, signal),
    writeFile: (path, text) => writeFileSync(path, text),
    sink: opts.sink ?? loggingSink(world.logger),
    logger: world.logger,
    registry: opts.registry,
  });
}
