// One demo app started as the tests need it: built (prepare()), its OTLP endpoint at an in-process receiver that
// forwards metrics to a real Prometheus, its Pyroscope address at an in-process profile receiver.
import type { AppSpec } from './app-spec.js';
import { freePort, launchApp, type LaunchedApp } from './launcher.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';
import { startProfileReceiver, type ProfileReceiver } from './profile-receiver.js';
import { startPrometheus, type PrometheusPeer } from './prometheus.js';

export interface AppWithPeers {
  app: LaunchedApp;
  prom: PrometheusPeer;
  otlp: OtlpReceiver;
  profiles: ProfileReceiver;
  /** The app's base URL, http://127.0.0.1:<port>. */
  base: string;
  /** Stops the app, then the receivers and Prometheus. */
  close(): Promise<void>;
}

/**
 * Starts Prometheus, the receivers and the app (env: extra environment for the app, winning over the spec's;
 * nextServiceUrl: its NEXT_SERVICE_URL).
 */
export async function startAppWithPeers(spec: Pick<AppSpec, 'prepare' | 'launch'>, env?: Record<string, string>, nextServiceUrl?: string): Promise<AppWithPeers> {
  await spec.prepare();
  // Newest first: on failure, and in close(), what was started is stopped in reverse order, the app first.
  const stops: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.splice(0)) await stop();
  };
  try {
    const prom = await startPrometheus();
    stops.unshift(() => prom.close());
    // Traces and logs as Alloy hands them on (its transform gives them `job`), metrics forwarded as Alloy does.
    const otlp = await startOtlpReceiver({ prometheusUrl: prom.url, throughAlloy: true });
    stops.unshift(() => otlp.close());
    const profiles = await startProfileReceiver();
    stops.unshift(() => profiles.close());
    const port = await freePort();
    const app = await launchApp(spec.launch({ port, otlpUrl: otlp.url, pyroscopeUrl: profiles.url, ...(env ? { env } : {}), ...(nextServiceUrl ? { nextServiceUrl } : {}) }));
    stops.unshift(() => app.stop());
    return { app, prom, otlp, profiles, base: `http://127.0.0.1:${port}`, close };
  } catch (e) {
    await close();
    throw e;
  }
}
