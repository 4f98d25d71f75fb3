// The CLI against a stand-in `docker` (Docker cannot run on our machines): the error paths the user
// can hit before and during `up`, that nothing is started when it must not be, and every verb's
// answer to --help, an unknown flag and each kind of bad value.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { services } from '../src/facts.js';
import { repoRoot, readEnv } from '../src/project.js';
import { parsePs } from '../src/docker.js';
import { freePort } from './harness/launcher.js';
import { goTool } from './harness/go-tool.js';
import { exampleFolders, exampleService, snippetOf } from './harness/example.js';

const cli = join(repoRoot, 'dist/src/cli.js');
const standIn = join(repoRoot, 'test/stand-in');

interface Run {
  code: number;
  out: string;
  calls: string[][];
}

/** A PATH with node, ss, and the stand-in docker (and docker-compose v1 when asked), nothing else. */
function binDir(opts: { docker: boolean; composeV1?: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lgtmp-bin-'));
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const tool of ['ss', 'lsof']) {
    try {
      symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`]).toString().trim(), join(dir, tool));
    } catch {
      /* not on this machine */
    }
  }
  if (opts.docker) symlinkSync(join(standIn, 'docker'), join(dir, 'docker'));
  if (opts.composeV1) symlinkSync(join(standIn, 'docker-compose'), join(dir, 'docker-compose'));
  return dir;
}

function runCli(
  args: string[],
  o: { scenario?: object; docker?: boolean; composeV1?: boolean; envFile?: string; whenUp?: (cli: ChildProcess) => unknown; composeValidate?: string; cwd?: string } = {},
): Promise<Run> {
  const log = join(mkdtempSync(join(tmpdir(), 'lgtmp-calls-')), 'calls.jsonl');
  const env: Record<string, string> = {
    PATH: binDir({ docker: o.docker ?? true, composeV1: o.composeV1 }),
    STAND_IN_DOCKER: JSON.stringify(o.scenario ?? {}),
    STAND_IN_DOCKER_LOG: log,
  };
  if (o.envFile) env.LGTMP_ENV_FILE = o.envFile;
  if (o.composeValidate) env.STAND_IN_COMPOSE_VALIDATE = o.composeValidate;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(o.cwd ? { cwd: o.cwd } : {}) });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    if (o.whenUp) {
      const whenUp = o.whenUp;
      const poll = setInterval(() => {
        if (existsSync(log) && readFileSync(log, 'utf8').includes('"up"')) {
          clearInterval(poll);
          void whenUp(child);
        }
      }, 50);
      child.on('close', () => clearInterval(poll));
    }
    child.on('close', (code) => {
      const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : [];
      resolve({ code: code ?? -1, out, calls });
    });
  });
}

const composeUp = (calls: string[][]): boolean => calls.some((c) => c[0] === 'compose' && c.includes('up'));
const running = (names: string[]) => names.map((Service) => ({ Service, State: 'running', Health: '', ExitCode: 0 }));

/** A .env whose host ports are free ports of this machine. */
async function envOnFreePorts(): Promise<string> {
  const env = readEnv();
  for (const key of Object.keys(env).filter((k) => k.endsWith('_PORT'))) env[key] = String(await freePort());
  const envFile = join(mkdtempSync(join(tmpdir(), 'lgtmp-env-')), '.env');
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return envFile;
}

/** Answers every service's readiness URL, as the containers would once started. */
async function answerReadiness(envFile: string, status = (_service: string) => 200): Promise<Server[]> {
  const env = readEnv(envFile);
  return Promise.all(
    services.map(async (service) => {
      const server = createServer((_req, res) => {
        res.statusCode = status(service.name);
        res.end(res.statusCode === 200 ? 'ready' : 'Ingester not ready');
      });
      await new Promise<void>((r) => server.listen(Number(env[service.portKey]), '127.0.0.1', r));
      return server;
    }),
  );
}

describe('lgtmp up: preflight', () => {
  it('without docker says Docker Engine + Compose v2 is needed and that nothing started', async () => {
    const r = await runCli(['up'], { docker: false });
    assert.equal(r.code, 1);
    assert.match(r.out, /Docker was not found.*Docker Engine and Compose v2\. Nothing was started\./);
    assert.match(r.out, /docs\.docker\.com/);
  });

  it('with the engine down names the cause and starts nothing', async () => {
    const r = await runCli(['up'], { scenario: { engine: 'down', compose: 'v2' } });
    assert.equal(r.code, 1);
    assert.match(r.out, /Docker Engine did not answer \(Cannot connect to the Docker daemon/);
    assert.match(r.out, /systemctl start docker/);
    assert.equal(composeUp(r.calls), false);
  });

  it('with a socket permission problem suggests the docker group', async () => {
    const r = await runCli(['up'], { scenario: { engine: 'permission', compose: 'v2' } });
    assert.equal(r.code, 1);
    assert.match(r.out, /usermod -aG docker/);
  });

  it('with Compose v1 only says v2 is needed', async () => {
    const r = await runCli(['up'], { scenario: { engine: 'ok', compose: 'none' }, composeV1: true });
    assert.equal(r.code, 1);
    assert.match(r.out, /Only Docker Compose v1 \(`docker-compose`\) is installed; lgtmp needs Compose v2/);
    assert.equal(composeUp(r.calls), false);
  });

  it('with no Compose at all says how to install it', async () => {
    const r = await runCli(['up'], { scenario: { engine: 'ok', compose: 'none' } });
    assert.equal(r.code, 1);
    assert.match(r.out, /Docker Compose v2 \(`docker compose`\) is not installed/);
  });

  it('names a busy port, its .env key and the process holding it, and starts nothing', async () => {
    const envFile = await envOnFreePorts();
    const grafanaPort = Number(readEnv(envFile).GRAFANA_PORT);
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(grafanaPort, '127.0.0.1', r));
    try {
      const r = await runCli(['up'], { scenario: { engine: 'ok', compose: 'v2', ps: [] }, envFile });
      assert.equal(r.code, 1);
      assert.match(r.out, new RegExp(`port ${grafanaPort} \\(grafana, GRAFANA_PORT\\) (is used by node \\(pid ${process.pid}\\)|is already in use)`));
      assert.match(r.out, /Nothing was started/);
      assert.equal(composeUp(r.calls), false);
    } finally {
      squatter.close();
    }
  });
});

describe('lgtmp up: starting', () => {
  const allRunning = running(services.map((s) => s.name));
  let servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('twice starts nothing twice', async () => {
    const envFile = await envOnFreePorts();
    const r = await runCli(['up'], { scenario: { engine: 'ok', compose: 'v2', ps: allRunning }, envFile });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /already up; nothing was started again/);
    assert.equal(composeUp(r.calls), false);
  });

  it('builds and starts with compose, one ready line per service, then Grafana and the click path', async () => {
    const envFile = await envOnFreePorts();
    const r = await runCli(['up', '--timeout', '60'], {
      scenario: { engine: 'ok', compose: 'v2', ps: [], psAfterUp: allRunning },
      envFile,
      whenUp: async () => (servers = servers.concat(await answerReadiness(envFile))),
    });
    assert.equal(r.code, 0, r.out);
    const up = r.calls.find((c) => c.includes('up'));
    assert.deepEqual(up?.slice(-4), ['up', '--detach', '--remove-orphans', '--build']);
    assert.ok(up?.includes('--env-file') && up.includes(envFile), 'compose reads the same .env');
    for (const s of services) assert.match(r.out, new RegExp(`✔ ${s.name} +ready after \\d+\\.\\ds`));
    assert.match(r.out, new RegExp(`Grafana: http://localhost:${readEnv(envFile).GRAFANA_PORT}`));
    assert.match(r.out, /Logs of \/slow \(Loki\) +http:\/\/localhost:\d+\/explore\?/);
  });

  it('when a service dies while starting, shows its last log lines and the command to see more', async () => {
    const envFile = await envOnFreePorts();
    const dead = allRunning.map((row) => (row.Service === 'loki' ? { ...row, State: 'exited', ExitCode: 1 } : row));
    const r = await runCli(['up', '--timeout', '60'], {
      scenario: { engine: 'ok', compose: 'v2', ps: [], psAfterUp: dead },
      envFile,
      whenUp: async () => (servers = servers.concat(await answerReadiness(envFile, (s) => (s === 'loki' ? 503 : 200)))),
    });
    assert.equal(r.code, 1);
    assert.match(r.out, /✘ loki: its container stopped \(exit code 1\)/);
    assert.match(r.out, /stand-in log line of loki/);
    assert.match(r.out, /see more: npm run lgtmp -- logs loki/);
    assert.match(r.out, /loki did not become ready/);
  });

  it('Ctrl-C during up says exactly what to run next', async () => {
    const envFile = await envOnFreePorts();
    // Ctrl-C once `compose up` runs (the stand-in then waits for it, as a long build would)
    const r = await runCli(['up'], { scenario: { engine: 'ok', compose: 'v2', ps: [], upSleepMs: 600_000 }, envFile, whenUp: (cli) => cli.kill('SIGINT') });
    assert.equal(r.code, 130);
    assert.match(r.out, /Interrupted\. Some services may already be running\./);
    assert.match(r.out, /continue starting: +npm start/);
    assert.match(r.out, /stop what started: +npm run stop/);
  });
});

