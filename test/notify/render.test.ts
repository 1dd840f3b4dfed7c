import { describe, expect, it } from 'vitest';
import type { Notification } from '../../src/notify/events.js';
import { ellipsize, shortenMiddle } from '../../src/notify/render/format.js';
import { enforceSlackLimits, escapeMrkdwn, fitEscaped, renderSlackMessage, SLACK_LIMITS, type SlackBlock, type SlackMessage } from '../../src/notify/render/slack.js';
import { renderText, TEXT_MAX_CHARS } from '../../src/notify/render/text.js';
import { blockKitProblems } from '../support/fake-slack.js';
import { action, proc, refusal, resolved, warning } from './fixtures.js';

function allText(m: SlackMessage): string {
  return m.blocks
    .map((b: SlackBlock) => {
      if (b.type === 'header') return b.text.text;
      if (b.type === 'section') return [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)].join('\n');
      if (b.type === 'context') return b.elements.map((e) => e.text).join('\n');
      return '';
    })
    .join('\n');
}

function headerOf(m: SlackMessage): string {
  const h = m.blocks[0];
  if (h?.type !== 'header') throw new Error('first block is not a header');
  return h.text.text;
}

describe('renderSlackMessage: what people read', () => {
  it('an action says what was stopped, its memory and runtime, the command line, before → after and time to resolution', () => {
    const m = renderSlackMessage(action());
    expect(blockKitProblems(m)).toEqual([]);
    expect(headerOf(m)).toBe(':rotating_light: Stopped python3 (pid 449948) on ml-box-1');
    const text = allText(m);
    expect(text).toContain('*Why:* host memory 98% used for 2 m');
    expect(text).toContain('*Its memory*\n63.0 GiB (tree 63.2 GiB, 4 processes)');
    expect(text).toContain('*Running for*\n3 h 12 m');
    expect(text).toContain('*Time to resolution*\n1 m');
    expect(text).toContain('*Freed*\n60.0 GiB');
    expect(text).toContain('```python3 pipelines/training/parallel_feature_testing.py single audusd```');
    expect(text).toMatch(/Used\s+61\.2 GiB \(99%\)\s+1\.0 GiB \(2%\)\s+-60\.2 GiB/);
    expect(text).toMatch(/Available\s+870 MiB\s+61\.0 GiB\s+\+60\.2 GiB/);
    expect(text).toMatch(/Swap used\s+8\.9 GiB\s+2\.7 GiB\s+-6\.2 GiB/);
    expect(text).toContain('incident `inc-20251212-0313`');
    expect(text).toContain('report `/var/lib/headroom/incidents/inc-20251212-0313.md`');
    expect(text).toContain('id `n-action-1`');
    expect(m.text).toContain('Stopped python3 (pid 449948)');
    expect(m.text).toContain('resolved in 1 m');
  });

  it('a dry-run action says nothing was actually stopped', () => {
    const m = renderSlackMessage(action({ dryRun: true }));
    expect(headerOf(m)).toBe(':test_tube: Dry run: would stop python3 (pid 449948) on ml-box-1');
    expect(m.text).toContain('[action, dry run]');
  });

  it('an action without an "after" yet says so instead of inventing numbers', () => {
    const { memoryAfter: _a, timeToResolutionSeconds: _t, ...rest } = action();
    const m = renderSlackMessage(rest);
    const text = allText(m);
    expect(text).toContain('*Time to resolution*\nnot yet confirmed');
    expect(text).toMatch(/Used\s+61\.2 GiB \(99%\)\s+\?/);
  });

  it('a refusal says why nothing was killed and lists the candidates', () => {
    const m = renderSlackMessage(refusal());
    expect(blockKitProblems(m)).toEqual([]);
    expect(headerOf(m)).toBe(':no_entry_sign: Nothing was stopped on ml-box-1: HostMemoryCritical');
    const text = allText(m);
    expect(text).toContain('*Why nothing was killed:* the largest process is sshd, which is protected');
    expect(text).toContain('_Reason code:_ `protected`');
    expect(text).toContain('*Candidates considered*');
    expect(text).toMatch(/812\s+30\.0 GiB\s+63\.2 GiB\s+3 h 12 m\s+\/usr\/sbin\/sshd -D \(ml\)/);
    expect(text).toContain('*Decided by*\nlocal guard (agent)');
  });

  it('a warning says what is growing, the top processes and the predicted time to exhaustion', () => {
    const m = renderSlackMessage(warning());
    expect(blockKitProblems(m)).toEqual([]);
    expect(headerOf(m)).toBe(':warning: Memory warning on ml-box-1: HostMemoryWillExhaust');
    const text = allText(m);
    expect(text).toContain('*Predicted exhaustion*\nin about 20 m at the current rate');
    expect(text).toContain('*What is growing* — the largest processes now');
    expect(text).toMatch(/449948\s+50\.0 GiB/);
    expect(text).toMatch(/1200\s+2\.0 GiB.*jupyter lab/);
    expect(text).toContain('*Memory (host)*\n90% used (56.0 GiB of 62.0 GiB), 6.0 GiB available');
    expect(text).toContain('<https://runbooks.example.com/headroom/memory|Runbook>');
    expect(m.text).toContain('exhaustion in ~20 m');
  });

  it('a warning with no trend says the exhaustion time is unknown', () => {
    const { predictedExhaustionSeconds: _p, ...rest } = warning();
    expect(allText(renderSlackMessage(rest))).toContain('*Predicted exhaustion*\nunknown');
  });

  it('resolved gives start, end and duration', () => {
    const m = renderSlackMessage(resolved());
    expect(blockKitProblems(m)).toEqual([]);
    expect(headerOf(m)).toBe(':white_check_mark: Resolved on ml-box-1: HostMemoryCritical');
    const text = allText(m);
    expect(text).toContain('*Started*\n2025-12-12 03:12:00 UTC');
    expect(text).toContain('*Lasted*\n2 m');
  });

  it('escapes mrkdwn control characters so a command line cannot ping @channel or break formatting', () => {
    const m = renderSlackMessage(
      action({ target: { process: proc(7, { comm: 'sh', cmdline: 'sh -c "echo <!channel> && cat a > b ```x```"' }) }, reason: 'a <b> & c' }),
    );
    const text = allText(m);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt; &amp;&amp; cat a &gt; b');
    expect(text).toContain("'''x'''");
    expect(text).toContain('*Why:* a &lt;b&gt; &amp; c');
    expect(m.text).not.toContain('<b>');
  });

  it('a non-http runbook URL is not turned into a link', () => {
    expect(allText(renderSlackMessage(warning({ runbookUrl: 'javascript:alert(1)|x' })))).not.toContain('Runbook');
  });
});

