// Python virtualenvs in the tests' cache (the python-demo-app's, the linters'): found Python, built in place once
// per content hash under the cache lock, marked complete only at the end so an interrupted build is redone.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, withCacheLock } from './cache.js';

const MARKER = '.lgtmp-complete';

/** The python3 to build virtualenvs with ($LGTMP_PYTHON, else python3): 3.10+ with venv; else an error naming `who`. */
export async function findPython(who: string): Promise<string> {
  const python = process.env.LGTMP_PYTHON ?? 'python3';
  let version: string;
  try {
    const r = await run(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
    version = r.stdout.trim();
  } catch (e) {
    throw new Error(
      `${who} needs Python 3.10+ ('${python}' could not be run: ${e instanceof Error ? e.message : String(e)}). ` +
        'Install python3 and python3-venv (Debian/Ubuntu: apt-get install python3 python3-venv), or set LGTMP_PYTHON.',
    );
  }
  const [major, minor] = version.split('.').map(Number);
  if (major !== 3 || minor === undefined || minor < 10) {
    throw new Error(`${who} needs Python 3.10+, but '${python}' is ${version}; set LGTMP_PYTHON to a newer python3.`);
  }
  const venvOk = await run(python, ['-c', 'import venv, ensurepip'], { allowFailure: true });
  if (venvOk.code !== 0) {
    throw new Error(
      `'${python}' has no working venv/ensurepip module, needed to build the virtualenv for ${who}. ` +
        'Debian/Ubuntu: apt-get install python3-venv.\n' + venvOk.stderr.trim(),
    );
  }
  return python;
}

/** Environment for pip: quiet about its own version, no .pyc files written into the sources. */
export const PIP_ENV: NodeJS.ProcessEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONDONTWRITEBYTECODE: '1' };
export const PIP_QUIET = ['--disable-pip-version-check', '--no-input', '-q'];

/**
 * The virtualenv at `venv` (a path whose name carries the content hash of what goes into it): created with
 * findPython(who), then `install(venvPython)` fills it. Returns `venv`.
 */
export async function ensureVenv(venv: string, who: string, install: (python: string) => Promise<void>): Promise<string> {
  if (existsSync(join(venv, MARKER))) return venv;
  const python = await findPython(who);
  return withCacheLock(venv, async () => {
    if (existsSync(join(venv, MARKER))) return venv; // built by the process we waited for
    rmSync(venv, { recursive: true, force: true }); // what an interrupted build left
    await run(python, ['-m', 'venv', venv], { timeoutMs: 5 * 60_000 });
    await install(join(venv, 'bin', 'python'));
    writeFileSync(join(venv, MARKER), '');
    return venv;
  });
}