describe('lgtmp up --with: your own compose services on the stack', () => {
  const allRunning = running(services.map((s) => s.name));
  let servers: Server[] = [];
  let composeValidate = '';
  const dir = mkdtempSync(join(tmpdir(), 'lgtmp-with-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const yours = file('yours.yaml', 'services:\n  my-app:\n    image: busybox\n    environment:\n      OTEL_EXPORTER_OTLP_ENDPOINT: http://alloy:4318\n    depends_on: [alloy]\n');
  before(async () => (composeValidate = await goTool('compose-validate')));
  after(() => servers.forEach((s) => s.close()));

  it('starts the stack and your services as one Compose project, and waits for them too', async () => {
    const envFile = await envOnFreePorts();
    const r = await runCli(['up', '--with', yours, '--timeout', '60'], {
      scenario: { engine: 'ok', compose: 'v2', ps: [], psAfterUp: [...allRunning, ...running(['my-app'])] },
      envFile,
      composeValidate,
      whenUp: async () => (servers = servers.concat(await answerReadiness(envFile))),
    });
    assert.equal(r.code, 0, r.out);
    const config = r.calls.findIndex((c) => c.includes('config'));
    const up = r.calls.findIndex((c) => c.includes('up'));
    assert.ok(config >= 0 && config < up, 'compose validated the files before anything started');
    const files = r.calls[up]!.flatMap((a, i, all) => (all[i - 1] === '-f' ? [a] : []));
    assert.deepEqual(files.slice(1), [yours], 'your file after ours, in one project');
    assert.match(r.out, /✔ my-app +ready after \d+\.\ds/);
  });

  // Each example's snippet as its README says to start it, from the lgtmp folder: Compose's loader accepts it merged
  // with ours, and its service is waited for.
  for (const folder of exampleFolders()) {
    it(`up --with ${snippetOf(folder)} (the example's own snippet) validates and starts ${folder}'s service with the stack`, async () => {
      const { service } = await exampleService(folder);
      const envFile = await envOnFreePorts();
      const r = await runCli(['up', '--with', snippetOf(folder), '--timeout', '60'], {
        scenario: { engine: 'ok', compose: 'v2', ps: [], psAfterUp: [...allRunning, ...running([service])] },
        envFile,
        composeValidate,
        cwd: repoRoot,
        whenUp: async () => (servers = servers.concat(await answerReadiness(envFile))),
      });
      assert.equal(r.code, 0, r.out);
      const up = r.calls.find((c) => c.includes('up'))!;
      assert.deepEqual(up.flatMap((a, i, all) => (all[i - 1] === '-f' ? [a] : [])).slice(1), [join(repoRoot, snippetOf(folder))]);
      assert.match(r.out, new RegExp(`✔ ${service} +ready after \\d+\\.\\ds`));
    });
  }

  it('refuses a file Compose cannot load, with its loader error, and starts nothing', async () => {
    const broken = file('broken.yaml', 'services:\n  my-app:\n    image: busybox\n    ports: [bad\n');
    const r = await runCli(['up', '--with', broken], { scenario: { engine: 'ok', compose: 'v2', ps: [] }, composeValidate });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`Docker Compose refused the --with file\\(s\\) ${broken}: failed to parse ${broken}: yaml: .*did not find expected ',' or ']'\\. Nothing was started\\.`));
    assert.equal(composeUp(r.calls), false);
    const unknownKey = file('unknown-key.yaml', 'services:\n  my-app:\n    imagee: busybox\n');
    const r2 = await runCli(['up', '--with', unknownKey], { scenario: { engine: 'ok', compose: 'v2', ps: [] }, composeValidate });
    assert.equal(r2.code, 1, r2.out);
    assert.match(r2.out, /services\.my-app.*imagee/);
    assert.equal(composeUp(r2.calls), false);
  });

  it('refuses a service that takes the name of one of ours, and starts nothing', async () => {
    const clash = file('clash.yaml', 'services:\n  grafana:\n    image: busybox\n');
    const r = await runCli(['up', '--with', clash], { scenario: { engine: 'ok', compose: 'v2', ps: [] }, composeValidate });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`${clash}: service "grafana" has the name of one of lgtmp's own services.*Nothing was started`));
    assert.equal(composeUp(r.calls), false);
  });

  it('status shows your services after ours; down removes them with the stack', async () => {
    const envFile = await envOnFreePorts();
    servers = servers.concat(await answerReadiness(envFile));
    const ps = [...allRunning, { Service: 'my-app', State: 'running', Health: 'starting', ExitCode: 0 }];
    const r = await runCli(['status'], { scenario: { engine: 'ok', compose: 'v2', ps }, envFile });
    assert.equal(r.code, 1, 'my-app is still starting');
    assert.match(r.out, /my-app +running +starting +up --with +- +no/);
    const down = await runCli(['down'], { scenario: { engine: 'ok', compose: 'v2' } });
    assert.ok(down.calls.find((c) => c.includes('down'))?.includes('--remove-orphans'), 'Compose removes the containers of services not in our file');
  });
});

