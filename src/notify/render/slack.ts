import type {
  ActionNotification,
  IncidentNotification,
  MemorySummary,
  Notification,
  ProcessSummary,
  RefusalNotification,
  ResolvedNotification,
  WarningNotification,
} from '../events.js';
import {
  actionTitle,
  bytes,
  ellipsize,
  growingLine,
  memoryLine,
  oneLine,
  percent,
  processMemory,
  podName,
  processName,
  seconds,
  shortenMiddle,
  swapLine,
  timestamp,
  usedBytes,
} from './format.js';
import { renderText } from './text.js';

/**
 * Block Kit rendering of a notification: a pure function, so what people read is tested alone. Every text is
 * escaped for mrkdwn and fitted to Slack's limits; a huge input is truncated with "…", never an error.
 */

export interface PlainText {
  readonly type: 'plain_text';
  readonly text: string;
  readonly emoji?: boolean;
}
export interface MrkdwnText {
  readonly type: 'mrkdwn';
  readonly text: string;
}
export type TextObject = PlainText | MrkdwnText;

export interface HeaderBlock {
  readonly type: 'header';
  readonly text: PlainText;
}
export interface SectionBlock {
  readonly type: 'section';
  readonly text?: TextObject;
  readonly fields?: readonly TextObject[];
}
export interface ContextBlock {
  readonly type: 'context';
  readonly elements: readonly TextObject[];
}
export interface DividerBlock {
  readonly type: 'divider';
}
export type SlackBlock = HeaderBlock | SectionBlock | ContextBlock | DividerBlock;

/** What is posted to the webhook: `text` is the notification/fallback line, `blocks` the message. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

/** Slack's documented limits (Block Kit reference: blocks, header, section, context). */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextElements: 10,
  contextText: 3000,
  /** Slack truncates `text` at 40 000; a notification line has no use for more than this. */
  fallbackText: 3000,
} as const;

/** Rows shown in a process table before "… and N more". The section limit may cut further. */
const MAX_TABLE_ROWS = 15;
const TABLE_CMDLINE_CHARS = 90;
const TARGET_CMDLINE_CHARS = 600;

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Fits already-escaped mrkdwn into `max` characters without cutting an entity ("&am…") in half. */
export function fitEscaped(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  let cut = ellipsize(escaped, max).slice(0, -1);
  cut = cut.replace(/&(?:a|am|amp|l|lt|g|gt)?$/, '');
  return `${cut}…`;
}

function md(text: string): MrkdwnText {
  return { type: 'mrkdwn', text };
}

function header(text: string): HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text: ellipsize(oneLine(text), SLACK_LIMITS.headerText), emoji: true } };
}

function section(text: string): SectionBlock {
  return { type: 'section', text: md(fitEscaped(text, SLACK_LIMITS.sectionText)) };
}

/** A two-column field: "*Label*\nvalue" (value escaped here). */
function field(label: string, value: string): MrkdwnText {
  return md(fitEscaped(`*${label}*\n${escapeMrkdwn(value)}`, SLACK_LIMITS.fieldText));
}

function fields(list: readonly MrkdwnText[]): SectionBlock[] {
  const out: SectionBlock[] = [];
  for (let i = 0; i < list.length; i += SLACK_LIMITS.sectionFields) {
    out.push({ type: 'section', fields: list.slice(i, i + SLACK_LIMITS.sectionFields) });
  }
  return out;
}

