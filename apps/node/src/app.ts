// The node-demo-app HTTP routes (Express 5). Plain application code: no OpenTelemetry or
// Pyroscope import anywhere in src/ outside src/telemetry/ (the bootstrap loaded with
// `node --import`). Spans, metrics, log export, trace propagation on /chain and profiles all come
// from that bootstrap.

import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { allocateMemoryBurst, approxBatchBytes, RetainedMemory } from './alloc.js';
import { MAX_SLOW_ITERATIONS, parseRegexMode, type AppConfig, type RegexMode } from './config.js';
import { formatDuration } from './durations.js';
import { burnCpu, injectLatency } from './fault-effects.js';
import { FaultRequestError, FaultSwitches, parseFaultChange, type FaultRoute } from './faults.js';
import { logRequest, type Logger } from './logger.js';
import { checkEmail, runSlowWork, SLOW_SAMPLE } from './slow.js';

export interface AppState {
  regexMode: RegexMode;
  /** /alloc's staircase: at most ALLOC_MAX_BATCHES bursts. */
  retained: RetainedMemory;
  /** What /alloc keeps while the `leak` fault is on, freed when it turns off. */
  leaked: RetainedMemory;
  faults: FaultSwitches;
}

export function initialState(config: AppConfig, logger: Logger): AppState {
  const state: AppState = {
    regexMode: config.regexMode,
    retained: new RetainedMemory(config.alloc.maxBatches),
    leaked: new RetainedMemory(Number.POSITIVE_INFINITY),
    faults: new FaultSwitches(logger),
  };
  state.faults.onChange((kind, on) => {
    if (kind === 'leak' && !on) state.leaked.clear();
  });
  return state;
}

/** How long /chain waits for the next service when no fault says otherwise. */
const CHAIN_TIMEOUT_MS = 15_000;
const MIB = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `?name=` as one string, or undefined; repeated or nested parameters are a 400. */
function singleQuery(req: Request, name: string): string | undefined {
  const value: unknown = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `parameter ${name} must be given once`);
  return value;
}

function parseIterations(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^[0-9]{1,7}$/.test(raw)) {
    throw new HttpError(400, `iterations must be an integer 1..${MAX_SLOW_ITERATIONS}`);
  }
  const n = Number(raw);
  if (n < 1 || n > MAX_SLOW_ITERATIONS) {
    throw new HttpError(400, `iterations must be an integer 1..${MAX_SLOW_ITERATIONS}`);
  }
  return n;
}

/** The HTTP status for an error: ours, a 4xx/5xx set by Express middleware, else 500. */
function errorStatus(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/** The "little work" /chain does after the downstream call. */
function chainWork(): number {
  let valid = 0;
  for (let i = 0; i < 200; i++) if (checkEmail(`user${i}@example.com`, 'fixed')) valid++;
  return valid;
}

/**
 * A work route with its faults: the `cpu` fault's burnCpu, then `?fail=true` or the `errors` fault
 * (500), then the `latency` fault's delay, then the route's own work. The checks run inside the route,
 * so the server span and the http.server.request.duration point carry the route's http.route like any
 * other answer. The CPU burn comes first and synchronously, so its samples carry the request's span
 * labels (work after an `await` may not: see the README, "Limits").
 */
function faultable(route: FaultRoute | '/healthz' | '/admin/regex', state: AppState, handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const cpu = state.faults.get('cpu');
    if (cpu?.route === route) burnCpu(cpu.work);
    if (req.query['fail'] === 'true') {
      res.status(500).json({ error: 'failure requested with ?fail=true', route: req.path });
      return;
    }
    const errors = state.faults.get('errors');
    if (errors?.route === route && Math.random() < errors.ratio) {
      res.status(500).json({ error: 'failure injected by the errors fault', route: req.path });
      return;
    }
    const latency = state.faults.get('latency');
    if (latency?.route === route) return injectLatency(latency.delay).then(() => handler(req, res, next));
    return handler(req, res, next);
  };
}

type NextOutcome = { status: number } | { failure: string; timedOut: boolean };

/** Calls the next service of the chain; a timeout is told apart from other failures. */
async function callNext(url: string, timeoutMs: number): Promise<NextOutcome> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return { status: response.status };
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    return { failure: timedOut ? `no answer within ${formatDuration(timeoutMs)}` : String(err), timedOut };
  }
}