describe('renderSlackMessage: Slack limits with huge inputs', () => {
  const long = (n: number, unit = 'x'): string => unit.repeat(n);
  const hundreds = Array.from({ length: 200 }, (_, i) => proc(10_000 + i, { cmdline: `python3 ${long(10_000, 'a')} --index ${i}`, comm: long(300, 'c') }));
  const cases: Array<[string, Notification]> = [
    ['warning with 200 processes and 10 000-char command lines', warning({ topProcesses: hundreds, description: long(20_000, 'd'), summary: long(5000, 's') })],
    ['refusal with 200 candidates and a 10 000-char reason', refusal({ candidates: hundreds, reason: long(10_000, '<'), reasonCode: long(500, 'r') })],
    [
      'action with a 10 000-char command line and long names',
      action({
        host: long(400, 'h'),
        alertName: long(400, 'A'),
        reason: long(10_000, '&'),
        target: { process: proc(1, { comm: long(500, 'c'), cmdline: long(10_000, '>'), user: long(3000, 'u'), cgroup: long(3000, '/') }), cgroup: long(5000, 'g') },
        incidentId: long(3000, 'i'),
        incidentReportPath: long(3000, 'p'),
      }),
    ],
    ['resolved with a huge summary', resolved({ summary: long(50_000, 'z'), host: long(1000, '😀') })],
  ];

  for (const [name, n] of cases) {
    it(`${name}: within every limit, truncated with an ellipsis`, () => {
      const m = renderSlackMessage(n);
      expect(blockKitProblems(m)).toEqual([]);
      expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
      expect(m.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
      expect(headerOf(m).length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
      expect(allText(m)).toContain('…');
      // Never half an entity or half a surrogate pair at a cut.
      expect(allText(m)).not.toMatch(/&(?:a|am|amp|l|lt|g|gt)?…/);
      expect(allText(m)).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    });
  }

  it('a process table shows what fits and says how many more there are', () => {
    const m = renderSlackMessage(warning({ topProcesses: hundreds }));
    const text = allText(m);
    expect(text).toMatch(/… and 1\d\d more/);
    expect(text).toContain('10000');
  });

  it('enforceSlackLimits caps blocks at 50 and fields at 10 × 2000, whatever it is given', () => {
    const many: SlackBlock[] = Array.from({ length: 120 }, (_, i) => ({ type: 'section', text: { type: 'mrkdwn', text: `block ${i} ${long(4000)}` } }));
    const withFields: SlackBlock = { type: 'section', fields: Array.from({ length: 14 }, () => ({ type: 'mrkdwn' as const, text: long(2500) })) };
    const m = enforceSlackLimits({ text: long(50_000), blocks: [withFields, ...many] });
    expect(m.blocks).toHaveLength(50);
    expect(blockKitProblems(m)).toEqual([]);
    const last = m.blocks[49];
    expect(last?.type === 'context' ? last.elements[0]?.text : '').toBe('… 72 more blocks not shown');
  });
});

describe('text helpers', () => {
  it('ellipsize and shortenMiddle keep within the bound', () => {
    expect(ellipsize('abcdef', 4)).toBe('abc…');
    expect(ellipsize('abc', 4)).toBe('abc');
    expect(shortenMiddle('python3 /very/long/path/to/some/script.py --flag', 20)).toBe('python3 /ver… --flag');
    expect(shortenMiddle('python3 /very/long/path/to/some/script.py --flag', 20).length).toBeLessThanOrEqual(20);
  });

  it('fitEscaped never cuts an entity in half', () => {
    const escaped = escapeMrkdwn('ab&&&&');
    expect(escaped).toBe('ab&amp;&amp;&amp;&amp;');
    expect(fitEscaped(escaped, 10)).toBe('ab&amp;…');
  });
});

describe('renderText', () => {
  it('renders each kind on one line', () => {
    expect(renderText(action())).toBe(
      '[action] ml-box-1: Stopped python3 (pid 449948); 63.0 GiB (tree 63.2 GiB, 4 processes), running 3 h 12 m, cmd: python3 pipelines/training/parallel_feature_testing.py single audusd; why: host memory 98% used for 2 m; python3 (pid 449948) holds 95.7% of MemTotal; memory 99% → 2% used; freed 60.0 GiB; resolved in 1 m; incident inc-20251212-0313',
    );
    expect(renderText(refusal())).toMatch(/^\[refusal\] ml-box-1: nothing was stopped \(HostMemoryCritical, protected\) — the largest process is sshd/);
    expect(renderText(warning())).toMatch(/^\[warning\] ml-box-1: HostMemoryWillExhaust — .*exhaustion in ~20 m; top: python3 \(pid 449948\) 63\.2 GiB, jupyter \(pid 1200\) 63\.2 GiB$/);
    expect(renderText(resolved())).toBe('[resolved] ml-box-1: HostMemoryCritical — Host memory is back below 80% (2% used).; lasted 2 m');
    for (const n of [action(), refusal(), warning(), resolved()]) expect(renderText(n)).not.toContain('\n');
  });

  it('is bounded and one line even for multi-line, huge input', () => {
    const t = renderText(action({ reason: 'line1\nline2\r\n'.repeat(5000) }));
    expect(t.length).toBeLessThanOrEqual(TEXT_MAX_CHARS);
    expect(t).not.toMatch(/[\n\r]/);
  });
});