describe('lgtmp down, status, logs', () => {
  let servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('down keeps data; --purge removes volumes', async () => {
    const keep = await runCli(['down'], { scenario: { engine: 'ok', compose: 'v2' } });
    assert.equal(keep.code, 0, keep.out);
    assert.equal(keep.calls.find((c) => c.includes('down'))?.includes('--volumes'), false);
    const purge = await runCli(['down', '--purge'], { scenario: { engine: 'ok', compose: 'v2' } });
    assert.equal(purge.code, 0, purge.out);
    assert.ok(purge.calls.find((c) => c.includes('down'))?.includes('--volumes'));
    assert.match(purge.out, /data were deleted/);
  });

  it('status shows state, health, version, port and each readiness answer', async () => {
    const envFile = await envOnFreePorts();
    servers = servers.concat(await answerReadiness(envFile, (s) => (s === 'pyroscope' ? 503 : 200)));
    const ps = running(services.map((s) => s.name)).map((row) => (row.Service === 'grafana' ? { ...row, Health: 'healthy' } : row));
    const r = await runCli(['status'], { scenario: { engine: 'ok', compose: 'v2', ps }, envFile });
    assert.equal(r.code, 1, 'not every service is ready');
    const env = readEnv(envFile);
    assert.match(r.out, new RegExp(`grafana +running +healthy +${env.GRAFANA_VERSION} +${env.GRAFANA_PORT} +yes +200 ready`));
    assert.match(r.out, new RegExp(`pyroscope +running +- +${env.PYROSCOPE_VERSION} +${env.PYROSCOPE_PORT} +no +503 Ingester not ready`));
    assert.match(r.out, /demo-app +running +- +built here/);
  });

  it('status with the engine down names the cause, and does not claim to have started anything', async () => {
    const r = await runCli(['status'], { scenario: { engine: 'down', compose: 'v2' } });
    assert.equal(r.code, 1);
    assert.match(r.out, /Docker Engine did not answer/);
    assert.doesNotMatch(r.out, /Nothing was started/);
  });

  it('parses both ps output formats of Compose v2', () => {
    const row = { Service: 'loki', State: 'running', Health: '', ExitCode: 0 };
    const expected = [{ service: 'loki', state: 'running', health: '', exitCode: 0 }];
    assert.deepEqual(parsePs(JSON.stringify(row)), expected);
    assert.deepEqual(parsePs(JSON.stringify([row])), expected);
    assert.deepEqual(parsePs(''), []);
  });
});

