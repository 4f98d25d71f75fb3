// Writes the LGTMP dashboards as JSON into stack/grafana/dashboards/, the folder Grafana
// provisions (stack/grafana/provisioning/dashboards/dashboards.yaml, mounted at
// /var/lib/grafana/dashboards).
//
//   npm run dashboards                              (= tsc -b && node dist/dashboards/generate.js)
//   node dist/dashboards/generate.js --check        exit 1 if the committed JSON is stale

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

import { overviewDashboard } from './overview.js';
import { serviceDashboard } from './service.js';
import { repoRoot } from '../src/project.js';

export const outputDir = (): string => join(repoRoot, 'stack', 'grafana', 'dashboards');

export interface RenderedDashboard {
  file: string;
  dashboard: Dashboard;
  json: string;
}

/** Every dashboard, rendered exactly as it is written to disk. */
export function renderDashboards(): RenderedDashboard[] {
  return [overviewDashboard(), serviceDashboard()].map((dashboard) => ({
    file: `${dashboard.uid}.json`,
    dashboard,
    json: `${JSON.stringify(dashboard, null, 2)}\n`,
  }));
}

/** Files in the output folder that differ from what the code generates (missing, stale or extra). */
export function staleFiles(dir = outputDir()): string[] {
  const rendered = renderDashboards();
  const stale: string[] = [];
  for (const r of rendered) {
    let current: string | undefined;
    try {
      current = readFileSync(join(dir, r.file), 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== r.json) stale.push(r.file);
  }
  const expected = new Set(rendered.map((r) => r.file));
  for (const f of readdirSync(dir)) if (f.endsWith('.json') && !expected.has(f)) stale.push(f);
  return stale;
}

function main(argv: string[]): number {
  const dir = outputDir();
  if (argv.includes('--check')) {
    const stale = staleFiles(dir);
    if (stale.length > 0) {
      console.error(`stale dashboards in ${dir}: ${stale.join(', ')}; run \`npm run dashboards\``);
      return 1;
    }
    console.log(`dashboards in ${dir} are up to date`);
    return 0;
  }
  mkdirSync(dir, { recursive: true });
  for (const r of renderDashboards()) {
    writeFileSync(join(dir, r.file), r.json);
    console.log(`wrote ${join(dir, r.file)}`);
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
