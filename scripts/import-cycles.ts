/**
 * Lists import cycles between the folders (and files) of src/: `npx tsx scripts/import-cycles.ts [--files]`.
 * Exits 1 when there is one. Type-only imports count too: a cycle of types is still a cycle of meaning.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(fileURLToPath(new URL('../src', import.meta.url)));
const byFile = process.argv.includes('--files');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The node a file belongs to: its folder under src/ (src/notify/render/slack.ts → notify), or the file. */
function node(file: string): string {
  const rel = relative(SRC, file);
  return byFile ? rel : (rel.split('/')[0] ?? rel);
}

const edges = new Map<string, Set<string>>();
for (const file of walk(SRC)) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)) {
    const target = resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'));
    const a = node(file);
    const b = node(target);
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
for (const c of components) {
  const inside = new Set(c);
  const links = c.flatMap((a) => [...(edges.get(a) ?? [])].filter((b) => inside.has(b)).map((b) => `${a} → ${b}`));
  console.log(`cycle among ${c.join(', ')}:\n  ${links.join('\n  ')}`);
}
console.log(`${components.length} import cycle(s) between ${byFile ? 'files' : 'folders'} of src/`);
process.exitCode = components.length > 0 ? 1 : 0;
