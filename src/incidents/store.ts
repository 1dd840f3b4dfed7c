import { mkdirSync, readFileSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../procfs/file-reader.js';
import { renderIncident } from './render.js';
import type { IncidentRecord } from './types.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether a string is a valid incident id (also guards `headroom incidents show` against paths). */
export function isIncidentId(id: string): boolean {
  return ID.test(id) && !id.includes('..');
}

/** "20251212T031300Z-pid449948": sortable, readable, unique per host (a suffix is added on collision). */
export function incidentId(at: Date, subject: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${subject.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'host'}`;
}

/** incidents/<id>.md plus incidents/index.jsonl (one IncidentRecord per line) under the state dir. */
export class IncidentStore {
  constructor(readonly dir: string) {}

  private get indexPath(): string {
    return join(this.dir, 'index.jsonl');
  }

  list(): IncidentRecord[] {
    let text: string;
    try {
      text = readFileSync(this.indexPath, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as IncidentRecord);
  }

  /** Renders and writes the report, appends the index line; returns the record (with a unique id) and path. */
  save(record: IncidentRecord, chartSvg?: string): { record: IncidentRecord; path: string } {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    const earlier = this.list();
    let id = record.id;
    for (let n = 2; existsSync(join(this.dir, `${id}.md`)) || earlier.some((e) => e.id === id); n++) id = `${record.id}-${n}`;
    // The memory-over-time chart (issue #11) sits next to the report as <id>.svg, linked from it.
    const chart = chartSvg !== undefined && record.growth !== undefined ? `${id}.svg` : undefined;
    if (chart !== undefined) writeFileSync(join(this.dir, chart), chartSvg as string, { mode: 0o640 });
    const rec = { ...record, id, ...(chart !== undefined && record.growth ? { growth: { ...record.growth, chart } } : {}) };
    const path = join(this.dir, `${id}.md`);
    writeFileSync(path, renderIncident(rec, earlier), { mode: 0o640 });
    appendFileSync(this.indexPath, `${JSON.stringify(rec)}\n`, { mode: 0o640 });
    return { record: rec, path };
  }

  /** The chart of one incident (SVG text), or undefined when there is none. */
  chart(id: string): string | undefined {
    if (!isIncidentId(id)) return undefined;
    try {
      return readFileSync(join(this.dir, `${id}.svg`), 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** The Markdown report of one incident, or undefined when there is none. */
  show(id: string): string | undefined {
    if (!isIncidentId(id)) return undefined;
    try {
      return readFileSync(join(this.dir, `${id}.md`), 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }
}
