// `npm run kubernetes`: writes deploy/kubernetes/base/generated/ from prometheus/rules/*.yml and
// grafana/dashboards/*.json (run `npm run dashboards` first when grafana/src changed). Commit the result.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderDashboardConfigMaps, renderPrometheusRule, type SourceFile } from './manifests.js';

const repo = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

export function readSources(dir: string, suffix: string): SourceFile[] {
  return readdirSync(repo(dir))
    .filter((n) => n.endsWith(suffix))
    .map((name) => ({ name, text: readFileSync(repo(`${dir}/${name}`), 'utf8') }));
}

const out = repo('deploy/kubernetes/base/generated');
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/prometheusrule.yaml`, renderPrometheusRule(readSources('prometheus/rules', '.yml')));
writeFileSync(`${out}/grafana-dashboards.yaml`, renderDashboardConfigMaps(readSources('grafana/dashboards', '.json')));
process.stdout.write(`wrote ${out}/prometheusrule.yaml and ${out}/grafana-dashboards.yaml\n`);
