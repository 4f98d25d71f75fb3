// `lgtmp verify`: prove every correlation of the demo on the running stack.
import { choiceValue, durationValue, parseFlags, parseOrExit, UsageError, urlValue } from '../usage.js';
import { GENERIC_CHECKS } from '../verify/byo/checks.js';
import { SERVICES, shellCheck, STACK } from '../verify/checks.js';
import { selectedChecks } from '../verify/select.js';
import { endpointFlags, endpointOptions, parseTime } from '../verify/config.js';
import { freshWindow, type VerifyContext } from '../verify/context.js';
import { UnreachableError } from '../verify/http.js';
import { renderJson, renderTable, summarize, wrap } from '../verify/report.js';
import { CHECK_NAMES, createContext, verify, type VerifyOptions } from '../verify/run.js';
import { renderSeenServices, seenServices } from '../verify/services.js';

export const summary = 'prove every Logs/Traces/Metrics/Profiles correlation on live data (table, --json, --wait)';

const INDENT = ' '.repeat(25);
/** A list for the help text: comma separated, wrapped under the option texts within 100 columns. */
const helpList = (items: readonly string[]) => wrap(items.join(', '), 100 - INDENT.length).join(`\n${INDENT}`);

const HELP = `Usage: lgtmp verify [options]

Proves on live data that every correlation works: traces exist; a log line's trace id is a trace;
a span's provisioned logs, metrics and profile queries return its data; exemplars resolve to
traces; the service graph has node -> go -> java -> python; the seed's own queries return data.
By default through Grafana (which proves the provisioning too); --direct asks the backends.

Options:
  --direct               query Loki/Tempo/Mimir/Pyroscope on their host ports, read provisioning
                         from stack/grafana/provisioning/datasources/datasources.yaml
  --service <name>       only this service (repeatable, or comma separated): a demo app
                         (${helpList(SERVICES)})
                         or any service the stack has seen (--services), which gets the checks
                         that assume no demo route: traces, logs, metrics, exemplars, profiles
                         and service graph, each pass, FAIL with what to add for its language,
                         or "not set up" when the service sends nothing that link could use
  --services             list every service the stack has seen in the window (Tempo, Loki, Mimir,
                         Pyroscope) instead of checking
  --check <name>         only this check (repeatable, or comma separated; quote names with >):
                         ${helpList(CHECK_NAMES.map(shellCheck))}
  --since <duration>     look back this far: 90s, 5m, 1h or a number of seconds (default 30m)
  --wait <duration>      retry the checks that don't pass until they do or the time is up
  --json                 machine-readable output
  --grafana-url <url>    default http://127.0.0.1:$GRAFANA_PORT (.env)
  --loki-url <url>       override a backend's base URL (direct default: host ports from .env;
  --tempo-url <url>        Mimir: http://127.0.0.1:$MIMIR_PORT/prometheus; a plain Prometheus
  --prometheus-url <url>   has its API at the root)
  --pyroscope-url <url>
  --provisioning <file>  read the datasource settings from this file instead
  --env-file <file>      default: $LGTMP_ENV_FILE, else the repository's .env
  --now <time>           evaluate as if it were this time (unix seconds or ISO), for recordings
  -h, --help
Exit status: 0 when no check fails (every check passes or is not set up, none unreachable),
1 otherwise or for a service no backend has seen, 2 on bad usage.

Examples: lgtmp verify --service demo-app --check 'trace->profile'
          lgtmp verify --service my-app`;

export const command = {
  verb: 'verify',
  help: HELP,
  options: {
    ...endpointOptions,
    service: { type: 'string', multiple: true },
    services: { type: 'boolean' },
    check: { type: 'string', multiple: true },
    since: { type: 'string' },
    wait: { type: 'string' },
    json: { type: 'boolean' },
    provisioning: { type: 'string' },
    'env-file': { type: 'string' },
    now: { type: 'string' },
  },
} as const;

/** The endpoint flags (verify and tour), each URL checked. */
export function checkedEndpointFlags(values: Parameters<typeof endpointFlags>[0]): ReturnType<typeof endpointFlags> {
  const flags = endpointFlags(values);
  for (const key of Object.keys(endpointOptions) as (keyof typeof endpointOptions)[]) {
    const value = values[key];
    if (typeof value === 'string') urlValue(`--${key}`, value);
  }
  return flags;
}

/** A service name as verify puts it in queries: any name a service reports, but no quotes, braces or spaces. */
function serviceName(text: string): string {
  if (!/^[\w.\-/]+$/.test(text)) throw new UsageError(`--service "${text}" is not a service name: use letters, digits and . _ - /`);
  return text;
}

