// Every demo app the shared integration test (test/apps.test.ts) runs. Each test/apps/<lang>.ts exports its AppSpec.
import type { AppSpec } from '../harness/app-spec.js';
import { goApp } from './go.js';
import { javaApp } from './java.js';
import { nodeApp } from './node.js';
import { pythonApp } from './python.js';

export const allApps: AppSpec[] = [goApp, javaApp, pythonApp, nodeApp];

const languages = allApps.map((a) => a.language);

/** The apps LGTMP_APPS selects (a comma list of languages, e.g. `go,java`), or all of them. */
export function selectedApps(): AppSpec[] {
  const filter = (process.env.LGTMP_APPS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of filter) {
    if (!(languages as string[]).includes(f)) throw new Error(`LGTMP_APPS: unknown language ${f} (known: ${languages.join(', ')})`);
  }
  return filter.length ? allApps.filter((a) => filter.includes(a.language)) : allApps;
}