describe('every verb answers --help, an unknown flag and a bad value the same way', () => {
  const verbs = ['up', 'down', 'status', 'logs', 'open', 'verify', 'tour'] as const;
  /** Bad usage, per verb: the arguments and what the one line must say. */
  const badUsage: [string[], RegExp][] = [
    ...verbs.map((verb): [string[], RegExp] => [[verb, '--bogus'], /unknown flag --bogus \(flags: --[a-z]/]),
    [['up', '--timeout', 'abc'], /--timeout "abc" is not a duration: use 90s, 5m, 1h or a number of seconds/],
    [['up', '--timeout', '1.5h'], /--timeout "1\.5h" is not a duration/],
    [['up', '--timeout', '5d'], /--timeout "5d" is not a duration/],
    [['up', '--timeout'], /--timeout needs a value: --timeout <duration>/],
    [['up', '--no-build=yes'], /--no-build takes no value/],
    [['up', '--with', 'no-such-compose.yaml'], /--with "no-such-compose\.yaml" is not a file: use the path of a compose file/],
    [['down', '--purge=yes'], /--purge takes no value/],
    [['status', 'all'], /unexpected argument "all" \(lgtmp status takes flags only: --json, --help\)/],
    [['open', 'grafana'], /unexpected argument "grafana"/],
    [['logs'], /which service\? \(services: loki, tempo/],
    [['logs', 'lokii'], /<service> "lokii" is not a known service: use one of loki, tempo/],
    [['logs', 'loki', 'tempo'], /one service at a time/],
    [['logs', 'loki', '--tail', 'all'], /--tail "all" is not a count: use a whole number of at least 1/],
    [['verify', '--since', '2d'], /--since "2d" is not a duration: use 90s, 5m, 1h or a number of seconds/],
    [['verify', '--wait', '-5m'], /--wait needs a value: --wait <duration>/],
    [['verify', '--wait=-5m'], /--wait "-5m" is not a duration/],
    [['verify', '--service', 'demo-app,my app'], /--service "my app" is not a service name: use letters, digits and \. _ - \//],
    [['verify', '--service', 'demo-app', '--check', 'job-tag'], /--check job-tag runs for none of the services: a check of a service of your own, not of a demo app/],
    [['verify', '--service', 'my-app', '--check', 'seed-promql'], /--check seed-promql runs for none of the services: a demo app check/],
    [['verify', '--check', 'trace->logz'], /--check "trace->logz" is not a known check: use one of [^;]*\btraces, logs->trace, trace->logs/],
    [['verify', '--grafana-url', 'localhost:3000'], /--grafana-url "localhost:3000" is not a URL: use http:\/\/host:port \(port 1-65535\)/],
    [['verify', '--loki-url', 'http://127.0.0.1:99999'], /--loki-url "http:\/\/127\.0\.0\.1:99999" is not a URL/],
    [['verify', '--now', 'yesterday'], /--now "yesterday" is not a time: use unix seconds or an ISO 8601 date/],
    [['tour'], /which tour\? \(tours: slow, errors, leak, cpu, dependency, timeout\)/],
    [['tour', 'fast'], /<tour> "fast" is not a known tour: use one of slow/],
    [['tour', 'slow', '--wait', '2x'], /--wait "2x" is not a duration: use 90s, 5m, 1h/],
    [['tour', 'slow', '--wait', '10s'], /--wait "10s" is too short: at least 30s/],
    [['tour', 'slow', '--service', 'loki'], /--service "loki" is not a known app: use one of demo-app/],
    [['tour', 'slow', '--app-url', 'demo-app'], /--app-url "demo-app" is not <service>=<url>/],
    [['tour', 'slow', '--app-url', 'demo-app=127.0.0.1:8080'], /--app-url "127\.0\.0\.1:8080" is not a URL/],
  ];

  for (const verb of verbs) {
    for (const flag of ['--help', '-h']) {
      it(`${verb} ${flag} prints its usage and exits 0, touching no Docker`, async () => {
        const r = await runCli([verb, flag, '--bogus'], { scenario: { engine: 'ok', compose: 'v2' } });
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, new RegExp(`^Usage: lgtmp ${verb}\\b`));
        assert.match(r.out, /-h, --help/);
        assert.deepEqual(r.calls, []);
      });
    }
  }

  it('every flag a verb accepts is in its help', async () => {
    for (const verb of verbs) {
      const { command } = (await import(`../src/commands/${verb}.js`)) as { command: { help: string; options: Record<string, { short?: string }> } };
      for (const [name, option] of Object.entries(command.options)) {
        assert.match(command.help, new RegExp(`${option.short ? `-${option.short}, ` : ''}--${name}\\b`), `${verb} --help documents --${name}`);
      }
    }
  });

  for (const [args, message] of badUsage) {
    it(`${args.join(' ')}: one line, exit 2`, async () => {
      const r = await runCli(args, { scenario: { engine: 'ok', compose: 'v2' } });
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, new RegExp(`^lgtmp ${args[0]}: [^\\n]*; see lgtmp ${args[0]} --help\\n$`), `one line: ${r.out}`);
      assert.match(r.out, message);
      assert.deepEqual(r.calls, [], 'bad usage starts nothing');
    });
  }

  it('an unknown command is one line too', async () => {
    const r = await runCli(['bogus']);
    assert.equal(r.code, 2);
    assert.equal(r.out, 'lgtmp: unknown command "bogus" (commands: up, down, status, logs, open, verify, tour); see lgtmp --help\n');
  });
});
