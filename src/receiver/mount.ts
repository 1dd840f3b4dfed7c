import type { Router } from 'express';
import { Registry } from 'prom-client';
import type { World } from '../domain/world.js';
import type { HeadroomConfig } from '../config/schema.js';
import type { NotificationSink } from '../notify/events.js';
import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import type { ProcFs } from '../procfs/procfs.js';
import { ConfigError } from '../config/load.js';
import { errorMessage } from '../logging/logger.js';
import { createLiveRemediation } from '../remediation/live.js';
import type { Remediation } from '../remediation/setup.js';
import { hasCredentials, loadCredentials } from './auth.js';
import { createReceiver } from './index.js';
import type { Receiver } from './receiver.js';

export interface MountedReceiver {
  readonly router: Router;
  /** headroom_remediation_* and headroom_receiver_* metrics (render with the exporter's extraRegistries). */
  readonly registry: Registry;
  readonly receiver: Receiver;
  readonly remediation: Remediation;
  close(): Promise<void>;
}

/**
 * Builds the receiver for `headroom agent` from the config (receiver.enabled): credentials, the remediation
 * stack on the real /proc, cgroups, signals and clocks, and protect_sshd when configured. Says at start when
 * actions are disabled for lack of a credential.
 */
export async function startReceiver(
  config: HeadroomConfig,
  world: World,
  io: { readonly proc: ProcFs; readonly cgroups: CgroupFs; readonly files: FileReader },
  sink: NotificationSink | undefined,
): Promise<MountedReceiver> {
  let credentials: ReturnType<typeof loadCredentials>;
  try {
    credentials = loadCredentials(config.receiver.auth, world.env, (path) => io.files.readText(path));
  } catch (error) {
    // A missing, empty or malformed credential is a configuration mistake: exit 2 with the key, not a crash.
    throw new ConfigError('receiver.auth', [errorMessage(error)]);
  }
  const actionsEnabled = hasCredentials(credentials);
  const registry = new Registry();
  const remediation = createLiveRemediation(config, world, io, { actionsEnabled, sink, registry });
  if (!actionsEnabled) {
    world.logger.warn('receiver: no credential configured (receiver.auth); remediation actions are DISABLED, alerts are only notified');
  }
  if (config.remediation.dry_run) world.logger.warn('remediation: dry_run is on; actions are reported, never run');
  try {
    await remediation.protectSshd();
  } catch (error) {
    world.logger.error('protect_sshd failed', { error: errorMessage(error) });
  }
  const receiver = createReceiver(config, remediation, credentials, { now: world.now, monotonic: world.monotonic }, world.logger);
  world.logger.info('receiver ready', { routes: ['/alerts/remediate', '/alerts/notify'], actionsEnabled, dryRun: config.remediation.dry_run, stateDir: config.remediation.state_dir });
  return {
    router: receiver.router,
    registry,
    receiver,
    remediation,
    close: async () => {
      await receiver.idle();
      remediation.close();
    },
  };
}
