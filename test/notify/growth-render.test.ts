import { describe, expect, it } from 'vitest';
import type { TreeGrowth } from '../../src/notify/events.js';
import { renderEmail } from '../../src/notify/render/email.js';
import { growingLine } from '../../src/notify/render/format.js';
import { renderSlackMessage } from '../../src/notify/render/slack.js';
import { renderText } from '../../src/notify/render/text.js';
import { action, warning } from './fixtures.js';

const MiB = 1024 * 1024;
const growth: TreeGrowth = { pid: 4242, comm: 'python3', bytesPerSecond: 210 * MiB, overSeconds: 240, exhaustionSeconds: 58, includesSwap: false, headroomBytes: 12 * 1024 * MiB };

describe('growth in notifications', () => {
  it('a warning says which tree grows, how fast, and when available memory runs out (and whether swap counts)', () => {
    expect(growingLine(growth)).toBe('PID 4242 (python3) grows 210 MiB/s (over 4 m); available memory (12.0 GiB; no swap to count) is used up in about 58 s at this rate');
    expect(growingLine({ ...growth, includesSwap: true })).toContain('available memory + free swap (12.0 GiB)');
    const n = warning({ growth });
    expect(renderText(n)).toContain('growing: PID 4242 (python3) grows 210 MiB/s');
    expect(JSON.stringify(renderSlackMessage(n))).toContain('*Growing:* PID 4242 (python3) grows 210 MiB/s');
    const mail = renderEmail(n, { subjectPrefix: '' });
    expect(mail.text).toContain('Growing:');
    expect(mail.html).toContain('is used up in about 58 s at this rate');
  });

  it('a warning without history support says nothing about growth', () => {
    const n = warning();
    expect(renderText(n)).not.toContain('growing');
    expect(JSON.stringify(renderSlackMessage(n))).not.toContain('Growing');
    expect(renderEmail(n, { subjectPrefix: '' }).text).not.toContain('Growing');
  });

  it('an action carries the growth line; the report and chart links appear only with a base URL', () => {
    const n = action({ incidentId: '20251212T031300Z-pid449948', growth: 'grew 210 MiB/s over the last 4 m', chart: '20251212T031300Z-pid449948.svg' });
    expect(renderText(n)).toContain('growth: grew 210 MiB/s over the last 4 m');
    const linked = JSON.stringify(renderSlackMessage(n, { reportBaseUrl: 'https://gpu-box-1:9632' }));
    expect(linked).toContain('*Growth:* grew 210 MiB/s over the last 4 m');
    expect(linked).toContain('<https://gpu-box-1:9632/incidents/20251212T031300Z-pid449948|Incident report>');
    expect(linked).toContain('<https://gpu-box-1:9632/incidents/20251212T031300Z-pid449948.svg|Memory chart (victim against host)>');
    expect(JSON.stringify(renderSlackMessage(n))).not.toContain('Memory chart');
    // a base URL that could break out of Slack's link syntax is not used
    expect(JSON.stringify(renderSlackMessage(n, { reportBaseUrl: 'https://x|<evil>' }))).not.toContain('Memory chart');
    const mail = renderEmail(n, { subjectPrefix: '', reportUrl: (id) => `https://gpu-box-1:9632/incidents/${encodeURIComponent(id)}` });
    expect(mail.html).toContain('<a href="https://gpu-box-1:9632/incidents/20251212T031300Z-pid449948.svg">');
    expect(mail.text).toMatch(/Chart: +https:\/\/gpu-box-1:9632\/incidents\/20251212T031300Z-pid449948\.svg/);
    expect(renderEmail(n, { subjectPrefix: '' }).text).not.toContain('Chart:');
  });
});
