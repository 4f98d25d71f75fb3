import { grafanaUrl } from './project.js';
import { p95Query, slowLogQuery } from './verify/context.js';
import { lokiLink, profileLink, promLink, traceqlLink } from './verify/links.js';

/** The seed's walk through Grafana (last 15 minutes), one Explore link per step. */
export function clickPath(env: Record<string, string>): { title: string; url: string }[] {
  const base = grafanaUrl(env);
  const [from, to] = ['now-15m', 'now'];
  return [
    { title: 'Logs of /slow (Loki)', url: lokiLink(base, 'loki', slowLogQuery('demo-app'), from, to) },
    { title: 'Traces of demo-app (Tempo)', url: traceqlLink(base, 'tempo', '{ resource.service.name="demo-app" }', from, to) },
    { title: 'p95 by route (Mimir)', url: promLink(base, 'mimir', p95Query('demo-app'), from, to, true) },
    {
      title: 'CPU flame graph (Pyroscope)',
      url: profileLink(base, 'pyroscope', { profileTypeId: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds', labelSelector: '{service_name="demo-app"}' }, from, to),
    },
    { title: 'Dashboards (LGTMP overview)', url: `${base}/d/lgtmp-overview` },
  ];
}
