// `lgtmp tour <symptom>`: a row of the seed's troubleshooting map, live: the fault on, its evidence, the path to its cause, the fix.
import { choiceValue, durationValue, parseFlags, parseOrExit, UsageError, urlValue } from '../usage.js';
import { envFile, readEnv } from '../project.js';
import { SEED_SERVICE } from '../facts.js';
import { endpointOptions } from '../verify/config.js';
import { checkedEndpointFlags } from './verify.js';
import { createContext, type VerifyOptions } from '../verify/run.js';
import { appUrls, notApplicable, runTour } from '../verify/tour.js';
import { liveClock, type TourStep } from '../verify/tour-steps.js';
import { setRegexMode, SYMPTOMS, TOUR_NAMES, type TourName } from '../verify/tour-symptoms.js';

export const summary = `tour <${TOUR_NAMES.join('|')}>: a symptom of the seed's map on live data, from the fault to its cause and the fix`;

const table = TOUR_NAMES.map((n) => `  ${n.padEnd(11)} ${SYMPTOMS[n].question.padEnd(30)} ${SYMPTOMS[n].seedPath} (switch: ${SYMPTOMS[n].switch.name})`).join('\n');

export const HELP = `Usage: lgtmp tour <symptom> [options]

Turns one fault on in one app, waits until the metrics show it, walks the seed's path from the
symptom to its cause with a Grafana link for every step, turns the fault off and shows the
recovery. Every number comes from a query the tour ran.

${table}

Options:
  --service <name>     the app to break (default demo-app; dependency: an app with a next service)
  --wait <duration>    after the fix, how long to let data accumulate; also the window of the
                       before / after measures: 90s, 5m, 1h or a number of seconds
                       (default 2m; at least 30s)
  --deadline <duration> how long to wait for the fault to show (default 4m)
  --keep               leave the fault on at the end (it still expires by itself after 10m)
  --no-fix             tell the story only: the app is left as the tour found it (a fault
                       the tour turned on goes off again; slow: the bad regex stays)
  --revert             slow only: put the bad regex back in every app (mode=bad), nothing else
  --direct             query the backends directly instead of through Grafana (see lgtmp verify)
  --app-url <svc=url>  an app's base URL (repeatable; default http://127.0.0.1:<port from .env>)
  --since <duration>   slow: how far back to look for the story (default 30m)
  --json               machine-readable output (the countdown goes to stderr)
  --grafana-url, --loki-url, --tempo-url, --prometheus-url, --pyroscope-url, --provisioning,
  --env-file           as for lgtmp verify
  -h, --help
Exit status: 0 when every step showed what it looks for (the fault, the cause and, unless
--keep/--no-fix, the recovery), 1 otherwise, 2 on bad usage.`;

export const command = {
  verb: 'tour',
  help: HELP,
  options: {
    ...endpointOptions,
    service: { type: 'string' },
    wait: { type: 'string' },
    deadline: { type: 'string' },
    keep: { type: 'boolean' },
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
  tour: TourName;
  json: boolean;
  svc: string;
  revert: boolean;
  noFix: boolean;
  keep: boolean;
  waitMs: number;
  deadlineMs: number;
  env: Record<string, string>;
  /** --app-url overrides by service */
  appOverrides: Record<string, string>;
  opts: VerifyOptions;
}

export function parseTourArgs(argv: string[]): TourArgs {
  const { values, positionals } = parseFlags(command, argv);
  const names = TOUR_NAMES.join(', ');
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `which tour? (tours: ${names})` : `one tour at a time, not "${positionals.join(' ')}" (tours: ${names})`);
  const tour = choiceValue('<tour>', positionals[0]!, TOUR_NAMES, 'tour');
  const waitMs = values.wait === undefined ? 120_000 : durationValue('--wait', values.wait);
  if (waitMs < 30_000) throw new UsageError(`--wait "${values.wait}" is too short: at least 30s (it is also the comparison window)`);
  const deadlineMs = values.deadline === undefined ? 240_000 : durationValue('--deadline', values.deadline);
  if (values.revert && tour !== 'slow') throw new UsageError(`--revert is for tour slow (the bad regex back); tour ${tour} turns its fault off itself unless --keep`);
  if (values.keep && values['no-fix']) throw new UsageError('--keep and --no-fix: choose one (--keep leaves the fault on, --no-fix leaves the app as the tour found it)');
  const env = readEnv(values['env-file'] ?? envFile);
  const apps = Object.keys(appUrls(env));
  const appOverrides: Record<string, string> = {};
  for (const a of values['app-url'] ?? []) {
    const eq = a.indexOf('=');
    if (eq < 1 || eq === a.length - 1) throw new UsageError(`--app-url "${a}" is not <service>=<url>: use e.g. demo-app=http://127.0.0.1:8080`);
    const svc = choiceValue('--app-url', a.slice(0, eq), apps, 'app');
    appOverrides[svc] = urlValue('--app-url', a.slice(eq + 1));
  }
  const svc = values.service === undefined ? SEED_SERVICE : choiceValue('--service', values.service, apps, 'app');
  const why = notApplicable(SYMPTOMS[tour], svc);
  if (why) throw new UsageError(`--service "${svc}" has no tour ${tour}: ${why}`);
  return {
    tour,
    json: values.json ?? false,
    svc,
    revert: values.revert ?? false,
    noFix: values['no-fix'] ?? false,
    keep: values.keep ?? false,
    waitMs,
    deadlineMs,
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

/** The countdown: one line rewritten in place on a terminal, else a line every 15 s; always on stderr. */
function countdownPrinter(): { onWait: (what: string, leftMs: number) => void; clear: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  let shown = false;
  return {
    onWait(what, leftMs) {
      const text = `   waiting for ${what}: ${Math.ceil(leftMs / 1000)} s left`;
      if (tty) {
        process.stderr.write(`\r\x1b[K${text}`);
        shown = true;
      } else if (Date.now() - lastLine >= 15_000) {
        process.stderr.write(text + '\n');
        lastLine = Date.now();
      }
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseOrExit(command, argv, () => parseTourArgs(argv));
  if (typeof args === 'number') return args;
  const { json, svc } = args;
  const apps = appUrls(args.env, args.appOverrides);
  const print = (s: string) => {
    if (!json) process.stdout.write(s + '\n');
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
  const symptom = SYMPTOMS[args.tour];
  const cd = countdownPrinter();
  print(`lgtmp tour ${symptom.name}: ${symptom.question} (${svc}; the seed's map: ${symptom.seedPath})`);
  const report = await runTour({
    symptom,
    svc,
    apps,
    ctx: setup.ctx,
    clock: liveClock,
    waitMs: args.waitMs,
    deadlineMs: args.deadlineMs,
    minWindowMs: 120_000,
    faultFor: '10m',
    keep: args.keep,
    noFix: args.noFix,
    onWait: cd.onWait,
    onStep: (n: number, st: TourStep) => {
      cd.clear();
      print(`\n${n}. ${st.title}${st.ok ? '' : '  [not shown]'}`);
      for (const l of st.lines) print(`   ${l}`);
      if (st.link) print(`   open: ${st.link}`);
    },
  });
  cd.clear();
  if (symptom.name === 'slow' && !args.keep && !args.noFix) print('\nUndo with: lgtmp tour slow --revert');
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return report.ok ? 0 : 1;
}
