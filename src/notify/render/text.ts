import type { Notification } from '../events.js';
import { actionTitle, bytes, ellipsize, growingLine, memoryLine, oneLine, percent, processMemory, processName, seconds, shortenMiddle } from './format.js';

/** The most characters a one-line rendering may have (a log line, Slack's notification text). */
export const TEXT_MAX_CHARS = 2000;

/**
 * One plain line per notification, for the log notifier and as Slack's notification text. Pure; it says
 * the same things as the Slack message in short: what happened, to what, and the numbers that matter.
 */
export function renderText(n: Notification): string {
  const host = oneLine(n.host);
  let line: string;
  switch (n.kind) {
    case 'warning': {
      const parts = [`[${n.severity}] ${host}: ${oneLine(n.alertName)} — ${oneLine(n.summary)}`];
      if (n.memory) parts.push(`memory ${memoryLine(n.memory)}`);
      if (n.predictedExhaustionSeconds !== undefined) {
        parts.push(n.predictedExhaustionSeconds <= 0 ? 'exhaustion now' : `exhaustion in ~${seconds(n.predictedExhaustionSeconds)}`);
      }
      if (n.growth) parts.push(`growing: ${growingLine(n.growth)}`);
      const top = n.topProcesses.slice(0, 3).map((p) => `${processName(p)} ${bytes(p.treeResidentBytes ?? p.residentBytes)}`);
      if (top.length > 0) parts.push(`top: ${top.join(', ')}${n.topProcesses.length > 3 ? ` (+${n.topProcesses.length - 3})` : ''}`);
      if (n.memoryElsewhere !== undefined && n.memoryElsewhere !== '') parts.push(`no process owns: ${oneLine(n.memoryElsewhere)}`);
      line = parts.join('; ');
      break;
    }
    case 'action': {
      const p = n.target.process;
      const parts = [`[action${n.dryRun ? ', dry run' : ''}] ${host}: ${actionTitle(n.action, n.dryRun, n.target)}`];
      if (p) {
        const runtime = p.runtimeSeconds !== undefined ? `, running ${seconds(p.runtimeSeconds)}` : '';
        parts.push(`${processMemory(p)}${runtime}, cmd: ${shortenMiddle(oneLine(p.cmdline) || `[${oneLine(p.comm)}]`, 120)}`);
      }
      parts.push(`why: ${oneLine(n.reason)}`);
      if (n.diagnosis !== undefined && n.diagnosis !== '') parts.push(`diagnosis: ${oneLine(n.diagnosis)}`);
      if (n.growth !== undefined && n.growth !== '') parts.push(`growth: ${oneLine(n.growth)}`);
      const after = n.memoryAfter ? percent(n.memoryAfter.usedRatio) : '?';
      parts.push(`memory ${percent(n.memoryBefore.usedRatio)} → ${after} used`);
      if (n.freedBytes !== undefined) parts.push(`freed ${bytes(n.freedBytes)}`);
      if (n.timeToResolutionSeconds !== undefined) parts.push(`resolved in ${seconds(n.timeToResolutionSeconds)}`);
      if (n.incidentId !== undefined) parts.push(`incident ${oneLine(n.incidentId)}`);
      line = parts.join('; ');
      break;
    }
    case 'refusal': {
      const parts = [`[refusal] ${host}: nothing was stopped (${oneLine(n.alertName)}, ${oneLine(n.reasonCode)}) — ${oneLine(n.reason)}`];
      if (n.memory) parts.push(`memory ${memoryLine(n.memory)}`);
      if (n.candidates && n.candidates.length > 0) {
        parts.push(`candidates: ${n.candidates.slice(0, 3).map((p) => `${processName(p)} ${bytes(p.residentBytes)}`).join(', ')}`);
      }
      line = parts.join('; ');
      break;
    }
    case 'incident': {
      const after = n.memoryAfter ? percent(n.memoryAfter.usedRatio) : '?';
      const parts = [
        `[incident] ${host}: ${oneLine(n.alertName)} — ${n.victims.length} victim${n.victims.length === 1 ? '' : 's'} stopped, ${bytes(n.reclaimedBytes)} freed; memory ${percent(n.memoryBefore.usedRatio)} → ${after} used; ended: ${oneLine(n.closedBecause)}`,
      ];
      n.victims.slice(0, 6).forEach((v, i) => {
        const extra = `${v.exitSeconds !== undefined ? `, exit ${seconds(v.exitSeconds)}` : ''}${v.escalated ? ', SIGKILL early' : ''}`;
        parts.push(`${i + 1}. pid ${v.pid} ${shortenMiddle(oneLine(v.cmdline), 60)} held ${bytes(v.heldBytes)}${v.swapBytes ? ` (${bytes(v.swapBytes)} swap)` : ''}, freed ${bytes(v.freedBytes)}${extra}`);
      });
      if (n.victims.length > 6) parts.push(`+${n.victims.length - 6} more`);
      for (const j of n.jobs) parts.push(`${oneLine(j.commandKey)}: ${j.victims} stopped, ${j.stillRunning} more of the same command still running`);
      parts.push(`incident ${oneLine(n.incidentId)}`);
      line = parts.join('; ');
      break;
    }
    case 'resolved': {
      const lasted = n.durationSeconds !== undefined ? `; lasted ${seconds(n.durationSeconds)}` : '';
      line = `[resolved] ${host}: ${oneLine(n.alertName)} — ${oneLine(n.summary)}${lasted}`;
      break;
    }
  }
  return ellipsize(line, TEXT_MAX_CHARS);
}
