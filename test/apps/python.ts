// python-demo-app (apps/python): Flask, started as the seed starts it, `opentelemetry-instrument python app.py`,
// from a virtualenv built into the cache. Span profiles come from apps/python/lgtmp-pyroscope (pyroscope-io +
// pyroscope-otel), installed into that venv; app.py itself imports neither OpenTelemetry nor Pyroscope.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchOptions, testEnv, type AppSpec } from '../harness/app-spec.js';
import { cacheDir, contentHash, repoRoot, run, withCacheLock } from '../harness/cache.js';

export const PYTHON_SERVICE = 'python-demo-app';

export function pythonAppDir(): string {
  return join(repoRoot, 'apps', 'python');
}

/** What the venv is built from: a change to any of these builds a new venv (keyed by content hash). */
function venvInputs(appDir: string): string[] {
  return [join(appDir, 'requirements.txt'), join(appDir, 'requirements-dev.txt'), join(appDir, 'lgtmp-pyroscope')];
}

const MARKER = '.lgtmp-complete';
const PIP_QUIET = ['--disable-pip-version-check', '--no-input', '-q'];

async function findPython(): Promise<string> {
  const python = process.env.LGTMP_PYTHON ?? 'python3';
  let version: string;
  try {
    const r = await run(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
    version = r.stdout.trim();
  } catch (e) {
    throw new Error(
      `python-demo-app needs Python 3.10+ ('${python}' could not be run: ${e instanceof Error ? e.message : String(e)}). ` +
        'Install python3 and python3-venv (Debian/Ubuntu: apt-get install python3 python3-venv), or set LGTMP_PYTHON.',
    );
  }
  const [major, minor] = version.split('.').map(Number);
  if (major !== 3 || minor === undefined || minor < 10) {
    throw new Error(`python-demo-app needs Python 3.10+, but '${python}' is ${version}; set LGTMP_PYTHON to a newer python3.`);
  }
  const venvOk = await run(python, ['-c', 'import venv, ensurepip'], { allowFailure: true });
  if (venvOk.code !== 0) {
    throw new Error(
      `'${python}' has no working venv/ensurepip module, needed to build the python-demo-app virtualenv. ` +
        'Debian/Ubuntu: apt-get install python3-venv.\n' + venvOk.stderr.trim(),
    );
  }
  return python;
}

/**
 * The python-demo-app virtualenv: `cacheDir('python')/venv-<hash of requirements*.txt + lgtmp-pyroscope>`, with
 * requirements-dev.txt (runtime + pytest) and the local lgtmp-pyroscope package installed. Built in place (a venv
 * is not relocatable) under withCacheLock, and marked complete only at the end, so an interrupted build is redone.
 * Returns the venv directory.
 */
export async function ensurePythonVenv(): Promise<string> {
  const appDir = pythonAppDir();
  const hash = contentHash(venvInputs(appDir), { base: appDir, ignore: (p) => /(__pycache__|\.egg-info|[/\\]build[/\\]?$|[/\\]dist[/\\]?$)/.test(p) });
  const venv = join(cacheDir('python'), `venv-${hash}`);
  if (existsSync(join(venv, MARKER))) return venv;
  const python = await findPython();
  return withCacheLock(venv, async () => {
    if (existsSync(join(venv, MARKER))) return venv; // built by the process we waited for
    rmSync(venv, { recursive: true, force: true }); // what an interrupted build left
    await run(python, ['-m', 'venv', venv], { timeoutMs: 5 * 60_000 });
    const py = join(venv, 'bin', 'python');
    const pipEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONDONTWRITEBYTECODE: '1' };
    await run(py, ['-m', 'pip', 'install', ...PIP_QUIET, '-r', join(appDir, 'requirements-dev.txt')], { cwd: appDir, env: pipEnv, timeoutMs: 15 * 60_000 });
    await run(py, ['-m', 'pip', 'install', ...PIP_QUIET, '--no-deps', join(appDir, 'lgtmp-pyroscope')], { cwd: appDir, env: pipEnv, timeoutMs: 10 * 60_000 });
    const check = await run(py, ['-m', 'pip', 'check'], { env: pipEnv, allowFailure: true });
    if (check.code !== 0) throw new Error(`python-demo-app venv has broken requirements:\n${check.stdout}${check.stderr}`);
    writeFileSync(join(venv, MARKER), '');
    return venv;
  });
}

let venvDir: string | undefined;

export const pythonApp: AppSpec = {
  service: PYTHON_SERVICE,
  language: 'python',
  async prepare() {
    venvDir = await ensurePythonVenv();
  },
  launch(o) {
    if (!venvDir) throw new Error('pythonApp.launch() before prepare()');
    const bin = join(venvDir, 'bin');
    const env = {
      ...testEnv(PYTHON_SERVICE, o),
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      // new HTTP semantic conventions: http.server.request.duration in seconds (the default is the old
      // http.server.duration in ms)
      OTEL_SEMCONV_STABILITY_OPT_IN: 'http',
      // record factory puts otelTraceID/otelSpanID on log records; app.py copies them into the JSON body
      OTEL_PYTHON_LOG_CORRELATION: 'true',
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      VIRTUAL_ENV: venvDir,
    };
    // exactly `opentelemetry-instrument python app.py`, with the venv's programs
    return launchOptions(PYTHON_SERVICE, o, {
      command: join(bin, 'opentelemetry-instrument'),
      args: [join(bin, 'python'), 'app.py'],
      cwd: pythonAppDir(),
      env,
      timeoutMs: 60_000,
    });
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
