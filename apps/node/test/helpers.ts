import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Server } from 'node:http';
import { createApp, initialState, type AppState } from '../src/app.js';
import { loadConfig, type AppConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

/** A pino destination that keeps every line, parsed. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    cb();
  }
}

export interface TestServer {
  base: string;
  config: AppConfig;
  state: AppState;
  logs: LogCapture;
  close(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({ TRAFFIC_GENERATOR: 'off', SLOW_ITERATIONS: '5', ALLOC_CHUNKS: '4', ALLOC_CHUNK_KIB: '16', ALLOC_MAX_BATCHES: '2', ...env });
  const logs = new LogCapture();
  const logger = createLogger(logs);
  const state = initialState(config, logger);
  const app = createApp(config, logger, state);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    config,
    state,
    logs,
    close: () =>
      new Promise<void>((resolve) => {
        state.faults.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Waits until `condition()` holds, checking every few ms; fails naming `what` if it never did within `deadlineMs`. */
export async function waitUntil(what: string, condition: () => boolean, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: never happened within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
