import express, { type RequestHandler, type Router } from 'express';
import type { Timers, World } from '../domain/world.js';
import { ConfigError } from '../config/load.js';
import type { HeadroomConfig } from '../config/schema.js';
import { nextPollInterval } from '../guard/interval.js';
import { ShortHistory } from '../history/history.js';
import { sampleHost, sampleTrees, type SamplerIo } from '../history/sampler.js';
import { IncidentStore, isIncidentId } from '../incidents/store.js';
import { errorMessage } from '../logging/logger.js';
import type { NotificationService } from '../notify/service.js';
import type { CgroupFs } from '../procfs/cgroupfs.js';
import type { FileReader } from '../procfs/file-reader.js';
import type { ProcFs } from '../procfs/procfs.js';
import { loadCredentials } from '../receiver/auth.js';
import { removeAgentState, writeAgentState } from '../status/agent-state.js';
import { readIncidents, readOutbox } from '../status/collect.js';
import { pageAuth } from './auth.js';
import { renderStatusPage, type PageModel } from './render/page.js';
import { renderReportPage } from './render/report.js';

export interface PeopleIo {
  readonly proc: ProcFs;
  readonly cgroups: CgroupFs;
  readonly files: FileReader;
}

export interface MountedPeople {
  /** GET / : the status page (replaces the landing page). */
  readonly home: RequestHandler;
  /** /incidents/:id (HTML report). */
  readonly router: Router;
  readonly history: ShortHistory;
  /** After the agent listens: writes agent.json for `headroom status` and starts sampling the history. */
  start(url: string): void;
  /** Stops sampling and removes agent.json. */
  close(): void;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // No script, no external anything: inline CSS and SVG only.
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The people-facing parts of the agent (issue #13): the status page at /, incident reports as HTML, the
 * short history that feeds them, and agent.json. Rendering happens on request only and reads the history
 * (no /proc scan), so fetching the page never slows a scrape.
 */
export function mountPeople(
  config: HeadroomConfig,
  world: World,
  io: PeopleIo,
  notifications: NotificationService | undefined,
  listenHost: string,
  /** `history`: the agent's one short history (also read by remediation for growth); sampled when the page is on or `sample` says so. */
  wiring: { readonly host: string; readonly timers: Timers; readonly history?: ShortHistory; readonly sample?: boolean },
): MountedPeople {
  const pc = config.page;
  const hostName = wiring.host;
  const now = (): number => world.now().getTime();
  const history = wiring.history ?? new ShortHistory({ windowMs: pc.history.window, hostIntervalMs: pc.history.host_interval, treeIntervalMs: pc.history.tree_interval, topK: pc.history.top_k, now });
  let credentials: ReturnType<typeof loadCredentials>;
  try {
    credentials = loadCredentials(config.receiver.auth, world.env, (path) => io.files.readText(path));
  } catch (error) {
    throw new ConfigError('receiver.auth', [errorMessage(error)]);
  }
  const auth = pageAuth(listenHost, credentials);
  const incidents = new IncidentStore(`${config.remediation.state_dir}/incidents`);
  const samplerIo: SamplerIo = { ...io, runCgroupParent: config.run.cgroup_parent, passwdPath: config.agent.passwd, now };

  const failedCounts = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    const metric = notifications?.registry.getSingleMetric('headroom_notifications_failed_total');
    if (metric === undefined) return out;
    for (const v of (await metric.get()).values) out[String(v.labels.notifier ?? '?')] = v.value;
    return out;
  };

  const model = async (): Promise<PageModel> => {
    const notes: string[] = [];
    const hostSeries = history.host();
    const last = hostSeries[hostSeries.length - 1];
    const g = config.guard;
    const availableRatio = last && last.totalBytes > 0 ? last.availableBytes / last.totalBytes : undefined;
    const hostScope = g.watch_cgroup === undefined;
    const outbox = config.notify ? readOutbox(io.files, config.notify.state_dir, notes) : undefined;
    return {
      host: hostName,
      version: world.version,
      nowMs: now(),
      windowMs: pc.history.window,
      refreshSeconds: Math.max(1, Math.round(pc.refresh / 1000)),
      hideCmdlines: pc.hide_cmdlines,
      hostSeries,
      thresholds: { warning: config.thresholds.host_memory_warning, critical: config.thresholds.host_memory_critical },
      guard: {
        enabled: g.enabled,
        scope: hostScope ? 'host memory' : `cgroup ${g.watch_cgroup ?? ''}`,
        availableBelow: g.available_below,
        minIntervalMs: g.min_interval,
        maxIntervalMs: g.max_interval,
        ...(hostScope && availableRatio !== undefined
          ? { distance: availableRatio - g.available_below, intervalMs: nextPollInterval(availableRatio, g.available_below, g.min_interval, g.max_interval) }
          : {}),
      },
      trees: history.trees(),
      ...(history.treesAt() !== undefined ? { treesAtMs: history.treesAt() } : {}),
      jobs: history.jobs(),
      incidents: readIncidents(config.remediation.state_dir, 10, notes),
      ...(config.notify ? { outbox: { stored: outbox?.stored ?? 0, pending: outbox?.pending ?? {}, failed: await failedCounts() } } : {}),
      notes,
    };
  };

  const send = (res: express.Response, status: number, body: string): void => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    res.status(status).type('html').send(body);
  };

