// python-demo-app (apps/python): Flask, started as the seed starts it, `opentelemetry-instrument python app.py`,
// from a virtualenv built into the cache. Span profiles come from apps/python/lgtmp-pyroscope (pyroscope-io +
// pyroscope-otel), installed into that venv; app.py itself imports no SDK and no profiler (only the OpenTelemetry API).
import { join } from 'node:path';
import { appStart, loadAppImage, type AppImage } from '../harness/app-env.js';
import { launchOptions, type AppSpec } from '../harness/app-spec.js';
import { cacheDir, contentHash, repoRoot, run } from '../harness/cache.js';
import { ensureVenv, PIP_ENV, PIP_QUIET } from '../harness/venv.js';

export const PYTHON_SERVICE = 'python-demo-app';

export function pythonAppDir(): string {
  return join(repoRoot, 'apps', 'python');
}

/** What the venv is built from: a change to any of these builds a new venv (keyed by content hash). */
function venvInputs(appDir: string): string[] {
  return [join(appDir, 'requirements.txt'), join(appDir, 'requirements-dev.txt'), join(appDir, 'lgtmp-pyroscope')];
}

/**
 * The python-demo-app virtualenv: `cacheDir('python')/venv-<hash of requirements*.txt + lgtmp-pyroscope>`, with
 * requirements-dev.txt (runtime + pytest) and the local lgtmp-pyroscope package installed. Returns the venv directory.
 */
export async function ensurePythonVenv(): Promise<string> {
  const appDir = pythonAppDir();
  const hash = contentHash(venvInputs(appDir), { base: appDir, ignore: (p) => /(__pycache__|\.egg-info|[/\\]build[/\\]?$|[/\\]dist[/\\]?$)/.test(p) });
  return ensureVenv(join(cacheDir('python'), `venv-${hash}`), 'python-demo-app', async (py) => {
    await run(py, ['-m', 'pip', 'install', ...PIP_QUIET, '-r', join(appDir, 'requirements-dev.txt')], { cwd: appDir, env: PIP_ENV, timeoutMs: 15 * 60_000 });
    await run(py, ['-m', 'pip', 'install', ...PIP_QUIET, '--no-deps', join(appDir, 'lgtmp-pyroscope')], { cwd: appDir, env: PIP_ENV, timeoutMs: 10 * 60_000 });
    const check = await run(py, ['-m', 'pip', 'check'], { env: PIP_ENV, allowFailure: true });
    if (check.code !== 0) throw new Error(`python-demo-app venv has broken requirements:\n${check.stdout}${check.stderr}`);
  });
}

let venvDir: string | undefined;
let image: AppImage | undefined;

export const pythonApp: AppSpec = {
  service: PYTHON_SERVICE,
  language: 'python',
  async prepare() {
    venvDir = await ensurePythonVenv();
    image = await loadAppImage(PYTHON_SERVICE);
  },
  // The image's CMD, exactly `opentelemetry-instrument python app.py` with the venv first on PATH, and its ENV
  // and compose's environment (test/harness/app-env.ts).
  launch(o) {
    if (!venvDir || !image) throw new Error('pythonApp.launch() before prepare()');
    const start = appStart(image, o, { paths: { '/opt/venv': venvDir, '/app': pythonAppDir() } });
    return launchOptions(PYTHON_SERVICE, o, { ...start, timeoutMs: 60_000 });
  },
  // `python app.py`, without opentelemetry-instrument.
  uninstrumented(o) {
    const l = pythonApp.launch(o);
    return { ...l, command: l.args[0]!, args: l.args.slice(1) };
  },
  // One match of the bounded seed sample is ~15 ms here (13 characters before '@'), so 100 iterations ~1.5 s.
  slow: {
    query: '?iterations=100',
    appFrame: /^checkEmail$/,
    // `re.match` (re/__init__.py) is the innermost Python frame: the sre matcher under it is C code, which the
    // py-spy based profiler does not unwind
    regexFrame: /^(match|fullmatch|search|_compile)$|^re[./]|sre/,
  },
  alloc: { appFrame: /^allocateMemoryBurst$/ },
};
