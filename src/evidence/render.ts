import { formatBytes } from '../config/units.js';
import type { Evidence } from './types.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
const b = (n: number | undefined): string => (n === undefined ? '—' : formatBytes(n));

/** The incident report's "Evidence" section (pure Markdown lines). Only allowlisted variables are shown. */
export function renderEvidenceSection(e: Evidence | undefined): string[] {
  const lines: string[] = ['## Evidence', ''];
  if (e === undefined) return [...lines, 'No evidence was captured for this action (evidence is captured for stopped process trees and cgroups).', ''];
  const freeze =
    e.frozen === 'sigstop'
      ? `frozen with SIGSTOP (${e.frozenPids} process${e.frozenPids === 1 ? '' : 'es'})`
      : e.frozen === 'cgroup_v2_freeze'
        ? `frozen with cgroup.freeze (${e.frozenPids} tasks)`
        : e.frozen === 'cgroup_v1_freezer'
          ? `frozen with the v1 freezer (${e.frozenPids} tasks)`
          : 'not frozen';
  lines.push(`Captured ${e.at.slice(0, 19).replace('T', ' ')} UTC before the action, ${freeze}; ${e.spentMs} ms of a ${e.budgetMs} ms budget.`, '');
  const c = e.cgroup;
  if (c !== undefined) {
    lines.push(
      `Cgroup \`${cell(c.path)}\`: ${c.tasks} task${c.tasks === 1 ? '' : 's'}, ${b(c.usageBytes)} charged${c.limitBytes !== undefined ? ` of a ${b(c.limitBytes)} limit` : ' (no limit)'}: anonymous ${b(c.anonBytes)}, file ${b(c.fileBytes)}, shared ${b(c.shmemBytes)}; swapped ${b(c.swapBytes)}.${c.largestPid !== undefined ? ` Its largest task (resident + swap) is PID ${c.largestPid}, below.` : ''}`,
      '',
    );
  }
  const p = e.process;
  if (e.captured && p !== undefined) {
    lines.push('| Field | Value |', '|---|---|');
    lines.push(`| Command | \`${cell(p.cmdline.join(' ') || p.comm)}\` |`);
    if (p.cwd !== undefined) lines.push(`| Working directory | \`${cell(p.cwd)}\` |`);
    if (p.exe !== undefined) lines.push(`| Executable | \`${cell(p.exe)}\` |`);
    if (p.user !== undefined) lines.push(`| User | ${cell(p.user)} (uid ${p.uid ?? '?'}) |`);
    if (p.threads !== undefined) lines.push(`| Threads | ${p.threads} |`);
    const m = p.memory;
    lines.push(`| Memory | resident ${b(m.rssBytes)}: anonymous ${b(m.anonBytes)}, file ${b(m.fileBytes)}, shared ${b(m.shmemBytes)}; swapped ${b(m.swapBytes)}${m.pssBytes !== undefined ? `; PSS ${b(m.pssBytes)}` : ''} |`);
    if (p.io !== undefined) lines.push(`| I/O | read ${b(p.io.readBytes)} from storage (${b(p.io.rchar)} via read calls), wrote ${b(p.io.writeBytes)} |`);
    lines.push('');
    if (p.openFiles.length > 0) {
      lines.push(`Open files (largest first; ${p.openFds ?? '?'} fds open):`, '', '| fd | File | Size |', '|---|---|---|');
      for (const f of p.openFiles) lines.push(`| ${f.fd} | \`${cell(f.path)}\` | ${formatBytes(f.sizeBytes)} |`);
      lines.push('');
    } else {
      lines.push(`No open regular files (${p.openFds ?? '?'} fds open).`, '');
    }
    if (p.children.length > 0) {
      lines.push('Children:', '', '| PID | Command | Resident |', '|---|---|---|');
      for (const c of p.children) lines.push(`| ${c.pid} | \`${cell(c.cmdline || c.comm)}\` | ${b(c.residentBytes)} |`);
      lines.push('');
    }
    const env = Object.entries(p.env);
    if (env.length > 0) {
      lines.push(`Environment variables that decide memory behaviour (allowlisted; ${p.envOthers ?? 0} other variables not recorded):`, '');
      lines.push(env.map(([k, v]) => `\`${k}\`=${v === null ? '(unset)' : `\`${cell(v)}\``}`).join(', '), '');
    }
  }
  if (e.python.status === 'captured' && e.python.text !== undefined) {
    lines.push('Python stacks (py-spy dump):', '', '```', e.python.text.replace(/```/g, "'''").trimEnd(), '```', '');
  } else {
    lines.push(`Python stacks: ${e.python.status.replace('_', ' ')}${e.python.detail !== undefined ? ` (${e.python.detail})` : ''}.`, '');
  }
  if (e.notCaptured.length > 0) {
    lines.push('Not captured:', '');
    for (const n of e.notCaptured) lines.push(`- ${cell(n)}`);
    lines.push('');
  }
  return lines;
}
