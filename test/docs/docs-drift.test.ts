import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load as parseYaml } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function files(dir: string, keep: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...files(path, keep));
    else if (keep(path)) out.push(path);
  }
  return out;
}

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const ETC = /\/etc\/headroom\/[A-Za-z0-9._-]*[A-Za-z0-9]/g;

/** What people read. */
const DOCS = [...files('docs', (p) => p.endsWith('.md')), 'README.md'];
/** What actually runs: the deploy artifacts, the Alertmanager config, the compose file and the code. */
const ARTIFACTS = [
  ...files('deploy', () => true),
  ...files('alerting', (p) => p.endsWith('.yml')),
  ...files('src', (p) => p.endsWith('.ts')),
  'docker-compose.yml',
  'Dockerfile',
];

/** Paths the docs may name that no shipped artifact uses, each with the reason. */
const DOC_ONLY: Readonly<Record<string, string>> = {
  '/etc/headroom/receiver-basic-auth': 'basic auth is an alternative to the token; nothing shipped uses it',
  '/etc/headroom/web.yml': 'the exporter-toolkit web config an operator writes for a fleet (docs/fleet.md); loopback needs none',
  '/etc/headroom/tls': 'where a fleet operator puts the agent certificates (docs/fleet.md)',
  '/etc/headroom/am-ca.crt': "the fleet's Alertmanager CA, the operator's own (docs/fleet.md)",
  '/etc/headroom/am-password': "the fleet's Alertmanager API password, the operator's own (docs/fleet.md)",
  '/etc/headroom/smtp-ca.pem': "a private SMTP server's CA, only where mail goes through one (docs/notifications.md)",
};

function pathsIn(list: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of list) for (const m of read(file).matchAll(ETC)) found.set(m[0], [...(found.get(m[0]) ?? []), file]);
  return found;
}

describe('docs match what is deployed', () => {
  it('every /etc/headroom/... path in docs/ and README is one the deploy files, the Alertmanager config or the code use', () => {
    const docs = pathsIn(DOCS);
    const used = pathsIn(ARTIFACTS);
    expect(used.has('/etc/headroom/receiver-token')).toBe(true);
    const drift = [...docs]
      .filter(([path]) => !used.has(path) && DOC_ONLY[path] === undefined)
      .map(([path, where]) => `${path} (in ${where.join(', ')}) is used by no deploy file, Alertmanager config or code`);
    expect(drift).toEqual([]);
    // Two spellings of one name (receiver.token vs receiver-token) are drift even if both were used somewhere.
    const all = [...new Set([...docs.keys(), ...used.keys()])];
    const norm = (p: string): string => p.replace(/[._-]/g, '');
    const clashes = all.filter((p) => all.some((q) => q !== p && norm(q) === norm(p)));
    expect(clashes).toEqual([]);
  });

  it('every config block in the docs uses only keys the config schema knows', () => {
    const sections = new Set(Object.keys(configSchema.shape));
    let checked = 0;
    const problems: string[] = [];
    for (const file of DOCS) {
      for (const m of read(file).matchAll(/```yaml\n([\s\S]*?)```/g)) {
        let doc: unknown;
        try {
          // Reference blocks use "…" and "<size>" placeholders: make them plain values.
          doc = parseYaml((m[1] ?? '').replace(/…/g, 'x').replace(/<[^>\n]*>/g, 'x'));
        } catch (error) {
          problems.push(`${file}: a yaml block does not parse: ${String(error).split('\n')[0]}`);
          continue;
        }
        if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) continue;
        // Only blocks of headroom's own config (not Alertmanager's, Prometheus').
        if (!Object.keys(doc).every((k) => sections.has(k))) continue;
        checked += 1;
        const result = configSchema.safeParse(doc);
        const unknown = result.success ? [] : result.error.issues.filter((i) => i.code === 'unrecognized_keys');
        for (const i of unknown) problems.push(`${relative(ROOT, join(ROOT, file))}: ${[...i.path, ...('keys' in i ? i.keys : [])].join('.')}: not a config key`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('docs/receiver.md says what max_alerts: 0 means (no limit: nothing is truncated), as the receiver code assumes', () => {
    const text = read('docs/receiver.md');
    const line = text.split('\n').find((l) => /max_alerts:\s*0/.test(l));
    expect(line).toBeDefined();
    expect(line).toMatch(/no limit|every alert|nothing is truncated/i);
    expect(line).not.toMatch(/a truncated notification is never acted on\s*$/);
    // The receiver refuses a truncated notification and tells the operator to raise max_alerts.
    expect(read('src/receiver/triggers.ts')).toMatch(/raise max_alerts/);
  });
});
