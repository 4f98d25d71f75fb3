// The files that cannot import src/facts.ts, checked against it: compose.yaml, the apps'
// Dockerfiles and configs, Grafana's provisioning, Alloy's config, .env, the fault-switch contract
// and the recorded fixtures' versions. Every disagreement names its file and line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import {
  apps,
  CHAIN,
  composeUrl,
  datasources,
  FAULT_KINDS,
  APP_ROUTES,
  metrics,
  nextInChain,
  otelMetrics,
  OTLP_ENDPOINT,
  pinnedVersions,
  PROFILES_ENDPOINT,
  services,
  SPAN_LOGS_QUERY,
  SPAN_PROFILE_TYPE,
  type ServiceFacts,
} from '../src/facts.js';
import { envFile, readEnv, repoRoot } from '../src/project.js';
import { interpolateProvisioningValue } from '../src/verify/provisioning.js';
import { PROMETHEUS_VERSION } from './harness/prometheus.js';
import { exampleFolders, exampleService, snippetOf } from './harness/example.js';
import { loadAppImage } from './harness/app-env.js';

/** A value found in a file, and where. */
interface Found {
  file: string;
  line: number;
  value: string;
}

/** The disagreements of one test, each "file:line: what is X, src/facts.ts says Y"; asserted empty at the end. */
class Disagreements {
  readonly list: string[] = [];
  /** `found` must exist and equal `expected`. */
  expect(found: Found | undefined, expected: string | number, what: string, whereMissing: string): void {
    if (!found) this.list.push(`${whereMissing}: no ${what} (src/facts.ts says ${expected})`);
    else if (found.value !== String(expected)) this.list.push(`${found.file}:${found.line}: ${what} is ${found.value}, src/facts.ts says ${expected}`);
  }
  add(message: string): void {
    this.list.push(message);
  }
  assertNone(): void {
    assert.deepEqual(this.list, [], `\n${this.list.join('\n')}`);
  }
}

const rel = (file: string) => relative(repoRoot, file);

