// `npm run dashboards`: writes grafana/dashboards/*.json from grafana/src/dashboards.ts. Commit the result;
// test/alerting/dashboards.test.ts fails when the committed JSON differs from what this generates.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dashboards, renderDashboard } from './dashboards.js';

const outDir = fileURLToPath(new URL('../dashboards/', import.meta.url));
mkdirSync(outDir, { recursive: true });
for (const d of dashboards()) {
  const path = `${outDir}${d.file}`;
  writeFileSync(path, renderDashboard(d.json));
  process.stdout.write(`wrote ${path}\n`);
}
