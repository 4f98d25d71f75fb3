// Entry point of node-demo-app. Run it as users would:
//   node --import ./dist/telemetry/bootstrap.js dist/server.js   (instrumented, zero code)
//   node dist/server.js                                            (plain, no telemetry)
// Nothing here knows about OpenTelemetry or Pyroscope.

import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startTrafficGenerator, type TrafficGenerator } from './traffic.js';

const config = loadConfig();
const logger = createLogger();
const app = createApp(config, logger);
let traffic: TrafficGenerator | undefined;

const server = app.listen(config.port, () => {
  const { port } = server.address() as AddressInfo;
  logger.info(`node-demo-app listening on port ${port} (regex mode ${config.regexMode}, traffic generator ${config.traffic.enabled ? 'on' : 'off'})`);
  if (config.traffic.enabled) {
    traffic = startTrafficGenerator({
      baseUrl: `http://127.0.0.1:${port}`,
      rps: config.traffic.rps,
      concurrency: config.traffic.concurrency,
      mix: config.traffic.mix,
    });
  }
});
server.on('error', (err) => {
  logger.error(`cannot listen on port ${config.port}: ${err.message}`);
  process.exitCode = 1;
});

// Graceful shutdown: stop the generator, stop accepting, let in-flight requests finish, then let
// the event loop drain (the telemetry bootstrap, when loaded, flushes before the process exits).
let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  logger.info(`received ${signal}, shutting down`);
  void traffic?.stop();
  server.close();
  server.closeIdleConnections();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
