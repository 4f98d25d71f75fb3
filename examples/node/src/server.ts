// my-node-app: a minimal service of your own, instrumented as docs/instrument-your-app.md says (all of it in
// telemetry.ts, loaded first with `node --import`; this file only uses the OpenTelemetry API for its child span).
// GET / answers hello; GET /work?n=<1..5000000> counts the primes below n in a child span, so the work shows up
// in the trace, in the span's CPU profile and in a log record of that trace.
import { trace } from '@opentelemetry/api';
import express from 'express';
import { pino } from 'pino';

// @opentelemetry/instrumentation-pino sends every record over OTLP with the active span's trace context.
const logger = pino();
const tracer = trace.getTracer('my-node-app');
const app = express();

app.get('/', (_req, res) => {
  logger.info('said hello');
  res.send('hello\n');
});

app.get('/work', (req, res) => {
  const raw = req.query['n'] ?? '200000';
  if (typeof raw !== 'string' || !/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > 5_000_000) {
    res.status(400).send('n must be a whole number from 1 to 5000000\n');
    return;
  }
  const n = Number(raw);
  const primes = tracer.startActiveSpan('countPrimes', (span) => {
    try {
      return countPrimes(n);
    } finally {
      span.end();
    }
  });
  // Logged in the request's context: the record carries the server span's trace and span id (not in its text).
  logger.info({ n, primes }, 'counted primes');
  res.send(`${primes} primes below ${n}\n`);
});

/** The CPU work: trial division, on purpose. */
function countPrimes(n: number): number {
  let count = 0;
  for (let i = 2; i < n; i++) {
    let prime = true;
    for (let d = 2; d * d <= i; d++) {
      if (i % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

const port = Number(process.env['PORT'] ?? 3000);
app.listen(port, () => logger.info(`listening on port ${port}`));
