// Static validation of what users run: compose.yaml through compose-go (the loader Docker
// Compose itself uses), the .env it reads, the component configs and Grafana provisioning.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { run } from './harness/cache.js';
import { goTool } from './harness/go-tool.js';
import { services } from '../src/facts.js';
import { composeFile, envFile, readEnv, repoRoot } from '../src/project.js';


interface ComposeService {
  image?: string;
  build?: { context: string };
  ports?: { host_ip?: string; published?: string; target: number }[];
  volumes?: { type: string; source: string; target: string }[];
  mem_limit?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
}
interface ComposeProject {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

describe('compose.yaml, loaded by compose-go', () => {
  let project: ComposeProject;
  const env = readEnv();
  const raw = readFileSync(composeFile, 'utf8');

  before(async () => {
    const result = await run(await goTool('compose-validate'), [composeFile]);
    project = JSON.parse(result.stdout) as ComposeProject;
  });

  it('has exactly the services the CLI knows', () => {
    assert.deepEqual(Object.keys(project.services).sort(), services.map((s) => s.name).sort());
  });

  it('takes every image tag from .env, and .env defines every variable compose uses', () => {
    for (const line of raw.split('\n').filter((l) => /^\s+image:/.test(l))) {
      assert.match(line, /image: grafana\/[a-z]+:\$\{[A-Z]+_VERSION\}$/, `image not pinned through .env: ${line.trim()}`);
    }
    for (const s of services.filter((s) => s.versionKey)) {
      assert.equal(project.services[s.name]?.image?.split(':')[1], env[s.versionKey!], s.name);
    }
    const used = new Set([...raw.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!));
    for (const key of used) assert.ok(key in env, `compose.yaml uses \${${key}} but .env does not define it`);
  });

  it('binds every host port to 127.0.0.1, on the port .env names', () => {
    for (const [name, service] of Object.entries(project.services)) {
      for (const port of service.ports ?? []) assert.equal(port.host_ip, '127.0.0.1', `${name} publishes ${port.target} beyond localhost`);
    }
    for (const s of services) {
      const published = (project.services[s.name]?.ports ?? []).map((p) => Number(p.published));
      for (const { envKey: key } of s.ports) assert.ok(published.includes(Number(env[key])), `${s.name} does not publish ${key}=${env[key]}`);
    }
  });

  it('mounts only files that exist, and keeps data in named volumes', () => {
    for (const [name, service] of Object.entries(project.services)) {
      for (const v of service.volumes ?? []) {
        if (v.type === 'bind') assert.ok(existsSync(v.source), `${name} mounts missing ${v.source}`);
        else assert.equal(v.type, 'volume', `${name}: ${v.type}`);
      }
    }
    for (const name of ['loki', 'tempo', 'mimir', 'pyroscope', 'grafana']) {
      assert.ok(project.services[name]?.volumes?.some((v) => v.type === 'volume' && v.source === `${name}-data`), `${name} data volume`);
    }
  });

  it("limits the memory of every service, and README's memory figure is their sum", () => {
    for (const [name, service] of Object.entries(project.services)) assert.ok(Number(service.mem_limit) > 0, `${name} has no mem_limit`);
    const sumGiB = (Object.values(project.services).reduce((sum, s) => sum + Number(s.mem_limit), 0) / 2 ** 30).toFixed(1);
    const claims = readFileSync(join(repoRoot, 'README.md'), 'utf8')
      .split('\n')
      .map((text, i) => ({ line: i + 1, text }))
      .filter((l) => l.text.includes('mem_limit'))
      .flatMap((l) => [...l.text.matchAll(/(\d+(?:\.\d+)?) ?G(?:i?B)\b/g)].map((m) => ({ ...l, figure: m[1]! })));
    assert.ok(claims.length > 0, 'README states the sum of the mem_limits (a line with mem_limit and a GiB figure)');
    for (const c of claims) assert.equal(c.figure, sumGiB, `README.md:${c.line}: ${c.figure} GiB, the mem_limits of compose.yaml add up to ${sumGiB} GiB`);
  });

  it('builds each demo app from its folder, with a Dockerfile there', () => {
    for (const s of services.filter((s) => s.kind === 'app')) {
      const context = project.services[s.name]?.build?.context;
      assert.ok(context && existsSync(join(context, 'Dockerfile')), `${s.name}: no Dockerfile in ${context}`);
    }
  });

  it('starts the backends before Alloy and Grafana, and Alloy before the apps', () => {
    for (const consumer of ['alloy', 'grafana']) {
      for (const backend of ['loki', 'tempo', 'mimir', 'pyroscope']) {
        assert.ok(project.services[consumer]?.depends_on?.[backend], `${consumer} must depend on ${backend}`);
      }
    }
    for (const s of services.filter((s) => s.kind === 'app')) assert.ok(project.services[s.name]?.depends_on?.alloy, `${s.name} -> alloy`);
  });

  it('gives Grafana anonymous Admin, as the seed does', () => {
    const grafana = project.services.grafana!.environment!;
    assert.equal(grafana.GF_AUTH_ANONYMOUS_ENABLED, 'true');
    assert.equal(grafana.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Admin');
  });

  it('rejects an unknown key, as Docker Compose would', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgtmp-compose-'));
    writeFileSync(join(dir, 'compose.yaml'), raw.replace('  loki:\n', '  loki:\n    restart_policy: always\n'));
    copyFileSync(envFile, join(dir, '.env'));
    const result = await run(await goTool('compose-validate'), [join(dir, 'compose.yaml')], { allowFailure: true });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /services\.loki.*restart_policy/);
  });
});

