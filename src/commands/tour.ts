// `lgtmp tour slow`: the seed's "why is /slow slow?" walkthrough on live data, then the fix.
import { choiceValue, durationValue, parseFlags, parseOrExit, UsageError, urlValue } from '../usage.js';
import { envFile, readEnv } from '../project.js';
import { endpointOptions } from '../verify/config.js';
import { checkedEndpointFlags } from './verify.js';
import { createContext, type VerifyOptions } from '../verify/run.js';
import { appUrls, compareLines, setRegexMode, snapshot, tellStory, type TourStep } from '../verify/tour.js';

export const summary = 'tour slow: the seed\'s "why is /slow slow" walkthrough on live data, then the fix';

export const HELP = `Usage: lgtmp tour slow [options]

Walks the seed's story on live data: a /slow log line in Loki -> its trace in Tempo -> the span
that dominates it -> that span's flame graph in Pyroscope, each with its Grafana link. Then the
fix: every app replaces the bad email regex by a linear check (POST /admin/regex?mode=fixed),
and after --wait the /slow p95 (Mimir) and the CPU share of the regex work (Pyroscope) are
compared with the same window before the fix.

Options:
  --service <name>     whose story to tell (default demo-app)
  --wait <duration>    how long to let after-fix data accumulate, also the comparison window:
                       90s, 5m, 1h or a number of seconds (default 2m; at least 30s)
  --revert             only switch every app back to the bad regex (mode=bad)
  --no-fix             tell the story only
  --direct             query the backends directly instead of through Grafana (see lgtmp verify)
  --app-url <svc=url>  an app's base URL (repeatable; default http://127.0.0.1:<port from .env>)
  --since <duration>   how far back to look for the story (default 30m)
  --json               machine-readable output
  --grafana-url, --loki-url, --tempo-url, --prometheus-url, --pyroscope-url, --provisioning,
  --env-file           as for lgtmp verify
  -h, --help
Exit status: 0 when the story is told and the fix lowered a /slow p95 (--no-fix: the story;
--revert: an app switched back), 1 otherwise, 2 on bad usage.`;

export const command = {
  verb: 'tour',
  help: HELP,
  options: {
    ...endpointOptions,
    service: { type: 'string' },
    wait: { type: 'string' },
    revert: { type: 'boolean' },
    'no-fix': { type: 'boolean' },
    'app-url': { type: 'string', multiple: true },
    since: { type: 'string' },
    json: { type: 'boolean' },
    provisioning: { type: 'string' },
    'env-file': { type: 'string' },
  },
  positionals: true,
} as const;

interface TourArgs {
  json: boolean;
  svc: string;
  revert: boolean;
  noFix: boolean;
  waitMs: number;
  env: Record<string, string>;
  /** --app-url overrides by service */
  appOverrides: Record<string, string>;
  opts: VerifyOptions;
}