export function parseVerifyArgs(argv: string[]): { opts: VerifyOptions; json: boolean; listServices: boolean } {
  const { values } = parseFlags(command, argv);
  const list = (v: string[] | undefined) => (v ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const checks = list(values.check).map((c) => choiceValue('--check', c, CHECK_NAMES, 'check'));
  const services = list(values.service).map(serviceName);
  let nowMs: number | undefined;
  if (values.now !== undefined) {
    try {
      nowMs = parseTime(values.now);
    } catch {
      throw new UsageError(`--now "${values.now}" is not a time: use unix seconds or an ISO 8601 date`);
    }
  }
  if (values.services && (services.length > 0 || checks.length > 0)) throw new UsageError('--services lists the services; it takes no --service or --check');
  if (!values.services && checks.length > 0 && selectedChecks({ services: services.length > 0 ? services : [...SERVICES], checks }).every((c) => c.service === STACK) && !checks.includes('provisioning')) {
    const generic = new Set(GENERIC_CHECKS.map((c) => c.name));
    throw new UsageError(`--check ${checks.join(',')} runs for none of the services: ${checks.every((c) => generic.has(c)) ? 'a check of a service of your own, not of a demo app' : 'a demo app check, not of a service of your own'}`);
  }
  return {
    json: values.json ?? false,
    listServices: values.services ?? false,
    opts: {
      ...checkedEndpointFlags(values),
      services,
      checks,
      sinceMs: values.since === undefined ? undefined : durationValue('--since', values.since),
      waitMs: values.wait === undefined ? undefined : durationValue('--wait', values.wait),
      nowMs,
      provisioningFile: values.provisioning,
      envFile: values['env-file'],
    },
  };
}

/**
 * The services of the list no backend has seen, as one line naming those they have seen; undefined
 * when every name is a demo app or was seen, or when a backend did not answer (no verdict then:
 * the checks report it).
 */
async function unseenServices(ctx: VerifyContext, services: string[]): Promise<string | undefined> {
  const others = services.filter((s) => !SERVICES.includes(s));
  if (others.length === 0) return undefined;
  const seen = await seenServices(ctx);
  if (seen.unanswered.length > 0) return undefined;
  const names = seen.services.map((s) => s.service);
  const missing = others.filter((s) => !names.includes(s));
  if (missing.length === 0) return undefined;
  const since = `${Math.round((ctx.window.endMs - ctx.window.startMs) / 60_000)}m`;
  return `lgtmp verify: no backend has seen ${missing.map((m) => `"${m}"`).join(', ')} in the last ${since} (Tempo, Loki, Mimir, Pyroscope); services seen: ${names.join(', ') || 'none'}`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseOrExit(command, argv, () => parseVerifyArgs(argv));
  if (typeof parsed === 'number') return parsed;
  const { opts, json, listServices } = parsed;
  let setup: Awaited<ReturnType<typeof createContext>> | undefined;
  try {
    setup = await createContext(opts);
    if (listServices) {
      const seen = await seenServices(setup.ctx);
      process.stdout.write((json ? JSON.stringify(seen, null, 2) : renderSeenServices(seen)) + '\n');
      return seen.unanswered.length === 0 ? 0 : 1;
    }
    // a service started just now may not be seen yet: --wait waits for it too
    const deadline = Date.now() + (opts.waitMs ?? 0);
    let unknown = await unseenServices(setup.ctx, opts.services ?? []);
    while (unknown && Date.now() < deadline) {
      const left = deadline - Date.now();
      if (!json) process.stderr.write(`waiting: ${unknown.replace(/^lgtmp verify: /, '')}; ${Math.ceil(left / 1000)} s left\n`);
      await new Promise((r) => setTimeout(r, Math.min(5000, left)));
      setup = { ...setup, ctx: freshWindow(setup.ctx, opts.nowMs) };
      unknown = await unseenServices(setup.ctx, opts.services ?? []);
    }
    if (unknown) {
      process.stderr.write(`${unknown}\n`);
      return 1;
    }
    opts.waitMs = opts.waitMs === undefined ? undefined : Math.max(0, deadline - Date.now());
  } catch (err) {
    if (listServices && err instanceof UnreachableError) {
      process.stderr.write(`lgtmp verify --services: ${err.message}: is the stack up (lgtmp up)? --direct asks the backends\n`);
      return 1;
    }
    // Grafana down: verify() retries (--wait) or reports every check unreachable
    if (!(err instanceof UnreachableError)) {
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(
        `lgtmp verify: cannot read the datasource settings: ${msg}\n` +
          (opts.direct || opts.provisioningFile ? '' : 'Use --direct to read them from stack/grafana instead.\n'),
      );
      return 1;
    }
  }
  if (!json && setup) {
    const e = setup.endpoints;
    process.stderr.write(
      `lgtmp verify (${e.mode === 'direct' ? 'direct' : `through Grafana ${e.grafana}`}); provisioning from ${setup.ctx.provisioning.source}\n` +
        `  loki ${e.loki}\n  tempo ${e.tempo}\n  prometheus ${e.prometheus}\n  pyroscope ${e.mode === 'direct' || opts.pyroscopeUrl ? e.pyroscope : `${e.grafana}/api/ds/query`}\n\n`,
    );
  }
  const results = await verify(
    {
      ...opts,
      onRetry: json
        ? undefined
        : (pending, left) => process.stderr.write(`waiting: ${pending.length} check(s) not passing yet (${pending.map((p) => `${p.check}/${p.service}`).slice(0, 4).join(', ')}${pending.length > 4 ? ', …' : ''}); ${Math.ceil(left / 1000)} s left\n`),
    },
    setup,
  );
  if (json) {
    process.stdout.write(renderJson(results, setup ? { mode: setup.endpoints.mode, endpoints: setup.endpoints, provisioning: setup.ctx.provisioning.source } : { mode: 'grafana' }) + '\n');
  } else {
    process.stdout.write(renderTable(results, { width: process.stdout.columns }) + '\n');
  }
  return summarize(results).ok ? 0 : 1;
}
