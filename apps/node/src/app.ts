// The node-demo-app HTTP routes (Express 5). Plain application code: no OpenTelemetry or
// Pyroscope import anywhere in src/ outside src/telemetry/ (the bootstrap loaded with
// `node --import`). Spans, metrics, log export, trace propagation on /chain and profiles all come
// from that bootstrap.

import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { allocateMemoryBurst, approxBatchBytes, RetainedMemory } from './alloc.js';
import { MAX_SLOW_ITERATIONS, parseRegexMode, type AppConfig, type RegexMode } from './config.js';
import { logRequest, type Logger } from './logger.js';
import { checkEmail, runSlowWork, SLOW_SAMPLE } from './slow.js';

export interface AppState {
  regexMode: RegexMode;
  retained: RetainedMemory;
}

export function initialState(config: AppConfig): AppState {
  return { regexMode: config.regexMode, retained: new RetainedMemory(config.alloc.maxBatches) };
}

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
 * `?fail=true` on any route answers 500. The check runs inside the route, so the server span and the
 * http.server.request.duration point of the failure carry the route's http.route like any other answer.
 */
function failable(handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (req.query['fail'] === 'true') {
      res.status(500).json({ error: 'failure requested with ?fail=true', route: req.path });
      return;
    }
    return handler(req, res, next);
  };
}

export function createApp(config: AppConfig, logger: Logger, state: AppState = initialState(config)): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // One request log per request, written when the response is done.
  app.use((req: Request, res: Response, next: NextFunction) => {
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

  app.get('/hello', failable((_req: Request, res: Response) => {
    res.type('text/plain').send('Hello World');
  }));

  app.get('/healthz', failable((_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  }));

  app.get('/slow', failable((req: Request, res: Response) => {
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

  app.get('/alloc', failable((_req: Request, res: Response) => {
    const { chunks, chunkKiB } = config.alloc;
    state.retained.add(allocateMemoryBurst(chunks, chunkKiB));
    const batchBytes = approxBatchBytes(chunks, chunkKiB);
    res.json({
      route: '/alloc',
      chunks,
      chunk_kib: chunkKiB,
      batch_bytes: batchBytes,
      retained_batches: state.retained.count,
      max_batches: state.retained.max,
      retained_bytes: batchBytes * state.retained.count,
      heap_used_bytes: process.memoryUsage().heapUsed,
    });
  }));

  app.get('/chain', failable(async (_req: Request, res: Response) => {
    let next: { url: string; status: number } | null = null;
    if (config.nextServiceUrl !== undefined) {
      const url = `${config.nextServiceUrl}/chain`;
      let status: number;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
        status = response.status;
        await response.arrayBuffer();
      } catch (err) {
        res.status(502).json({ error: 'next service unreachable', next: url, detail: String(err) });
        return;
      }
      next = { url, status };
      if (status >= 400) {
        res.status(502).json({ error: 'next service failed', next });
        return;
      }
    }
    res.json({ route: '/chain', service: config.serviceName, next, work: chainWork() });
  }));

  app.get('/admin/regex', failable((_req: Request, res: Response) => {
    res.json({ mode: state.regexMode });
  }));

  app.post('/admin/regex', failable((req: Request, res: Response) => {
    const mode = parseRegexMode(singleQuery(req, 'mode'));
    if (mode === undefined) throw new HttpError(400, 'mode must be bad or fixed');
    state.regexMode = mode;
    res.json({ mode });
  }));

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