/** Every match of `pattern` (group 1 = the value) in a text file, with its line. */
function grep(file: string, pattern: RegExp): Found[] {
  return readFileSync(join(repoRoot, file), 'utf8')
    .split('\n')
    .flatMap((text, i) => [...text.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g'))].map((m) => ({ file, line: i + 1, value: m[1]! })));
}

/** A YAML file with line numbers for its nodes. */
class YamlFile {
  readonly doc: Document;
  private readonly lines = new LineCounter();
  constructor(
    readonly file: string,
    root = repoRoot,
  ) {
    this.doc = parseDocument(readFileSync(join(root, file), 'utf8'), { lineCounter: this.lines });
  }
  /** The scalar at `path` (keys and sequence indexes), with its line. */
  at(path: (string | number)[]): Found | undefined {
    const node = this.doc.getIn(path, true);
    if (!isScalar(node) || !node.range) return undefined;
    return { file: this.file, line: this.lines.linePos(node.range[0]).line, value: String(node.value) };
  }
  /** The line of the key at the end of `path`. */
  keyLine(path: (string | number)[]): number {
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === path.at(-1)) : undefined;
    const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
    return range ? this.lines.linePos(range[0]).line : 0;
  }
  keys(path: (string | number)[]): string[] {
    const node = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    return isMap(node) ? node.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
  }
  length(path: (string | number)[]): number {
    const node = this.doc.getIn(path, true);
    return isSeq(node) ? node.items.length : 0;
  }
}

/** compose.yaml's services are those of the facts, no more, no fewer. */
function composeServices(d: Disagreements, compose: YamlFile): void {
  const names = compose.keys(['services']);
  for (const name of names) if (!services.some((s) => s.name === name)) d.add(`compose.yaml:${compose.keyLine(['services', name])}: service ${name} is not in src/facts.ts`);
  for (const s of services) if (!names.includes(s.name)) d.add(`compose.yaml: no service ${s.name} (src/facts.ts has it)`);
}

/** Each port of the facts is published from its .env key to its container port; each image is pinned through .env. */
function composePorts(d: Disagreements, compose: YamlFile): void {
  for (const s of services) {
    const entries = Array.from({ length: compose.length(['services', s.name, 'ports']) }, (_, i) => compose.at(['services', s.name, 'ports', i])!);
    for (const port of s.ports) {
      const entry = entries.find((e) => e.value.includes(`\${${port.envKey}}`));
      d.expect(entry && { ...entry, value: entry.value.split(':').at(-1)! }, port.container, `${s.name}'s container port for ${port.envKey}`, `compose.yaml services.${s.name}.ports`);
    }
    for (const e of entries) {
      const key = /\$\{(\w+)\}/.exec(e.value)?.[1];
      if (!s.ports.some((p) => p.envKey === key)) d.add(`compose.yaml:${e.line}: ${s.name} publishes ${e.value}, not a port of src/facts.ts`);
    }
    if (s.versionKey) {
      const image = compose.at(['services', s.name, 'image']);
      d.expect(image && { ...image, value: image.value.split(':').at(-1)! }, `\${${s.versionKey}}`, `${s.name}'s image tag`, `compose.yaml services.${s.name}`);
    }
  }
}

/** Each app's language folder, port, service name, telemetry endpoints and next service of the chain. */
function composeApps(d: Disagreements, compose: YamlFile): void {
  for (const app of apps) {
    const env = (key: string) => compose.at(['services', app.name, 'environment', key]);
    const where = `compose.yaml services.${app.name}`;
    d.expect(compose.at(['services', app.name, 'build']), `./apps/${app.language}`, `${app.name}'s build folder`, where);
    d.expect(env('PORT'), app.ports[0]!.container, `${app.name}'s PORT`, where);
    d.expect(env('OTEL_SERVICE_NAME'), app.name, `${app.name}'s OTEL_SERVICE_NAME`, where);
    d.expect(env('OTEL_EXPORTER_OTLP_ENDPOINT'), OTLP_ENDPOINT, `${app.name}'s OTEL_EXPORTER_OTLP_ENDPOINT`, where);
    d.expect(env('PYROSCOPE_SERVER_ADDRESS'), PROFILES_ENDPOINT, `${app.name}'s PYROSCOPE_SERVER_ADDRESS`, where);
    for (const key of ['OTEL_PYROSCOPE_SERVER_ADDRESS', 'OTEL_PYROSCOPE_APPLICATION_NAME']) {
      const found = env(key);
      if (found) d.expect(found, key.endsWith('ADDRESS') ? PROFILES_ENDPOINT : app.name, `${app.name}'s ${key}`, where);
    }
    const next = nextInChain(app.name);
    const found = env('NEXT_SERVICE_URL');
    if (next) d.expect(found, composeUrl(next), `${app.name}'s NEXT_SERVICE_URL (the /chain order ${CHAIN.join(' -> ')})`, where);
    else if (found) d.add(`compose.yaml:${found.line}: ${app.name} is the end of the chain but has NEXT_SERVICE_URL ${found.value}`);
  }
}

describe('compose.yaml agrees with src/facts.ts', () => {
  const compose = new YamlFile('compose.yaml');
  const checks: [string, (d: Disagreements, compose: YamlFile) => void][] = [
    ['has the services of the facts, no more, no fewer', composeServices],
    ['publishes each port from its .env key to its container port, and pins each image through .env', composePorts],
    ["gives each app its folder, port, service name, telemetry endpoints and the chain's next service", composeApps],
  ];

  for (const [what, check] of checks) {
    it(what, () => {
      const d = new Disagreements();
      check(d, compose);
      d.assertNone();
    });
  }

  it('names the file and line of each disagreement (a compose.yaml changed on purpose)', () => {
    const root = mkdtempSync(join(tmpdir(), 'lgtmp-contract-'));
    const text = readFileSync(join(repoRoot, 'compose.yaml'), 'utf8');
    const broken = text
      .replace('"127.0.0.1:${LOKI_PORT}:3100"', '"127.0.0.1:${LOKI_PORT}:3101"')
      .replace('NEXT_SERVICE_URL: http://python-demo-app:18082', 'NEXT_SERVICE_URL: http://python-demo-app:18084')
      .replace('  grafana:\n', '  grafanaa:\n');
    writeFileSync(join(root, 'compose.yaml'), broken);
    const d = new Disagreements();
    for (const [, check] of checks) check(d, new YamlFile('compose.yaml', root));
    const line = (needle: string) => broken.split('\n').findIndex((l) => l.includes(needle)) + 1;
    assert.deepEqual(d.list.filter((m) => !m.startsWith('compose.yaml services.grafana')), [
      `compose.yaml:${line('  grafanaa:')}: service grafanaa is not in src/facts.ts`,
      'compose.yaml: no service grafana (src/facts.ts has it)',
      `compose.yaml:${line(':3101"')}: loki's container port for LOKI_PORT is 3101, src/facts.ts says 3100`,
      `compose.yaml:${line('python-demo-app:18084')}: java-demo-app's NEXT_SERVICE_URL (the /chain order ${CHAIN.join(' -> ')}) is http://python-demo-app:18084, src/facts.ts says http://python-demo-app:18082`,
    ]);
  });

  it("runs Alloy's UI on its container port", () => {
    const d = new Disagreements();
    const alloy = services.find((s) => s.name === 'alloy')!;
    const listen = grep('compose.yaml', /--server\.http\.listen-addr=0\.0\.0\.0:(\d+)/)[0];
    d.expect(listen, alloy.ports.find((p) => p.envKey === alloy.portKey)!.container, "Alloy's UI listen port", 'compose.yaml services.alloy.command');
    d.assertNone();
  });
});

describe("the apps' Dockerfiles and configs agree with src/facts.ts", () => {
  /** Where each app writes its default port and service name, as a pattern whose group 1 is the value. */
  const defaults: Record<string, { file: string; port: RegExp[]; serviceName: RegExp }> = {
    go: { file: 'apps/go/config.go', port: [/intVar\("PORT", (\d+)/], serviceName: /const defaultServiceName = "([^"]+)"/ },
    java: {
      file: 'apps/java/app/src/main/java/io/lgtmp/demo/DemoSettings.java',
      port: [/intSetting\(env, "PORT", (\d+)/],
      serviceName: /getProperty\("OTEL_SERVICE_NAME", "([^"]+)"\)/,
    },
    python: { file: 'apps/python/app.py', port: [/env_number\("PORT", int, (\d+)/], serviceName: /"OTEL_SERVICE_NAME", ""\)\.strip\(\) or "([^"]+)"/ },
    node: { file: 'apps/node/src/config.ts', port: [/DEFAULT_PORT = (\d+)/], serviceName: /OTEL_SERVICE_NAME'\]\?\.trim\(\) \|\| '([^']+)'/ },
  };
  const serviceNameFile: Record<string, string> = { go: 'apps/go/telemetry.go' };
  const extraPortFiles: Record<string, { file: string; pattern: RegExp }[]> = {
    java: [{ file: 'apps/java/app/src/main/resources/application.properties', pattern: /server\.port=\$\{PORT:(\d+)\}/ }],
  };

  for (const app of apps) {
    it(`${app.name}: Dockerfile ENV PORT and EXPOSE, and the app's own defaults`, () => {
      const d = new Disagreements();
      const port = app.ports[0]!.container;
      const dockerfile = `apps/${app.language}/Dockerfile`;
      const one = (file: string, pattern: RegExp, what: string, expected: string | number) => {
        const found = grep(file, pattern);
        if (found.length === 0) d.add(`${file}: no ${what} (looked for ${pattern}; src/facts.ts says ${expected})`);
        for (const f of found) d.expect(f, expected, what, file);
      };
      one(dockerfile, /^EXPOSE (\d+)/, 'EXPOSE', port);
      one(dockerfile, /\bPORT=(\d+)/, 'ENV PORT', port);
      for (const f of grep(dockerfile, /\bOTEL_SERVICE_NAME=(\S+)/)) d.expect(f, app.name, 'ENV OTEL_SERVICE_NAME', dockerfile);
      const own = defaults[app.language!]!;
      for (const pattern of own.port) one(own.file, pattern, 'default PORT', port);
      one(serviceNameFile[app.language!] ?? own.file, own.serviceName, 'default service name', app.name);
      for (const extra of extraPortFiles[app.language!] ?? []) one(extra.file, extra.pattern, 'default port', port);
      d.assertNone();
    });
  }
});

describe("Grafana's provisioning and Alloy's config agree with src/facts.ts", () => {
  const file = 'stack/grafana/provisioning/datasources/datasources.yaml';
  const provisioning = new YamlFile(file);
  const count = provisioning.length(['datasources']);
  const index = (uid: string) => Array.from({ length: count }, (_, i) => i).find((i) => provisioning.at(['datasources', i, 'uid'])?.value === uid);

  it('provisions each datasource with its uid, type and URL on the compose network', () => {
    const d = new Disagreements();
    for (const ds of Object.values(datasources)) {
      const i = index(ds.uid);
      if (i === undefined) {
        d.add(`${file}: no datasource with uid ${ds.uid} (src/facts.ts has it)`);
        continue;
      }
      d.expect(provisioning.at(['datasources', i, 'type']), ds.type, `datasource ${ds.uid}'s type`, file);
      d.expect(provisioning.at(['datasources', i, 'url']), composeUrl(ds.service) + ds.path, `datasource ${ds.uid}'s url`, file);
    }
    for (let i = 0; i < count; i++) {
      const uid = provisioning.at(['datasources', i, 'uid']);
      if (uid && !Object.values(datasources).some((ds) => ds.uid === uid.value)) d.add(`${file}:${uid.line}: datasource uid ${uid.value} is not in src/facts.ts`);
    }
    d.assertNone();
  });

  it('links spans to profiles of the profile type of the facts, and points every correlation at a known uid', () => {
    const d = new Disagreements();
    const tempo = index(datasources.tempo.uid)!;
    d.expect(provisioning.at(['datasources', tempo, 'jsonData', 'tracesToProfiles', 'profileTypeId']), SPAN_PROFILE_TYPE, 'tracesToProfiles.profileTypeId', file);
    const uids: string[] = Object.values(datasources).map((ds) => ds.uid);
    for (const ref of grep(file, /datasourceUid: (\S+)/)) if (!uids.includes(ref.value)) d.add(`${ref.file}:${ref.line}: datasourceUid ${ref.value} is not a uid of src/facts.ts`);
    for (const q of grep(file, /\b(traces_spanmetrics_\w+|traces_service_graph_\w+)/)) {
      if (![metrics.spanCalls, metrics.spanLatencyBuckets, metrics.serviceGraphRequests].includes(q.value as never)) d.add(`${q.file}:${q.line}: metric ${q.value} is not in src/facts.ts`);
    }
    d.assertNone();
  });

  it('links spans to logs with the query of the facts, as Grafana reads it ($$ -> $)', () => {
    const d = new Disagreements();
    const found = provisioning.at(['datasources', index(datasources.tempo.uid)!, 'jsonData', 'tracesToLogsV2', 'query']);
    d.expect(found && { ...found, value: interpolateProvisioningValue(found.value, {}) }, SPAN_LOGS_QUERY, 'tracesToLogsV2.query', file);
    d.assertNone();
  });

  it("Alloy listens on Alloy's container ports and sends to the backends' container ports", () => {
    const d = new Disagreements();
    const alloyFile = 'stack/alloy/config.alloy';
    const port = (name: string, envKey?: string) => new URL(composeUrl(name, envKey)).port;
    const listens = grep(alloyFile, /endpoint = "0\.0\.0\.0:(\d+)"/).map((f) => f.value);
    for (const key of ['ALLOY_OTLP_GRPC_PORT', 'ALLOY_OTLP_HTTP_PORT']) {
      if (!listens.includes(port('alloy', key))) d.add(`${alloyFile}: no receiver on 0.0.0.0:${port('alloy', key)} (${key} in src/facts.ts)`);
    }
    d.expect(grep(alloyFile, /listen_port\s*=\s*(\d+)/)[0], port('alloy', 'ALLOY_PROFILES_PORT'), "the profile receiver's listen_port", alloyFile);
    for (const name of ['loki', 'mimir', 'pyroscope']) {
      const found = grep(alloyFile, new RegExp(`"http://${name}:(\\d+)`));
      if (found.length === 0) d.add(`${alloyFile}: nothing is sent to ${name}`);
      for (const f of found) d.expect(f, port(name), `the port Alloy sends to ${name} on`, alloyFile);
    }
    d.assertNone();
  });
});

describe('.env, the fault-switch contract and the recordings agree with src/facts.ts', () => {
  const envName = rel(envFile);

  it('.env defines every host port and version of the facts, and nothing else of that kind', () => {
    const d = new Disagreements();
    const keys = grep(envName, /^([A-Z0-9_]+(?:_PORT|_VERSION))=/);
    const known = new Set(services.flatMap((s: ServiceFacts) => [...s.ports.map((p) => p.envKey), ...(s.versionKey ? [s.versionKey] : [])]));
    for (const k of keys) if (!known.has(k.value)) d.add(`${k.file}:${k.line}: ${k.value} is not a port or version of src/facts.ts`);
    for (const key of known) if (!keys.some((k) => k.value === key)) d.add(`${envName}: no ${key} (src/facts.ts uses it)`);
    const ports = grep(envName, /^[A-Z0-9_]+_PORT=(.*)$/);
    for (const p of ports) if (!/^\d+$/.test(p.value) || Number(p.value) < 1 || Number(p.value) > 65535) d.add(`${p.file}:${p.line}: ${p.value} is not a port`);
    for (const p of ports) if (ports.filter((q) => q.value === p.value).length > 1) d.add(`${p.file}:${p.line}: host port ${p.value} is used twice`);
    d.assertNone();
  });

  it('docs/fault-switches.md names the fault kinds, the routes and the metric of the facts', () => {
    const d = new Disagreements();
    const file = 'docs/fault-switches.md';
    const kinds = grep(file, /^\| `([a-z]+)` \|/).map((f) => f.value);
    if (kinds.join() !== FAULT_KINDS.join()) d.add(`${file}: the kinds table lists ${kinds.join(', ')}, src/facts.ts has ${FAULT_KINDS.join(', ')}`);
    const routes = grep(file, /^`route` is one of the app's own routes: (.*)\.$/)[0];
    d.expect(routes && { ...routes, value: routes.value.replace(/`/g, '') }, APP_ROUTES.join(', '), 'the routes a fault may name', file);
    for (const name of [otelMetrics.faultActive, metrics.faultActive]) if (grep(file, new RegExp(`\`(${name})`)).length === 0) d.add(`${file}: does not name the metric ${name}`);
    d.assertNone();
  });

  it("the recorded responses' versions are the pinned ones (.env; the Prometheus peer's module version)", () => {
    const d = new Disagreements();
    const versions = pinnedVersions();
    const dir = join(repoRoot, 'test/fixtures/recorded');
    // one folder of responses per component; settings/ holds the configs they ran with
    const responses = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /^(loki|tempo|pyroscope|prometheus)\/.*\.json$/.test(f));
    assert.ok(responses.length > 20, `found the recordings (${responses.length})`);
    for (const f of responses) {
      const file = join('test/fixtures/recorded', f);
      const version = grep(file, /^\s*"version": "([^"]+)"/)[0];
      const component = grep(file, /^\s*"component": "([^"]+)"/)[0]?.value;
      if (!version || component !== f.split('/')[0]) {
        d.add(`${file}: no "version", or its "component" is not ${f.split('/')[0]}`);
      } else if (component === 'prometheus') {
        if (!version.value.includes(`module ${PROMETHEUS_VERSION}`)) d.add(`${file}:${version.line}: version ${version.value}, the Prometheus peer is ${PROMETHEUS_VERSION}`);
      } else {
        d.expect(version, versions[component!] ?? `(no ${component} in src/facts.ts)`, `the ${component} version`, file);
      }
    }
    d.assertNone();
  });
});

