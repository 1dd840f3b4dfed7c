import { closeSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { z } from 'zod';
import type { World } from '../domain/world.js';
import type { HeadroomConfig } from '../config/schema.js';
import { CgroupFs } from '../procfs/cgroupfs.js';
import { errorCode, NodeFileReader } from '../procfs/file-reader.js';
import { ProcFs, type KernelUnits } from '../procfs/procfs.js';
import { collectStatus, type StatusSources, type TreeSample } from './collect.js';
import { renderStatusText } from './render-text.js';

export interface RunStatusOptions {
  readonly config: HeadroomConfig;
  readonly world: World;
  readonly units: KernelUnits;
  readonly hostname: string;
  readonly stateDir: string;
  /** The last sample, for growth between runs (a few KiB). */
  readonly sampleFile: string;
  readonly json: boolean;
  readonly watch: boolean;
  readonly intervalMs: number;
  readonly width: () => number;
}

const sampleSchema = z.object({
  atMs: z.number(),
  trees: z.array(z.tuple([z.number(), z.number(), z.number()])).max(1000),
});

/** The previous sample, or undefined (first run, unreadable or malformed file: growth then shows "new"). */
export function readSample(path: string): { sample?: TreeSample; problem?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return errorCode(error) === 'ENOENT' ? {} : { problem: `cannot read ${path} (${errorCode(error) ?? String(error)})` };
  }
  try {
    const r = sampleSchema.safeParse(JSON.parse(text));
    return r.success ? { sample: r.data } : { problem: `${path} is not a status sample; it will be replaced` };
  } catch {
    return { problem: `${path} is not JSON; it will be replaced` };
  }
}

/** Replaces the sample file (a new file renamed over the old one: never follows a planted symlink). */
export function writeSample(path: string, sample: TreeSample): string | undefined {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, JSON.stringify(sample));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return undefined;
  } catch (error) {
    return `growth between runs needs a writable --sample-file (${path}: ${errorCode(error) ?? String(error)})`;
  }
}

/** One reading (or, with watch, one per interval until SIGINT/SIGTERM), printed as text or JSON. */
export async function runStatus(o: RunStatusOptions): Promise<void> {
  const files = new NodeFileReader();
  const src: StatusSources = {
    proc: new ProcFs(o.config.agent.procfs, files, o.units),
    cgroups: new CgroupFs(o.config.agent.cgroupfs, files),
    files,
    now: o.world.now,
    hostname: o.hostname,
    stateDir: o.stateDir,
    ...(o.config.notify ? { notifyStateDir: o.config.notify.state_dir } : {}),
    runCgroupParent: o.config.run.cgroup_parent,
    passwdPath: o.config.agent.passwd,
    thresholds: { warning: o.config.thresholds.host_memory_warning, critical: o.config.thresholds.host_memory_critical },
  };
  const loaded = readSample(o.sampleFile);
  let previous = loaded.sample;
  let stopped = false;
  const stop = o.world.stopSignal.then(() => {
    stopped = true;
  });
  for (let frame = 0; ; frame++) {
    const { status, sample } = collectStatus(src, previous);
    const problems = [...(frame === 0 && loaded.problem ? [loaded.problem] : [])];
    const writeProblem = writeSample(o.sampleFile, sample);
    if (writeProblem !== undefined && frame === 0) problems.push(writeProblem);
    const shown = problems.length > 0 ? { ...status, notes: [...status.notes, ...problems] } : status;
    previous = sample;
    if (o.json) {
      o.world.stdout.write(`${JSON.stringify(shown)}\n`);
    } else {
      const text = renderStatusText(shown, { width: o.width() });
      // --watch: home the cursor, clear each line's rest and below, so the frame is redrawn in place.
      o.world.stdout.write(o.watch ? `\x1b[H${text.replace(/\n/g, '\x1b[K\n')}\x1b[J` : text);
    }
    if (!o.watch || stopped) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stop, new Promise<void>((resolve) => (timer = setTimeout(resolve, o.intervalMs)))]);
    clearTimeout(timer);
    if (stopped) return;
  }
}
