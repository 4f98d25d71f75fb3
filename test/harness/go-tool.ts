// The project's small Go tools under tools/ (compose-validate, dockerfile-check, logql-check, otel-transform), each built once per
// source change into the cache: `cacheRoot()/<tool>/<hash of tools/<tool>>/<tool>`.
import { join } from 'node:path';
import { cacheRoot, contentHash, populateAtomically, repoRoot, requireGo, run } from './cache.js';

export type GoTool = 'compose-validate' | 'dockerfile-check' | 'logql-check' | 'otel-transform';

/** The tool's binary, built with `go build` when this source has not been built yet. */
export async function goTool(tool: GoTool): Promise<string> {
  const source = join(repoRoot, 'tools', tool);
  const dir = join(cacheRoot(), tool, contentHash([source], { base: source }));
  await populateAtomically(dir, async (tmp) => {
    await requireGo(`tools/${tool}`, '1.26');
    await run('go', ['build', '-o', join(tmp, tool), '.'], { cwd: source, timeoutMs: 20 * 60_000 });
  });
  return join(dir, tool);
}
