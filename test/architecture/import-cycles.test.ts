/**
 * Dependencies point one way (DEVELOPERS.md): no import cycle between the folders of src/, nor between its
 * files. Type-only imports count too: a cycle of types is still a cycle of meaning.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(fileURLToPath(new URL('../../src', import.meta.url)));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The node a file belongs to: its folder under src/ (src/notify/render/slack.ts → notify), or the file. */
function node(file: string, byFile: boolean): string {
  const rel = relative(SRC, file);
  return byFile ? rel : (rel.split('/')[0] ?? rel);
}

/** Every strongly connected component of more than one node, each with the imports that close it. */
export function importCycles(byFile: boolean): string[] {
const edges = new Map<string, Set<string>>();
for (const file of walk(SRC)) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)) {
    const target = resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'));
    const a = node(file, byFile);
    const b = node(target, byFile);
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)?.add(b);
  }
}

// Tarjan's strongly connected components: every component with more than one node is a cycle.
let index = 0;
const idx = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const on = new Set<string>();
const components: string[][] = [];
function connect(v: string): void {
  idx.set(v, index);
  low.set(v, index);
  index += 1;
  stack.push(v);
  on.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
  }
  if (low.get(v) === idx.get(v)) {
    const c: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      on.delete(w);
      c.push(w);
      if (w === v) break;
    }
    if (c.length > 1) components.push(c.sort());
  }
}
for (const v of edges.keys()) if (!idx.has(v)) connect(v);
return components.map((c) => {
  const inside = new Set(c);
  return c.flatMap((a) => [...(edges.get(a) ?? [])].filter((b) => inside.has(b)).map((b) => `${a} → ${b}`)).join(', ');
});
}

describe('imports point one way', () => {
  it('no cycle between the folders of src/', () => {
    expect(importCycles(false)).toEqual([]);
  });
  it('no cycle between the files of src/', () => {
    expect(importCycles(true)).toEqual([]);
  });
});
