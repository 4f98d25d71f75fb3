// examples/python (my-python-app): Flask, started as its image starts it, `opentelemetry-instrument python app.py`,
// from a virtualenv of its pinned requirements.txt built into the cache (per content hash).
import { join } from 'node:path';
import { cacheDir, contentHash, run } from '../harness/cache.js';
import { examplesRoot, type ExampleSpec } from '../harness/example.js';
import { ensureVenv, PIP_ENV, PIP_QUIET } from '../harness/venv.js';

const folder = join(examplesRoot, 'python');

let venv: string | undefined;

async function ensureExampleVenv(): Promise<string> {
  const requirements = join(folder, 'requirements.txt');
  const hash = contentHash([requirements], { base: folder });
  return ensureVenv(join(cacheDir('examples'), `python-venv-${hash}`), 'examples/python', async (py) => {
    await run(py, ['-m', 'pip', 'install', ...PIP_QUIET, '-r', requirements], { env: PIP_ENV, timeoutMs: 15 * 60_000 });
    const check = await run(py, ['-m', 'pip', 'check'], { env: PIP_ENV, allowFailure: true });
    if (check.code !== 0) throw new Error(`examples/python: requirements.txt does not hold together:\n${check.stdout}${check.stderr}`);
  });
}

export const example: ExampleSpec = {
  folder: 'python',
  async prepare() {
    venv = await ensureExampleVenv();
  },
  layout() {
    if (!venv) throw new Error('examples/python: layout() before prepare()');
    return { paths: { '/opt/venv': venv, '/app': folder } };
  },
  startTimeoutMs: 60_000,
  // app.py exits normally on SIGTERM: the SDK's providers flush at exit, pyroscope.shutdown() (atexit) the last profile
  sigtermFlush: { env: {} },
  // Trial division below 100,000: ~0.5 s on an idle core. pyroscope-io names a frame by its function.
  work: { route: '/work', path: '/work?n=100000', badPath: '/work?n=lots', childSpan: 'count_primes', frame: /^count_primes$/ },
};
