import { formatBytes, formatDuration } from '../config/units.js';
import type { Status, TreeStatus } from './types.js';

/** Pure terminal rendering of a Status: fixed columns, fitted to `width`, no colour, no cursor control. */
export interface TextOptions {
  /** Terminal columns (lines are cut to this many characters). */
  readonly width: number;
}

const pct = (r: number | undefined): string => (r === undefined || !Number.isFinite(r) ? '?' : `${(r * 100).toFixed(r < 0.1 && r > 0 ? 1 : 0)}%`);
const dur = (s: number | undefined): string => (s === undefined ? '?' : formatDuration(s * 1000));
/** Control characters (a command line can hold anything) become "?" so they cannot move the cursor. */
// eslint-disable-next-line no-control-regex
const clean = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

function fit(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/** "[##########----|---!-]": used share, with the warning (|) and critical (!) lines marked. */
export function bar(used: number, warning: number, critical: number, cells: number): string {
  const chars: string[] = [];
  const filled = Math.round(Math.min(1, Math.max(0, used)) * cells);
  const at = (r: number): number => Math.min(cells - 1, Math.round(r * cells));
  for (let i = 0; i < cells; i++) chars.push(i < filled ? '#' : '-');
  chars[at(warning)] = '|';
  chars[at(critical)] = '!';
  return `[${chars.join('')}]`;
}

function growth(t: TreeStatus): string {
  if (t.growthBytes === undefined || t.growthSeconds === undefined) return 'new';
  const sign = t.growthBytes > 0 ? '+' : '';
  return `${sign}${formatBytes(t.growthBytes)}/${dur(t.growthSeconds)}`;
}

export function renderStatusText(s: Status, opts: TextOptions): string {
  const w = Math.max(40, opts.width);
  const out: string[] = [];
  const m = s.memory;
  out.push(`headroom status — ${clean(s.host)} — ${s.at.slice(0, 19).replace('T', ' ')} UTC`);
  out.push('');
  out.push(
    `memory    ${pct(m.usedRatio)} used  ${formatBytes(m.totalBytes - m.availableBytes)} of ${formatBytes(m.totalBytes)}, ${formatBytes(m.availableBytes)} available`,
  );
  out.push(`          ${bar(m.usedRatio, s.thresholds.warning, s.thresholds.critical, 40)}  | warning ${pct(s.thresholds.warning)}  ! critical ${pct(s.thresholds.critical)}`);
  const swap =
    m.swapTotalBytes === undefined ? 'unknown' : m.swapTotalBytes === 0 ? 'none' : `${formatBytes(m.swapUsedBytes ?? 0)} of ${formatBytes(m.swapTotalBytes)} (${pct((m.swapUsedBytes ?? 0) / m.swapTotalBytes)})`;
  out.push(`swap      ${swap}`);
  out.push(`pressure  ${m.psiSome10 === undefined ? 'no PSI on this kernel' : `some ${pct(m.psiSome10)}  full ${pct(m.psiFull10)} (avg10)  full ${pct(m.psiFull60)} (avg60)`}`);
  const a = s.agent;
  out.push(
    a.running
      ? `agent     running  pid ${a.pid ?? '?'}  ${clean(a.url ?? '')}  up ${dur(a.uptimeSeconds)}  version ${clean(a.version ?? '?')}`
      : `agent     NOT RUNNING  ${clean(a.note ?? '')}`,
  );
  const g = a.guard;
  out.push(
    !a.running
      ? 'guard     not running (runs inside the agent)'
      : g === undefined || !g.enabled
        ? 'guard     off (guard.enabled: false)'
        : `guard     on (${clean(g.scope)})  line: available < ${pct(g.availableBelow)}  distance ${g.distance >= 0 ? '+' : ''}${(g.distance * 100).toFixed(1)} pts  polling every ${g.intervalMs} ms`,
  );
  out.push('');
  out.push(`TOP PROCESS TREES (${s.processCount} processes)`);
  out.push(`${'PID'.padStart(8)}  ${'RSS'.padStart(9)}  ${'SHARE'.padStart(5)}  ${'GROWTH'.padEnd(16)}  ${'PROCS'.padStart(5)}  ${'RUNTIME'.padEnd(9)}  ${'USER'.padEnd(8)}  COMMAND`);
  for (const t of s.trees) {
    out.push(
      `${String(t.pid).padStart(8)}  ${formatBytes(t.residentBytes).padStart(9)}  ${pct(t.share).padStart(5)}  ${growth(t).padEnd(16)}  ${String(t.processes).padStart(5)}  ${dur(t.runtimeSeconds).padEnd(9)}  ${clean(t.user ?? '?').slice(0, 8).padEnd(8)}  ${clean(t.cmdline)}`,
    );
  }
  if (s.trees.length === 0) out.push('  (none)');
  out.push('');
  out.push('JOBS (headroom run)');
  for (const j of s.jobs) {
    const limit = j.limitBytes === undefined ? 'no limit' : `max ${formatBytes(j.limitBytes)} (${pct(j.usageBytes / j.limitBytes)})`;
    const high = j.highBytes === undefined ? '' : `  high ${formatBytes(j.highBytes)}`;
    const swap = j.swapLimitBytes === undefined ? '' : `  swap ${formatBytes(j.swapBytes ?? 0)}/${formatBytes(j.swapLimitBytes)}`;
    const oom = j.oomKills ? `  OOM kills ${j.oomKills}` : '';
    const bars = j.limitBytes === undefined ? '' : ` ${bar(j.usageBytes / j.limitBytes, j.highBytes !== undefined ? j.highBytes / j.limitBytes : 0.999, 0.999, 20)}`;
    out.push(`  ${clean(j.name)}  ${formatBytes(j.usageBytes)} ${limit}${bars}${high}${swap}${oom}`);
    out.push(`      ${j.processes} procs${j.runtimeSeconds !== undefined ? `, running ${dur(j.runtimeSeconds)}` : ''}${j.command !== undefined ? `: ${clean(j.command)}` : ''}`);
  }
  if (s.jobs.length === 0) out.push('  (none)');
  out.push('');
  out.push('LAST INCIDENTS');
  for (const i of s.incidents) {
    const freed = i.freedBytes === undefined ? '' : `  freed ${formatBytes(i.freedBytes)}`;
    out.push(`  ${clean(i.id)}  ${i.at.slice(0, 19).replace('T', ' ')}  ${clean(i.action)}${i.dryRun ? ' (dry run)' : ''} ${clean(i.result)}${freed}  ${clean(i.target)}`);
  }
  if (s.incidents.length === 0) out.push('  (none)');
  if (s.outbox) {
    const per = Object.entries(s.outbox.pending).map(([n, c]) => `${clean(n)} ${c}`).join(', ');
    out.push('', `OUTBOX    ${s.outbox.stored} stored${per ? ` — pending: ${per}` : ''}`);
  }
  for (const n of s.notes) out.push(`note: ${clean(n)}`);
  return `${out.map((l) => fit(l, w)).join('\n')}\n`;
}
