import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderMemoryChart } from '../../src/history/chart.js';
import { IncidentStore } from '../../src/incidents/store.js';
import { saveIncident } from '../status/helpers.js';
import { startPage } from './support.js';

/** The incident's chart next to its report: /incidents/<id>.svg, image/svg+xml, the report's auth. */
describe('incident chart served next to the report', () => {
  let dir: string;
  const closers: Array<() => Promise<void>> = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), `headroom-growth-route-${process.pid}-`));
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  const chart = renderMemoryChart({ title: 'Memory on test-host <b>', host: [{ atMs: 0, totalBytes: 8 << 30, availableBytes: 4 << 30 }, { atMs: 60_000, totalBytes: 8 << 30, availableBytes: 1 << 30 }], marks: [{ label: 'action', atMs: 60_000 }] });

  function saveWithChart(): string {
    // The same store the pipeline writes to: the record (with a Growth section) and <id>.svg next to it.
    const base = saveIncident(join(dir, 'scratch'));
    const store = new IncidentStore(join(dir, 'state', 'incidents'));
    const saved = store.save({ ...base, id: '20251212T031300Z-pid7', growth: { historyFrom: '2025-12-12T03:12:00.000Z', rateBytesPerSecond: 50 << 20, rateOverSeconds: 60, tree: { pid: 7, comm: 'python3', samples: 5 } } }, chart);
    expect(saved.record.growth?.chart).toBe('20251212T031300Z-pid7.svg');
    return saved.record.id;
  }

  it('serves the SVG with its content type; the HTML report shows the Growth section, the chart inline and its link', async () => {
    const id = saveWithChart();
    const p = await startPage({ remediation: { state_dir: join(dir, 'state') } });
    closers.push(p.close);
    const res = await fetch(`${p.url}/incidents/${id}.svg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(chart);
    const page = await (await fetch(`${p.url}/incidents/${id}`)).text();
    expect(page).toContain('<section id="growth"><h2>Growth</h2>');
    expect(page).toContain('<b>50.0 MiB/s</b>');
    expect(page).toContain('src="data:image/svg+xml;base64,');
    expect(page).toContain(`<a href="${id}.svg">Memory chart (SVG)</a>`);
    expect((await fetch(`${p.url}/incidents/no-such.svg`)).status).toBe(404);
    expect((await fetch(`${p.url}/incidents/..%2Fx.svg`)).status).toBe(400);
    const md = new IncidentStore(join(dir, 'state', 'incidents')).show(id) ?? '';
    expect(md).toContain(`Chart: [memory over time, victim against host](${id}.svg)`);
  });

  it('needs the same credentials as the report on a non-loopback listener', async () => {
    const id = saveWithChart();
    writeFileSync(join(dir, 'token'), 's3cret-token\n');
    const p = await startPage({ remediation: { state_dir: join(dir, 'state') }, receiver: { auth: { token_file: join(dir, 'token') } } }, '192.0.2.10');
    closers.push(p.close);
    expect((await fetch(`${p.url}/incidents/${id}.svg`)).status).toBe(401);
    expect((await fetch(`${p.url}/incidents/${id}.svg`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${p.url}/incidents/${id}.svg`, { headers: { authorization: 'Bearer s3cret-token' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  });
});
