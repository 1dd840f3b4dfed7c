import { classifyReadError, errorCode } from '../procfs/file-reader.js';
import { startTimeLabel, scanProcesses } from '../procfs/process-table.js';
import type { ProcFs } from '../procfs/procfs.js';
import type { ProcessIdentity } from '../policy/types.js';
import type { ProcessControl } from './action.js';

/** Sends a signal to a PID (process.kill in production). */
export type KillFn = (pid: number, signal: 'SIGTERM' | 'SIGKILL') => void;

/**
 * ProcessControl on a real procfs. The identity check reads /proc/PID/stat right before each signal; the
 * remaining window (microseconds between the read and kill(2)) is the same one every PID-based tool has.
 */
export class LiveProcessControl implements ProcessControl {
  constructor(
    private readonly proc: ProcFs,
    private readonly bootTimeSeconds: number,
    private readonly kill: KillFn,
    private readonly writeFile: (path: string, text: string) => void,
    /** PIDs of a cgroup and its descendants (CgroupFs.pidsWithin); absent without a memory hierarchy. */
    private readonly pidsWithin?: (cgroup: string) => number[],
  ) {}

  identify(pid: number): (ProcessIdentity & { residentBytes: number }) | undefined {
    try {
      const s = this.proc.pidStat(pid);
      if (s.state === 'Z' || s.state === 'X') return undefined;
      const startTimeSeconds = this.bootTimeSeconds + s.startTicks / this.proc.units.clockTicksPerSecond;
      return { pid, startTime: startTimeLabel({ startTimeSeconds }), residentBytes: s.rssPages * this.proc.units.pageSizeBytes };
    } catch (error) {
      if (classifyReadError(error) === 'vanished') return undefined;
      throw error;
    }
  }

  signal(id: ProcessIdentity, signal: 'SIGTERM' | 'SIGKILL'): 'sent' | 'gone' {
    const live = this.identify(id.pid);
    if (live === undefined || live.startTime !== id.startTime) return 'gone';
    try {
      this.kill(id.pid, signal);
      return 'sent';
    } catch (error) {
      if (errorCode(error) === 'ESRCH') return 'gone';
      throw error;
    }
  }

  descendants(pid: number, cgroup?: string): ProcessIdentity[] {
    const scoped = cgroup !== undefined && cgroup !== '/' && this.pidsWithin !== undefined ? this.pidsWithin(cgroup) : undefined;
    const table = scanProcesses(this.proc, this.bootTimeSeconds, () => undefined, scoped);
    return table
      .subtree(pid)
      .slice(1)
      .filter((e) => e.state !== 'Z' && e.state !== 'X')
      .map((e) => ({ pid: e.pid, startTime: startTimeLabel(e) }));
  }

  oomScoreAdj(pid: number): number {
    return this.proc.pidOomScoreAdj(pid);
  }

  setOomScoreAdj(pid: number, value: number): void {
    this.writeFile(this.proc.path(String(pid), 'oom_score_adj'), String(value));
  }
}
