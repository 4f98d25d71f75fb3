// An endpoint that takes every TCP connection and closes it at once, counting them: an exporter pointed at it
// fails every export, as against a backend that is down, and the count tells a test when the exporters have
// tried, so it waits on their attempts instead of on the clock.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ConnectionDropper {
  url: string;
  /** Connections accepted (and dropped) so far. */
  attempts(): number;
  close(): Promise<void>;
}

export async function startConnectionDropper(): Promise<ConnectionDropper> {
  let attempts = 0;
  const server = createServer((socket: Socket) => {
    attempts++;
    socket.on('error', () => {});
    socket.resetAndDestroy();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attempts: () => attempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