export function parseTourArgs(argv: string[]): TourArgs {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'which tour? (tours: slow)' : `one tour at a time, not "${positionals.join(' ')}"`);
  choiceValue('<tour>', positionals[0]!, ['slow'], 'tour');
  const waitMs = values.wait === undefined ? 120_000 : durationValue('--wait', values.wait);
  if (waitMs < 30_000) throw new UsageError(`--wait "${values.wait}" is too short: at least 30s (it is also the comparison window)`);
  const env = readEnv(values['env-file'] ?? envFile);
  const apps = Object.keys(appUrls(env));
  const appOverrides: Record<string, string> = {};
  for (const a of values['app-url'] ?? []) {
    const eq = a.indexOf('=');
    if (eq < 1 || eq === a.length - 1) throw new UsageError(`--app-url "${a}" is not <service>=<url>: use e.g. demo-app=http://127.0.0.1:8080`);
    const svc = choiceValue('--app-url', a.slice(0, eq), apps, 'app');
    appOverrides[svc] = urlValue('--app-url', a.slice(eq + 1));
  }
  return {
    json: values.json ?? false,
    svc: values.service === undefined ? 'demo-app' : choiceValue('--service', values.service, apps, 'app'),
    revert: values.revert ?? false,
    noFix: values['no-fix'] ?? false,
    waitMs,
    env,
    appOverrides,
    opts: {
      ...checkedEndpointFlags(values),
      provisioningFile: values.provisioning,
      envFile: values['env-file'],
      sinceMs: values.since === undefined ? undefined : durationValue('--since', values.since),
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseOrExit(command, argv, () => parseTourArgs(argv));
  if (typeof args === 'number') return args;
  const { json, svc, waitMs } = args;
  const apps = appUrls(args.env, args.appOverrides);
  const print = (s: string) => {
    if (!json) process.stdout.write(s + '\n');
  };
  const printStep = (n: number, st: TourStep) => {
    print(`\n${n}. ${st.title}${st.ok ? '' : '  [not shown]'}`);
    for (const l of st.lines) print(`   ${l}`);
    if (st.link) print(`   open: ${st.link}`);
  };

  if (args.revert) {
    const res = await setRegexMode(apps, 'bad');
    if (json) process.stdout.write(JSON.stringify({ revert: res }, null, 2) + '\n');
    for (const r of res) print(`${r.service.padEnd(16)} ${r.url.padEnd(24)} ${r.ok ? `mode=${r.mode}` : r.error}`);
    return res.some((r) => r.ok) ? 0 : 1;
  }

  let setup: Awaited<ReturnType<typeof createContext>>;
  try {
    setup = await createContext(args.opts, args.env);
  } catch (err) {
    process.stderr.write(`lgtmp tour: ${err instanceof Error ? err.message : String(err)}\n`);
    if (!args.opts.direct) process.stderr.write('Is Grafana up (lgtmp up)? --direct reads the settings from stack/grafana.\n');
    return 1;
  }
  const { ctx } = setup;
  print(`lgtmp tour slow: why is /slow slow? (${svc})`);
  const story = await tellStory(ctx, svc);
  story.steps.forEach((st, i) => printStep(i + 1, st));
  const report: Record<string, unknown> = { service: svc, story: story.steps };
  if (args.noFix) {
    if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return story.ok ? 0 : 1;
  }

  // No --now for the tour: the fix changes the running apps, so before and after are windows of the clock's now.
  const services = Object.keys(apps);
  const fixAt = Date.now();
  const before = await snapshot({ ...ctx, nowMs: fixAt }, services, waitMs, fixAt);
  const fixed = await setRegexMode(apps, 'fixed');
  const n = story.steps.length + 1;
  printStep(n, {
    title: 'The fix: a linear check instead of the bad regex, on every app (POST /admin/regex?mode=fixed)',
    ok: fixed.some((r) => r.ok),
    lines: fixed.map((r) => `${r.service.padEnd(16)} ${r.url.padEnd(24)} ${r.ok ? `mode=${r.mode}` : r.error}`),
  });
  const switched = fixed.filter((r) => r.ok).map((r) => r.service);
  report['fix'] = fixed;
  if (switched.length === 0) {
    if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 1;
  }
  print(`\n   waiting ${Math.round(waitMs / 1000)} s for after-fix data…`);
  await new Promise((r) => setTimeout(r, waitMs));
  const afterAt = Date.now();
  const after = await snapshot({ ...ctx, nowMs: afterAt }, switched, waitMs, afterAt);
  const lines = compareLines(
    before.filter((b) => switched.includes(b.service)),
    after,
  );
  printStep(n + 1, { title: `Before / after (${Math.round(waitMs / 1000)} s before the fix vs ${Math.round(waitMs / 1000)} s after)`, ok: true, lines });
  print('\nUndo with: lgtmp tour slow --revert');
  report['before'] = before;
  report['after'] = after;
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  const improved = after.some((a) => {
    const b = before.find((x) => x.service === a.service);
    return b?.p95 !== undefined && a.p95 !== undefined && a.p95 < b.p95;
  });
  return story.ok && improved ? 0 : 1;
}