  const home: RequestHandler = (req, res, next) => {
    auth(req, res, () => {
      model().then(
        (m) => send(res, 200, renderStatusPage(m)),
        (error: unknown) => next(error),
      );
    });
  };

  const router = express.Router();
  router.get('/incidents/:id', auth, (req, res) => {
    const id = String(req.params.id);
    // The incident's memory chart next to its report (<id>.svg), under the same auth.
    if (id.endsWith('.svg') && isIncidentId(id.slice(0, -4))) {
      const svg = incidents.chart(id.slice(0, -4));
      if (svg === undefined) {
        send(res, 404, '<!doctype html><title>no such chart</title><p>No chart for this incident.</p>');
        return;
      }
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      res.status(200).type('image/svg+xml').send(svg);
      return;
    }
    if (!isIncidentId(id)) {
      send(res, 400, '<!doctype html><title>bad incident id</title><p>Not an incident id.</p>');
      return;
    }
    const all = incidents.list();
    const record = all.find((r) => r.id === id);
    if (record === undefined) {
      send(res, 404, '<!doctype html><title>no such incident</title><p>No such incident. <a href="../">Back to the status page</a>.</p>');
      return;
    }
    const markdown = incidents.show(id);
    const actionMs = Date.parse(record.timeline.action);
    const around = history.host().filter((h) => Math.abs(h.atMs - actionMs) <= 10 * 60_000);
    const chartSvg = record.growth?.chart !== undefined ? incidents.chart(id) : undefined;
    send(res, 200, renderReportPage({ record, all, ...(markdown !== undefined ? { markdown } : {}), ...(chartSvg !== undefined ? { chartSvg } : {}), around, hideCmdlines: pc.hide_cmdlines }));
  });

  const cancels: Array<() => void> = [];
  const failing = new Set<string>();
  const guarded = (what: string, fn: () => void): (() => void) => () => {
    try {
      fn();
      if (failing.delete(what)) world.logger.info('status page: sampling works again', { what });
    } catch (error) {
      // Logged once per failure streak, not every second.
      if (!failing.has(what)) world.logger.warn('status page: sampling failed', { what, error: errorMessage(error) });
      failing.add(what);
    }
  };
  const stateDir = config.remediation.state_dir;

  return {
    home,
    router,
    history,
    start(url: string): void {
      try {
        writeAgentState(stateDir, {
          pid: world.pid,
          startTicks: io.proc.pidStat(world.pid).startTicks,
          url,
          version: world.version,
          startedAt: world.now().toISOString(),
          guard: {
            enabled: config.guard.enabled,
            availableBelow: config.guard.available_below,
            minIntervalMs: config.guard.min_interval,
            maxIntervalMs: config.guard.max_interval,
            ...(config.guard.watch_cgroup !== undefined ? { watchCgroup: config.guard.watch_cgroup } : {}),
          },
          ...(config.notify ? { notifyStateDir: config.notify.state_dir } : {}),
        });
      } catch (error) {
        world.logger.warn('could not write agent.json; `headroom status` will say the agent is not running', { state_dir: stateDir, error: errorMessage(error) });
      }
      if (!pc.enabled && wiring.sample !== true) return;
      const host = guarded('host memory', () => sampleHost(history, io));
      const trees = guarded('process trees', () => {
        for (const note of sampleTrees(history, samplerIo)) world.logger.warn('status page: sampling', { note });
      });
      host();
      trees();
      cancels.push(wiring.timers.every(pc.history.host_interval, host), wiring.timers.every(pc.history.tree_interval, trees));
    },
    close(): void {
      for (const cancel of cancels.splice(0)) cancel();
      try {
        removeAgentState(stateDir, world.pid);
      } catch (error) {
        world.logger.warn('could not remove agent.json', { error: errorMessage(error) });
      }
    },
  };
}
