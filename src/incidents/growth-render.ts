import { formatBytes, formatDuration } from '../config/units.js';
import type { GrowthMoment, IncidentGrowth } from './types.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
const time = (iso: string): string => `${iso.slice(0, 19).replace('T', ' ')} UTC`;

/** "210 MiB/s" (a shrinking tree: "-3.0 MiB/s"). */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

function host(m: GrowthMoment | undefined): string {
  if (m?.hostUsedBytes === undefined) return 'no sample';
  const share = m.hostTotalBytes ? ` (${Math.round((100 * m.hostUsedBytes) / m.hostTotalBytes)}%)` : '';
  return `${formatBytes(m.hostUsedBytes)} used${share}${m.hostSwapUsedBytes ? `, swap ${formatBytes(m.hostSwapUsedBytes)}` : ''}`;
}

const tree = (m: GrowthMoment | undefined): string => (m?.treeBytes === undefined ? 'no sample' : formatBytes(m.treeBytes));

/** One sentence: "grew 210 MiB/s over the last 4 m 0 s; growth began 12:01:05 UTC at 1.2 GiB". */
export function growthSentence(g: IncidentGrowth): string | undefined {
  if (g.noHistory !== undefined) return undefined;
  const parts: string[] = [];
  if (g.rateBytesPerSecond !== undefined && g.rateOverSeconds !== undefined) parts.push(`grew ${formatRate(g.rateBytesPerSecond)} over the last ${formatDuration(g.rateOverSeconds * 1000)}`);
  if (g.began) parts.push(`${g.beganBeforeHistory ? 'growing since at least' : 'growth began'} ${time(g.began.at)} at ${tree(g.began)}`);
  return parts.length === 0 ? undefined : parts.join('; ');
}

/** The report's "Growth" section (pure Markdown lines); absent history is said, never filled in. */
export function renderGrowthSection(g: IncidentGrowth, chartLink?: string): string[] {
  const lines: string[] = ['## Growth', ''];
  if (g.noHistory !== undefined) return [...lines, `${cell(g.noHistory)}.`, ''];
  const who = g.tree
    ? `${g.tree.containsVictim ? 'the job tree containing the victim, ' : ''}PID ${g.tree.pid} (${cell(g.tree.comm)}), ${g.tree.samples} sample${g.tree.samples === 1 ? '' : 's'}`
    : (g.treeMissing ?? 'the victim has no series');
  lines.push(`From the agent's in-memory history (since ${g.historyFrom ? time(g.historyFrom) : '—'}): ${who}.`, '');
  if (g.rateBytesPerSecond !== undefined && g.rateOverSeconds !== undefined) {
    lines.push(`**Rate**: ${formatRate(g.rateBytesPerSecond)} (least squares over the last ${formatDuration(g.rateOverSeconds * 1000)} before the action).  `);
  } else {
    lines.push('**Rate**: not known (fewer than two samples 10 s apart in the last 5 minutes).  ');
  }
  if (g.began) {
    lines.push(
      g.beganBeforeHistory
        ? `**Growth began**: at or before ${time(g.began.at)}, the first sample of the history (${tree(g.began)}); earlier is not known.`
        : `**Growth began**: ${time(g.began.at)} at ${tree(g.began)} (the start of sustained growth: the tree never fell back below it by more than 5 % of its size at the action).`,
    );
  } else {
    lines.push('**Growth began**: the history shows no sustained growth (less than 10 % since its lowest point).');
  }
  if (g.warningToActionSeconds !== undefined) lines.push('', `**First warning → action**: ${formatDuration(g.warningToActionSeconds * 1000)}.`);
  lines.push('', '| Moment | Time | Victim | Host memory |', '|---|---|---|---|');
  const row = (name: string, m: GrowthMoment | undefined): void => {
    if (m) lines.push(`| ${name} | ${time(m.at)} | ${tree(m)} | ${host(m)} |`);
  };
  row('Growth began', g.began);
  row('First warning', g.firstWarning);
  row('Critical (guard crossing or alert)', g.critical);
  row('Action', g.action);
  lines.push('');
  if (chartLink !== undefined) lines.push(`Chart: [memory over time, victim against host](${chartLink})`, '');
  return lines;
}