describe("the examples' compose snippets agree with src/facts.ts and .env", () => {
  it('each runs one service under its own name, sends to Alloy, and publishes a host port of its own on 127.0.0.1', { timeout: 10 * 60_000 }, async () => {
    const d = new Disagreements();
    const env = readEnv();
    const ours = new Set(services.map((s) => s.name));
    const stackPorts = new Map(services.flatMap((s) => s.ports.map((p) => [Number(env[p.envKey]), p.envKey] as const)));
    const taken = new Map<number, string>();
    const folders = exampleFolders();
    assert.ok(folders.length > 0, 'examples/ has example folders');
    for (const folder of folders) {
      const file = snippetOf(folder);
      const e = await exampleService(folder);
      if (ours.has(e.service)) d.add(`${file}: service ${e.service} has the name of one of lgtmp's services (up --with refuses it)`);
      if (e.environment['OTEL_SERVICE_NAME'] !== e.service) d.add(`${file}: OTEL_SERVICE_NAME is ${e.environment['OTEL_SERVICE_NAME']}, the service is ${e.service}`);
      if (e.environment['OTEL_EXPORTER_OTLP_ENDPOINT'] !== OTLP_ENDPOINT) d.add(`${file}: OTEL_EXPORTER_OTLP_ENDPOINT is ${e.environment['OTEL_EXPORTER_OTLP_ENDPOINT']}, src/facts.ts says ${OTLP_ENDPOINT}`);
      if (e.environment['PYROSCOPE_SERVER_ADDRESS'] !== PROFILES_ENDPOINT) d.add(`${file}: PYROSCOPE_SERVER_ADDRESS is ${e.environment['PYROSCOPE_SERVER_ADDRESS']}, src/facts.ts says ${PROFILES_ENDPOINT}`);
      if (e.hostIp !== '127.0.0.1') d.add(`${file}: the host port is bound to ${e.hostIp || 'every address'}, the stack's to 127.0.0.1`);
      const clash = stackPorts.get(e.hostPort) ?? taken.get(e.hostPort);
      if (clash) d.add(`${file}: host port ${e.hostPort} is also ${clash}`);
      taken.set(e.hostPort, file);
    }
    d.assertNone();
  });

  // The README's "On the host" command is the container's settings by hand: it must set what the image and the snippet
  // set (OTEL_* and PYROSCOPE_*), with the stack's addresses as seen from the host, and listen on the host port.
  it("each README starts it as its snippet does, and its on-the-host command sets what the image and the snippet set", { timeout: 10 * 60_000 }, async () => {
    const d = new Disagreements();
    const env = readEnv();
    const hostAddress = (value: string): string => value.replace(/\/\/([a-z0-9-]+):(\d+)/, (whole, host: string, port: string) => {
      const fact = services.find((s) => s.name === host)?.ports.find((p) => p.container === Number(port));
      return fact ? `//localhost:${env[fact.envKey]}` : whole;
    });
    for (const folder of exampleFolders()) {
      const file = `examples/${folder}/README.md`;
      const text = readFileSync(join(repoRoot, file), 'utf8');
      const e = await exampleService(folder);
      for (const said of [`up --with ${snippetOf(folder)}`, `localhost:${e.hostPort}/`, `verify --service ${e.service}`]) {
        if (!text.includes(said)) d.add(`${file}: does not say \`${said}\``);
      }
      const block = /\*\*On the host\*\*[^]*?```sh\n([^]*?)```/.exec(text)?.[1];
      if (!block) { d.add(`${file}: no "**On the host**" section with a sh block`); continue; }
      const host = new Map([...block.matchAll(/(?:^|\s)([A-Z][A-Z0-9_]*)=('[^']*'|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^'|'$/g, '')]));
      if (host.get('PORT') !== String(e.hostPort)) d.add(`${file}: the host command sets PORT=${host.get('PORT') ?? '(nothing)'}, the snippet publishes ${e.hostPort}`);
      const image = await loadAppImage(e.service, [join(repoRoot, snippetOf(folder))]);
      const imageEnv = Object.fromEntries(image.image.Env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      const container = { ...imageEnv, ...e.environment };
      const telemetry = (name: string): boolean => /^(OTEL|PYROSCOPE)_/.test(name);
      for (const [name, value] of Object.entries(container).filter(([n]) => telemetry(n))) {
        if (!host.has(name)) d.add(`${file}: the host command does not set ${name} (the ${name in e.environment ? 'snippet' : 'image'} sets ${value})`);
        else if (hostAddress(value) !== value && host.get(name) !== hostAddress(value)) d.add(`${file}: the host command sets ${name}=${host.get(name)}, from the host that is ${hostAddress(value)}`);
      }
      for (const name of [...host.keys()].filter((n) => telemetry(n) && !(n in container))) d.add(`${file}: the host command sets ${name}, which neither the image nor the snippet sets`);
    }
    d.assertNone();
  });
});