const stackDir = join(repoRoot, 'stack');
const yamlConfigs = ['tempo/tempo.yaml', 'loki/loki.yaml', 'mimir/mimir.yaml', 'pyroscope/pyroscope.yaml', 'grafana/provisioning/datasources/datasources.yaml', 'grafana/provisioning/dashboards/dashboards.yaml'];

describe('component configs', () => {
  it('every YAML config parses to a mapping', () => {
    for (const file of yamlConfigs) {
      const doc = parseYaml(readFileSync(join(stackDir, file), 'utf8')) as unknown;
      assert.equal(typeof doc, 'object', file);
    }
  });

  it('Alloy: every component a pipeline forwards to is defined', () => {
    const text = readFileSync(join(stackDir, 'alloy/config.alloy'), 'utf8').replace(/\/\/.*$/gm, '');
    const defined = new Set([...text.matchAll(/^([a-z_.]+) "([a-z_]+)" \{/gm)].map((m) => `${m[1]}.${m[2]}`));
    const referenced = [...text.matchAll(/\b((?:otelcol|pyroscope|prometheus)\.[a-z_.]+?)\.(input|receiver|targets)\b/g)].map((m) => m[1]!);
    assert.ok(referenced.length >= 8, 'found the pipeline references');
    for (const ref of referenced) assert.ok(defined.has(ref), `config.alloy forwards to ${ref}, which is not defined`);
    assert.equal((text.match(/\{/g) ?? []).length, (text.match(/\}/g) ?? []).length, 'balanced braces');
  });

  it('the hosts the configs name are compose services', () => {
    const names = new Set(services.map((s) => s.name));
    for (const file of [...yamlConfigs, 'alloy/config.alloy']) {
      for (const m of readFileSync(join(stackDir, file), 'utf8').matchAll(/https?:\/\/([a-z-]+):\d+/g)) {
        assert.ok(names.has(m[1]!), `${file} points at ${m[0]}, not a compose service`);
      }
    }
  });
});

describe('Grafana provisioning', () => {
  const file = join(stackDir, 'grafana/provisioning/datasources/datasources.yaml');
  const text = readFileSync(file, 'utf8');
  const doc = parseYaml(text) as { datasources: { uid: string; type: string; jsonData?: Record<string, unknown> }[] };

  it('escapes every literal $ as $$ (Grafana expands $VAR in provisioning files)', () => {
    const body = text.replace(/^\s*#.*$/gm, '');
    const single = [...body.matchAll(/(?<!\$)\$(?!\$)/g)];
    assert.equal(single.length, 0, `unescaped $ at: ${single.map((m) => body.slice(m.index! - 10, m.index! + 15)).join(' | ')}`);
  });

  it('every datasourceUid it references is provisioned', () => {
    const uids = new Set(doc.datasources.map((d) => d.uid));
    const refs = [...text.matchAll(/datasourceUid:\s*"?([a-z0-9-]+)"?/g)].map((m) => m[1]!);
    assert.ok(refs.length >= 7);
    for (const ref of refs) assert.ok(uids.has(ref), `datasourceUid ${ref} is not provisioned`);
  });

  it('provisions each correlation of the click path', () => {
    const byUid = Object.fromEntries(doc.datasources.map((d) => [d.uid, d]));
    assert.equal(byUid.pyroscope?.type, 'grafana-pyroscope-datasource');
    const tempo = byUid.tempo!.jsonData!;
    for (const key of ['tracesToLogsV2', 'tracesToMetrics', 'tracesToProfiles', 'serviceMap', 'nodeGraph']) assert.ok(tempo[key], `tempo.${key}`);
    const derived = (byUid.loki!.jsonData!.derivedFields as { matcherType: string; matcherRegex: string; datasourceUid: string }[])[0]!;
    assert.deepEqual([derived.matcherType, derived.matcherRegex, derived.datasourceUid], ['label', 'trace_id', 'tempo']);
    const exemplarLabels = (byUid.mimir!.jsonData!.exemplarTraceIdDestinations as { name: string }[]).map((e) => e.name).sort();
    assert.deepEqual(exemplarLabels, ['traceID', 'trace_id']);
  });

  it('every provisioned dashboard file is JSON', () => {
    const dir = join(stackDir, 'grafana/dashboards');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) JSON.parse(readFileSync(join(dir, f), 'utf8'));
  });
});
