import { dashboardUids, datasources, SEED_SERVICE, seedQueries } from './facts.js';
import { grafanaUrl } from './project.js';
import { lokiLink, profileLink, promLink, traceqlLink } from './verify/links.js';

/** The seed's walk through Grafana (last 15 minutes), one Explore link per step. */
export function clickPath(env: Record<string, string>): { title: string; url: string }[] {
  const base = grafanaUrl(env);
  const [from, to] = ['now-15m', 'now'];
  return [
    { title: 'Logs of /slow (Loki)', url: lokiLink(base, datasources.loki.uid, seedQueries.slowLogs(SEED_SERVICE), from, to) },
    { title: `Traces of ${SEED_SERVICE} (Tempo)`, url: traceqlLink(base, datasources.tempo.uid, seedQueries.traces(SEED_SERVICE), from, to) },
    { title: 'p95 by route (Mimir)', url: promLink(base, datasources.mimir.uid, seedQueries.p95ByRoute(SEED_SERVICE), from, to, true) },
    { title: 'CPU flame graph (Pyroscope)', url: profileLink(base, datasources.pyroscope.uid, seedQueries.cpuProfile(SEED_SERVICE), from, to) },
    { title: 'Dashboards (LGTMP overview)', url: `${base}/d/${dashboardUids.overview}` },
  ];
}