export function createApp(config: AppConfig, logger: Logger, state: AppState = initialState(config, logger)): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // One request log per request, written when the response is done. Faults whose time is up turn
  // off here too, so an expired fault never acts on a request.
  app.use((req: Request, res: Response, next: NextFunction) => {
    state.faults.expireDue();
    const started = process.hrtime.bigint();
    let logged = false;
    const done = (): void => {
      if (logged) return;
      logged = true;
      logRequest(logger, {
        route: req.path,
        method: req.method,
        status: res.statusCode,
        duration_ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
      });
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  });

  app.get('/hello', faultable('/hello', state, (_req: Request, res: Response) => {
    res.type('text/plain').send('Hello World');
  }));

  app.get('/healthz', faultable('/healthz', state, (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  }));

  app.get('/slow', faultable('/slow', state, (req: Request, res: Response) => {
    const iterations = parseIterations(singleQuery(req, 'iterations'), config.slowIterations);
    const result = runSlowWork(iterations, state.regexMode);
    res.json({
      route: '/slow',
      mode: result.mode,
      iterations: result.iterations,
      valid: result.valid,
      sample: SLOW_SAMPLE,
      work_ms: result.durationMs,
    });
  }));

  app.get('/alloc', faultable('/alloc', state, (_req: Request, res: Response) => {
    const { chunks, chunkKiB } = config.alloc;
    const batchBytes = approxBatchBytes(chunks, chunkKiB);
    const leak = state.faults.get('leak');
    // The leak keeps every burst, no plateau, until its cap; then /alloc stops allocating and says so.
    const leakFull = leak !== undefined && (state.leaked.count + 1) * batchBytes > leak.cap_mib * MIB;
    if (leak === undefined) state.retained.add(allocateMemoryBurst(chunks, chunkKiB));
    else if (!leakFull) state.leaked.add(allocateMemoryBurst(chunks, chunkKiB));
    res.json({
      route: '/alloc',
      chunks,
      chunk_kib: chunkKiB,
      batch_bytes: batchBytes,
      retained_batches: state.retained.count,
      max_batches: state.retained.max,
      retained_bytes: batchBytes * state.retained.count,
      heap_used_bytes: process.memoryUsage().heapUsed,
      ...(leak === undefined
        ? {}
        : {
            leak: {
              retained_batches: state.leaked.count,
              retained_bytes: batchBytes * state.leaked.count,
              cap_mib: leak.cap_mib,
              full: leakFull,
              ...(leakFull ? { note: `leak cap of ${leak.cap_mib} MiB reached: this burst was not allocated` } : {}),
            },
          }),
    });
  }));

  app.get('/chain', faultable('/chain', state, async (_req: Request, res: Response) => {
    let next: { url: string; status: number } | null = null;
    if (config.nextServiceUrl !== undefined) {
      // The dependency fault: the downstream fails (error) or is too slow for our timeout (timeout).
      const dependency = state.faults.get('dependency');
      const path = dependency === undefined ? '/chain' : dependency.mode === 'error' ? '/hello?fail=true' : '/slow';
      const timeoutMs = dependency?.mode === 'timeout' ? dependency.timeout : CHAIN_TIMEOUT_MS;
      const url = `${config.nextServiceUrl}${path}`;
      const fault = dependency === undefined ? {} : { fault: 'dependency' };
      const outcome = await callNext(url, timeoutMs);
      if ('failure' in outcome) {
        const error = outcome.timedOut ? 'next service timed out' : 'next service unreachable';
        res.status(outcome.timedOut ? 504 : 502).json({ error, next: url, detail: outcome.failure, ...fault });
        return;
      }
      next = { url, status: outcome.status };
      if (outcome.status >= 400) {
        res.status(502).json({ error: 'next service failed', next, ...fault });
        return;
      }
    }
    res.json({ route: '/chain', service: config.serviceName, next, work: chainWork() });
  }));

  app.get('/admin/regex', faultable('/admin/regex', state, (_req: Request, res: Response) => {
    res.json({ mode: state.regexMode });
  }));

  app.post('/admin/regex', faultable('/admin/regex', state, (req: Request, res: Response) => {
    const mode = parseRegexMode(singleQuery(req, 'mode'));
    if (mode === undefined) throw new HttpError(400, 'mode must be bad or fixed');
    state.regexMode = mode;
    res.json({ mode });
  }));

  app.get('/admin/faults', (_req: Request, res: Response) => {
    res.json({ faults: state.faults.document(), regex_mode: state.regexMode });
  });

  // The body is read as text whatever its content type (curl -d sends form encoding), then as JSON.
  app.post('/admin/faults', express.text({ type: () => true, limit: '16kb' }), (req: Request, res: Response) => {
    const body: unknown = req.body;
    try {
      state.faults.apply(parseFaultChange(typeof body === 'string' ? body : undefined, config.nextServiceUrl !== undefined));
    } catch (err) {
      if (err instanceof FaultRequestError) throw new HttpError(400, err.message);
      throw err;
    }
    res.json({ faults: state.faults.document(), regex_mode: state.regexMode });
  });

  app.all('/admin/faults', (req: Request, res: Response) => {
    res.set('allow', 'GET, POST').status(405).json({ error: `method ${req.method} not allowed: use GET or POST` });
  });

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: 'not found', method: req.method, path: req.path });
  });

  // Express 5 routes thrown errors and rejected promises here; nothing reaches the process.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = errorStatus(err);
    const message = err instanceof Error ? err.message : 'internal error';
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(status).json({ error: status >= 500 ? 'internal error' : message });
  });

  return app;
}