function codeSafe(text: string): string {
  return escapeMrkdwn(text.replace(/`/g, "'"));
}

/**
 * A titled preformatted block whose rows are added while they fit in one section; the rest is summarised as
 * "… and N more". Rows are raw text (escaped here).
 */
function tableSection(title: string, head: string, rows: readonly string[], max = SLACK_LIMITS.sectionText): SectionBlock {
  const open = `${title}\n\`\`\`\n${codeSafe(head)}`;
  const close = '\n```';
  let body = open;
  let shown = 0;
  for (const row of rows.slice(0, MAX_TABLE_ROWS)) {
    const more = rows.length - shown - 1;
    const reserve = more > 0 ? `\n… and ${more} more`.length : 0;
    const line = `\n${codeSafe(row)}`;
    if (body.length + line.length + reserve + close.length > max) break;
    body += line;
    shown += 1;
  }
  if (shown < rows.length) body += `\n… and ${rows.length - shown} more`;
  if (body.length + close.length > max) body = fitEscaped(body, max - close.length);
  return { type: 'section', text: md(body + close) };
}

function processRows(list: readonly ProcessSummary[]): { head: string; rows: string[] } {
  const head = `${'PID'.padStart(8)}  ${'RESIDENT'.padStart(9)}  ${'TREE'.padStart(9)}  ${'RUNTIME'.padEnd(9)}  COMMAND`;
  const rows = list.map((p) => {
    const tree = p.treeResidentBytes !== undefined ? bytes(p.treeResidentBytes) : '';
    const runtime = p.runtimeSeconds !== undefined ? seconds(p.runtimeSeconds) : '';
    const cmd = oneLine(p.cmdline) || `[${oneLine(p.comm)}]`;
    const user = p.user !== undefined ? ` (${oneLine(p.user)})` : '';
    return `${String(p.pid).padStart(8)}  ${bytes(p.residentBytes).padStart(9)}  ${tree.padStart(9)}  ${runtime.padEnd(9)}  ${shortenMiddle(cmd, TABLE_CMDLINE_CHARS)}${user}`;
  });
  return { head, rows };
}

function memoryFields(m: MemorySummary, label = 'Memory'): MrkdwnText[] {
  const out = [field(m.scope !== undefined ? `${label} (${oneLine(m.scope)})` : label, memoryLine(m))];
  const swap = swapLine(m);
  if (swap !== undefined) out.push(field('Swap', swap));
  return out;
}

function footer(n: Notification, extra: readonly string[] = []): ContextBlock {
  const machine = n.machine === undefined ? '' : ` (${escapeMrkdwn(oneLine(n.machine))})`;
  const parts = [`headroom on *${escapeMrkdwn(oneLine(n.host))}*${machine}`, `alert ${escapeMrkdwn(oneLine(n.alertName))}`, timestamp(n.at), ...extra, `id \`${codeSafe(oneLine(n.id))}\``];
  return { type: 'context', elements: [md(fitEscaped(parts.join('  ·  '), SLACK_LIMITS.contextText))] };
}

function renderWarning(n: WarningNotification): SlackBlock[] {
  const icon = n.severity === 'warning' ? ':warning:' : ':information_source:';
  const blocks: SlackBlock[] = [header(`${icon} ${n.severity === 'warning' ? 'Memory warning' : 'Memory notice'} on ${n.host}: ${n.alertName}`)];
  const text = [`*${escapeMrkdwn(oneLine(n.summary))}*`];
  if (n.description !== undefined && n.description.trim() !== '') text.push(escapeMrkdwn(n.description.trim()));
  blocks.push(section(text.join('\n')));
  const list: MrkdwnText[] = [];
  if (n.memory) list.push(...memoryFields(n.memory));
  list.push(
    field(
      'Predicted exhaustion',
      n.predictedExhaustionSeconds === undefined
        ? 'unknown (no steady trend)'
        : n.predictedExhaustionSeconds <= 0
          ? 'now'
          : `in about ${seconds(n.predictedExhaustionSeconds)} at the current rate`,
    ),
  );
  list.push(field('Since', timestamp(n.startsAt)));
  blocks.push(...fields(list));
  if (n.growth) blocks.push(section(`*Growing:* ${escapeMrkdwn(growingLine(n.growth))}`));
  if (n.topProcesses.length > 0) {
    const { head, rows } = processRows(n.topProcesses);
    blocks.push(tableSection('*What is growing* — the largest processes now', head, rows));
  }
  if (n.memoryElsewhere !== undefined && n.memoryElsewhere.trim() !== '') {
    blocks.push(section(`*Memory no process owns:* ${escapeMrkdwn(n.memoryElsewhere.trim())}`));
  }
  if (n.runbookUrl !== undefined && /^https?:\/\/[^\s<>|]+$/.test(n.runbookUrl)) {
    blocks.push(section(`:book: <${n.runbookUrl}|Runbook>`));
  }
  blocks.push(footer(n));
  return blocks;
}

function memoryTable(before: MemorySummary, after: MemorySummary | undefined): { head: string; rows: string[] } {
  const col = (s: string): string => s.padEnd(17);
  const delta = (a: number | undefined, b: number | undefined): string =>
    a === undefined || b === undefined ? '' : `${b - a >= 0 ? '+' : ''}${bytes(b - a)}`;
  const head = `${col('')}${col('Before')}${col('After')}Change`;
  const used = (m: MemorySummary): string => `${bytes(usedBytes(m))} (${percent(m.usedRatio)})`;
  const rows = [
    `${col('Used')}${col(used(before))}${col(after ? used(after) : '?')}${delta(usedBytes(before), after ? usedBytes(after) : undefined)}`,
    `${col('Available')}${col(bytes(before.availableBytes))}${col(after ? bytes(after.availableBytes) : '?')}${delta(before.availableBytes, after?.availableBytes)}`,
  ];
  if (before.swapUsedBytes !== undefined || after?.swapUsedBytes !== undefined) {
    rows.push(
      `${col('Swap used')}${col(bytes(before.swapUsedBytes))}${col(after ? bytes(after.swapUsedBytes) : '?')}${delta(before.swapUsedBytes, after?.swapUsedBytes)}`,
    );
  }
  return { head, rows };
}

export interface SlackRenderOptions {
  /** The agent's page (notify.slack.report_base_url): links to /incidents/<id> and its chart. */
  readonly reportBaseUrl?: string;
}

/** Links to the report and its memory chart, when the agent's page address is configured. */
function reportLinks(incidentId: string | undefined, chart: string | undefined, opts: SlackRenderOptions): SlackBlock[] {
  const base = opts.reportBaseUrl?.replace(/\/+$/, '');
  if (base === undefined || !/^https?:\/\/[^\s<>|]+$/.test(base) || incidentId === undefined) return [];
  const links = [`<${base}/incidents/${encodeURIComponent(incidentId)}|Incident report>`];
  if (chart !== undefined) links.push(`<${base}/incidents/${encodeURIComponent(chart)}|Memory chart (victim against host)>`);
  return [section(`:bar_chart: ${links.join('  ·  ')}`)];
}

function renderAction(n: ActionNotification, opts: SlackRenderOptions): SlackBlock[] {
  const icon = n.dryRun ? ':test_tube:' : ':rotating_light:';
  const blocks: SlackBlock[] = [header(`${icon} ${actionTitle(n.action, n.dryRun, n.target)} on ${n.host}`)];
  blocks.push(section(`*Why:* ${escapeMrkdwn(n.reason.trim())}`));
  if (n.diagnosis !== undefined && n.diagnosis.trim() !== '') blocks.push(section(`*Diagnosis:* ${escapeMrkdwn(oneLine(n.diagnosis))}`));
  if (n.growth !== undefined && n.growth.trim() !== '') blocks.push(section(`*Growth:* ${escapeMrkdwn(oneLine(n.growth))}`));
  const list: MrkdwnText[] = [];
  const p = n.target.process;
  if (p) {
    list.push(field('Target', processName(p)));
    const pod = podName(p); // kube
    if (pod !== undefined) list.push(field('Pod', pod));
    if (p.user !== undefined) list.push(field('User', oneLine(p.user)));
    list.push(field('Its memory', processMemory(p)));
    if (p.runtimeSeconds !== undefined) list.push(field('Running for', seconds(p.runtimeSeconds)));
    if (p.cpuSeconds !== undefined) list.push(field('CPU time', seconds(p.cpuSeconds)));
  }
  const cgroup = n.target.cgroup ?? p?.cgroup;
  if (cgroup !== undefined) list.push(field('Cgroup', oneLine(cgroup)));
  if (n.freedBytes !== undefined) list.push(field('Freed', bytes(n.freedBytes)));
  list.push(field('Time to resolution', n.timeToResolutionSeconds !== undefined ? seconds(n.timeToResolutionSeconds) : 'not yet confirmed'));
  list.push(field('Decided by', n.source === 'guard' ? 'local guard (agent)' : 'remediation receiver (Alertmanager)'));
  blocks.push(...fields(list));
  if (p) {
    const cmd = oneLine(p.cmdline) || `[${oneLine(p.comm)}]`;
    blocks.push(section(`*Command line*\n\`\`\`${codeSafe(shortenMiddle(cmd, TARGET_CMDLINE_CHARS))}\`\`\``));
  }
  const { head, rows } = memoryTable(n.memoryBefore, n.memoryAfter);
  const scope = n.memoryBefore.scope !== undefined ? ` (${escapeMrkdwn(oneLine(n.memoryBefore.scope))})` : '';
  blocks.push(tableSection(`*Memory before → after*${scope}`, head, rows));
  blocks.push(...reportLinks(n.incidentId, n.chart, opts));
  const extra: string[] = [];
  if (n.incidentId !== undefined) extra.push(`incident \`${codeSafe(oneLine(n.incidentId))}\``);
  if (n.incidentReportPath !== undefined) extra.push(`report \`${codeSafe(oneLine(n.incidentReportPath))}\``);
  blocks.push(footer(n, extra));
  return blocks;
}

function renderRefusal(n: RefusalNotification): SlackBlock[] {
  const blocks: SlackBlock[] = [header(`:no_entry_sign: Nothing was stopped on ${n.host}: ${n.alertName}`)];
  blocks.push(section(`*Why nothing was killed:* ${escapeMrkdwn(n.reason.trim())}\n_Reason code:_ \`${codeSafe(oneLine(n.reasonCode))}\``));
  const list: MrkdwnText[] = [field('Decided by', n.source === 'guard' ? 'local guard (agent)' : 'remediation receiver (Alertmanager)')];
  if (n.memory) list.push(...memoryFields(n.memory));
  blocks.push(...fields(list));
  if (n.candidates && n.candidates.length > 0) {
    const { head, rows } = processRows(n.candidates);
    blocks.push(tableSection('*Candidates considered*', head, rows));
  }
  blocks.push(footer(n));
  return blocks;
}

function renderResolved(n: ResolvedNotification): SlackBlock[] {
  const blocks: SlackBlock[] = [header(`:white_check_mark: Resolved on ${n.host}: ${n.alertName}`)];
  blocks.push(section(escapeMrkdwn(n.summary.trim()) || 'Resolved.'));
  const list = [field('Started', timestamp(n.startsAt)), field('Ended', timestamp(n.endsAt))];
  if (n.durationSeconds !== undefined) list.push(field('Lasted', seconds(n.durationSeconds)));
  blocks.push(...fields(list));
  blocks.push(footer(n));
  return blocks;
}

function renderIncidentSummary(n: IncidentNotification, opts: SlackRenderOptions): SlackBlock[] {
  const blocks: SlackBlock[] = [header(`:rotating_light: Incident on ${n.host} ended (${n.closedBecause}): ${n.victims.length} stopped`)];
  blocks.push(section(escapeMrkdwn(n.reason)));
  const rows = n.victims.map((v, i) => `${i + 1}. pid ${v.pid} ${codeSafe(shortenMiddle(oneLine(v.cmdline), 50))} held ${bytes(v.heldBytes)}${v.swapBytes ? ` (${bytes(v.swapBytes)} swap)` : ''} freed ${bytes(v.freedBytes)}${v.exitSeconds !== undefined ? ` exit ${seconds(v.exitSeconds)}` : ''}${v.escalated ? ' SIGKILL early' : ''}`);
  blocks.push(tableSection('Victims, in order', '#  process / held / freed', rows));
  if (n.jobs.length > 0) blocks.push(section(n.jobs.map((j) => `*${escapeMrkdwn(j.commandKey)}*: ${j.victims} stopped, ${j.stillRunning} more of the same command still running`).join('\n')));
  const list = [field('Freed', bytes(n.reclaimedBytes)), field('Memory', `${percent(n.memoryBefore.usedRatio)} → ${n.memoryAfter ? percent(n.memoryAfter.usedRatio) : '?'} used`)];
  if (n.durationSeconds !== undefined) list.push(field('Lasted', seconds(n.durationSeconds)));
  blocks.push(...fields(list));
  blocks.push(...reportLinks(n.incidentId, n.chart, opts));
  blocks.push(footer(n, [`incident ${escapeMrkdwn(n.incidentId)}`]));
  return blocks;
}

/** Last line of defence: whatever the builders produced, the message satisfies Slack's limits. */
export function enforceSlackLimits(message: SlackMessage): SlackMessage {
  const fit = (t: TextObject, max: number): TextObject =>
    t.type === 'plain_text' ? { ...t, text: ellipsize(t.text, max) } : { ...t, text: fitEscaped(t.text, max) };
  let blocks: SlackBlock[] = message.blocks.map((b): SlackBlock => {
    switch (b.type) {
      case 'header':
        return { type: 'header', text: { ...b.text, text: ellipsize(b.text.text, SLACK_LIMITS.headerText) } };
      case 'section': {
        const out: { type: 'section'; text?: TextObject; fields?: TextObject[] } = { type: 'section' };
        if (b.text) out.text = fit(b.text, SLACK_LIMITS.sectionText);
        if (b.fields) out.fields = b.fields.slice(0, SLACK_LIMITS.sectionFields).map((f) => fit(f, SLACK_LIMITS.fieldText));
        return out;
      }
      case 'context':
        return { type: 'context', elements: b.elements.slice(0, SLACK_LIMITS.contextElements).map((e) => fit(e, SLACK_LIMITS.contextText)) };
      case 'divider':
        return b;
    }
  });
  if (blocks.length > SLACK_LIMITS.blocksPerMessage) {
    const dropped = blocks.length - (SLACK_LIMITS.blocksPerMessage - 1);
    blocks = [...blocks.slice(0, SLACK_LIMITS.blocksPerMessage - 1), { type: 'context', elements: [md(`… ${dropped} more blocks not shown`)] }];
  }
  return { text: fitEscaped(message.text, SLACK_LIMITS.fallbackText), blocks };
}

/** The Slack message for a notification. Pure; never throws for any notification value. */
export function renderSlackMessage(n: Notification, opts: SlackRenderOptions = {}): SlackMessage {
  let blocks: SlackBlock[];
  switch (n.kind) {
    case 'warning':
      blocks = renderWarning(n);
      break;
    case 'action':
      blocks = renderAction(n, opts);
      break;
    case 'refusal':
      blocks = renderRefusal(n);
      break;
    case 'resolved':
      blocks = renderResolved(n);
      break;
    case 'incident':
      blocks = renderIncidentSummary(n, opts);
      break;
  }
  // Slack escapes nothing in `text` either: the notification line goes through the same escaping.
  return enforceSlackLimits({ text: escapeMrkdwn(renderText(n)), blocks });
}
