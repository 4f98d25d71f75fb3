// The LGTMP dashboards (dashboards/*.ts -> stack/grafana/dashboards/*.json):
//  1. the committed JSON is exactly what the code generates;
//  2. the JSON is valid for the pinned Grafana 13 (schema version, core panel types, provisioned
//     datasource uids and types, grid, ids, variables, links between the dashboards);
//  3. every PromQL expression of every panel (and the service variable, and the queries Grafana's
//     Tempo service map derives) runs on a real Prometheus 3 fed by the real Go demo app plus the
//     Tempo-generated series written in their recorded shape, and returns series; exemplars exist
//     for every latency panel that shows them;
//  4. every LogQL / TraceQL / Pyroscope query, with its variables substituted, is one the real
//     Loki / Tempo / Pyroscope answered with data in test/fixtures/recorded (syntax-level evidence only:
//     those backends cannot run here), or is listed below as composed of recorded parts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parse as parseYaml } from 'yaml';

import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

import { outputDir, renderDashboards, staleFiles } from '../dashboards/generate.js';
import {
  dashboardUids,
  defaultService,
  faultsAnnotation,
  logql,
  memorySources,
  memoryBranch,
  profileTypeMenu,
  promql,
  pyroscope,
  serviceMapMetrics,
  serviceMapPromql,
  traceql,
} from '../dashboards/queries.js';
import { goApp } from './apps/go.js';
import { apps, CHAIN, SEED_SERVICE } from '../src/facts.js';
import { repoRoot } from './harness/cache.js';
import { startAppWithPeers, type AppWithPeers } from './harness/app-with-peers.js';
import { waitFor } from './harness/launcher.js';
import type { OtlpReceiver } from './harness/otlp-receiver.js';
import type { PrometheusPeer } from './harness/prometheus.js';
import { fixtureIndex, readFixture, recordedTempoShapes, seriesKey, writeRecordedTempoSeries } from './dashboards/recorded-shapes.js';

type Json = Record<string, unknown>;
type AnyPanel = Json & { type: string; id?: number; title?: string; gridPos?: { x: number; y: number; w: number; h: number }; targets?: Json[]; datasource?: Json; panels?: AnyPanel[] };

const rendered = renderDashboards();
const dashboards = rendered.map((r) => r.dashboard);

// ------------------------------------------------------------------------------------------------
// Grafana facts the checks rely on
// ------------------------------------------------------------------------------------------------

/**
 * Schema versions Grafana migrates (apps/dashboard/pkg/migration/schemaversion/migrations.go on
 * Grafana's main branch: MIN_VERSION = 9, LATEST_VERSION = 42, and v43.go exists on newer commits).
 * Grafana 13 runs every migration from a dashboard's schemaVersion up to its latest.
 */
const SCHEMA_MIN = 9;
const SCHEMA_MAX = 43;

/** Panel plugins that ship inside Grafana 13 (public/app/plugins/panel/<id>), the ones used here. */
const CORE_PANEL_TYPES = new Set(['row', 'timeseries', 'stat', 'table', 'logs', 'traces', 'nodeGraph', 'flamegraph', 'text', 'gauge', 'bargauge', 'barchart', 'heatmap', 'piechart']);

/** Grafana's own datasource of the built-in "Annotations & Alerts" query (not provisioned). */
const BUILT_IN_GRAFANA_DS = { type: 'grafana', uid: '-- Grafana --' };

/** Grafana's global variables and data-link macros the dashboards use. */
const GRAFANA_GLOBALS = new Set(['__rate_interval', '__range', '__auto', '__interval', '__field', '__value', '__url_time_range', '__data']);

interface ProvisionedDatasource { uid: string; type: string; name: string }

function provisionedDatasources(): ProvisionedDatasource[] {
  const file = join(repoRoot, 'stack', 'grafana', 'provisioning', 'datasources', 'datasources.yaml');
  const doc = parseYaml(readFileSync(file, 'utf8')) as { datasources?: ProvisionedDatasource[] };
  assert.ok(doc.datasources && doc.datasources.length > 0, `${file} lists no datasources`);
  return doc.datasources;
}

// ------------------------------------------------------------------------------------------------
// Walking the dashboard JSON
// ------------------------------------------------------------------------------------------------

function allPanels(d: Dashboard): AnyPanel[] {
  const out: AnyPanel[] = [];
  for (const p of (d.panels ?? []) as unknown as AnyPanel[]) {
    out.push(p);
    for (const inner of p.panels ?? []) out.push(inner);
  }
  return out;
}

interface Target { dashboard: string; panel: string; ds: string; target: Json }

function allTargets(): Target[] {
  const out: Target[] = [];
  for (const d of dashboards) {
    for (const p of allPanels(d)) {
      for (const t of p.targets ?? []) {
        const ds = ((t.datasource ?? p.datasource) as { uid?: string } | undefined)?.uid ?? '';
        out.push({ dashboard: d.uid ?? '', panel: p.title ?? '', ds, target: t });
      }
    }
  }
  return out;
}

/** Every object with a `uid` and `type` that sits under a `datasource` key, anywhere in the JSON. */
function datasourceRefs(node: unknown, path: string, out: { path: string; ref: Json }[] = []): { path: string; ref: Json }[] {
  if (Array.isArray(node)) node.forEach((v, i) => datasourceRefs(v, `${path}[${i}]`, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Json)) {
      if ((k === 'datasource' || k === 'datasourceUid') && v !== null) out.push({ path: `${path}.${k}`, ref: typeof v === 'string' ? { uid: v } : (v as Json) });
      datasourceRefs(v, `${path}.${k}`, out);
    }
  }
  return out;
}

function strings(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) node.forEach((v) => strings(v, out));
  else if (node !== null && typeof node === 'object') Object.values(node as Json).forEach((v) => strings(v, out));
  return out;
}

/** Grafana's variable references: $name, ${name}, ${name:format}, [[name]]. */
function variableRefs(s: string): string[] {
  const refs: string[] = [];
  for (const m of s.matchAll(/\$\{([A-Za-z0-9_]+)(?:[.:][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z0-9_]+)\]\]/g)) {
    refs.push((m[1] ?? m[2] ?? m[3])!);
  }
  return refs;
}

/** What Grafana would send for the selected service, with the overview's default 30 min range. */
const SUBSTITUTIONS: [RegExp, string][] = [
  [/\$\{service(?::[a-z]+)?\}|\$service\b/g, defaultService],
  [/\$\{profile_type\}|\$profile_type\b/g, pyroscope.cpuProfileType],
  // Mimir's timeInterval is 15s: $__rate_interval = max(4 x 15s, step + 15s) = 1m for a 30 min range.
  [/\$__rate_interval\b/g, '1m'],
  [/\$__range\b/g, '30m'],
  // Loki's $__auto for a 30 min range; 5m is the window the recorded query used.
  [/\$__auto\b/g, '5m'],
];

function substitute(expr: string): string {
  let out = expr;
  for (const [re, v] of SUBSTITUTIONS) out = out.replace(re, v);
  assert.doesNotMatch(out, /\$/, `unsubstituted variable left in ${out}`);
  return out;
}

// ------------------------------------------------------------------------------------------------
// 1 + 2: generated, committed, valid
// ------------------------------------------------------------------------------------------------

describe('dashboards as code', () => {
  it('the committed JSON in stack/grafana/dashboards is exactly what dashboards/*.ts generates', () => {
    const stale = staleFiles();
    assert.deepEqual(stale, [], `stale or missing dashboard JSON in ${outputDir()}: ${stale.join(', ')}. Run \`npm run dashboards\` and commit the result.`);
  });

  it('writes into the folder Grafana provisions (provider file and compose mount agree)', () => {
    const provider = parseYaml(readFileSync(join(repoRoot, 'stack', 'grafana', 'provisioning', 'dashboards', 'dashboards.yaml'), 'utf8')) as {
      providers: { type: string; options: { path: string } }[];
    };
    const paths = provider.providers.filter((p) => p.type === 'file').map((p) => p.options.path);
    assert.equal(paths.length, 1, 'one file provider');
    const compose = parseYaml(readFileSync(join(repoRoot, 'compose.yaml'), 'utf8')) as { services: Record<string, { volumes?: string[] }> };
    const mounts = (compose.services.grafana?.volumes ?? []).map((v) => v.split(':'));
    assert.ok(
      mounts.some(([src, dst]) => src === './stack/grafana/dashboards' && dst === paths[0]),
      `compose.yaml mounts ./stack/grafana/dashboards at ${paths[0]}: ${JSON.stringify(mounts)}`,
    );
    assert.equal(outputDir(), join(repoRoot, 'stack', 'grafana', 'dashboards'));
  });

  it('generates the overview and the per-service drill-down', () => {
    assert.deepEqual(rendered.map((r) => r.file).sort(), [`${dashboardUids.overview}.json`, `${dashboardUids.service}.json`]);
  });

  it('is a schema version Grafana 13 migrates, with a valid uid and title', () => {
    for (const d of dashboards) {
      assert.ok(Number.isInteger(d.schemaVersion) && d.schemaVersion >= SCHEMA_MIN && d.schemaVersion <= SCHEMA_MAX, `${d.uid}: schemaVersion ${d.schemaVersion}`);
      assert.match(d.uid ?? '', /^[A-Za-z0-9_-]{1,40}$/, `${d.title}: uid`);
      assert.ok((d.title ?? "").length > 0);
      assert.equal(d.id, undefined, `${d.uid}: a provisioned dashboard must not carry a numeric id`);
      const builtIn = (d.annotations?.list ?? []).find((a) => a.builtIn === 1);
      assert.ok(builtIn, `${d.uid}: built-in annotation query`);
    }
  });

  it('uses only panel types that ship with core Grafana 13', () => {
    const used = new Set<string>();
    for (const d of dashboards) for (const p of allPanels(d)) {
      assert.ok(CORE_PANEL_TYPES.has(p.type), `${d.uid} "${p.title}": panel type ${p.type} is not a core Grafana 13 panel`);
      used.add(p.type);
    }
    for (const t of ['timeseries', 'stat', 'table', 'logs', 'nodeGraph', 'flamegraph', 'text']) assert.ok(used.has(t), `no ${t} panel`);
  });

  it('gives each panel a unique id and a place on the 24-column grid without overlaps', () => {
    for (const d of dashboards) {
      const panels = allPanels(d);
      const ids = panels.map((p) => p.id);
      assert.ok(ids.every((id) => Number.isInteger(id)), `${d.uid}: every panel has an id`);
      assert.equal(new Set(ids).size, ids.length, `${d.uid}: panel ids are unique`);
      const boxes = panels.map((p) => {
        const g = p.gridPos;
        assert.ok(g && g.w > 0 && g.h > 0 && g.x >= 0 && g.y >= 0 && g.x + g.w <= 24, `${d.uid} "${p.title}": gridPos ${JSON.stringify(g)}`);
        return { title: p.title, ...g };
      });
      for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(!overlap, `${d.uid}: "${a.title}" overlaps "${b.title}"`);
      }
    }
  });

  it('references only datasources that are provisioned, with their provisioned type', () => {
    const provisioned = provisionedDatasources();
    const byUid = new Map(provisioned.map((p) => [p.uid, p]));
    for (const uid of ['mimir', 'loki', 'tempo', 'pyroscope']) assert.ok(byUid.has(uid), `datasource ${uid} is provisioned`);
    let count = 0;
    for (const d of dashboards) {
      for (const { path, ref } of datasourceRefs(d, d.uid ?? '')) {
        count++;
        if (ref.uid === BUILT_IN_GRAFANA_DS.uid) {
          assert.equal(ref.type, BUILT_IN_GRAFANA_DS.type, path);
          continue;
        }
        const p = byUid.get(String(ref.uid));
        assert.ok(p, `${path}: datasource uid ${String(ref.uid)} is not provisioned in datasources.yaml`);
        if (ref.type !== undefined) assert.equal(ref.type, p.type, `${path}: type of ${p.uid}`);
      }
    }
    assert.ok(count > 30, 'found the datasource references');
  });

  it('gives every query a refId, unique within its panel, and the datasource of its panel', () => {
    for (const d of dashboards) for (const p of allPanels(d)) {
      const refIds = (p.targets ?? []).map((t) => t.refId);
      assert.ok(refIds.every((r) => typeof r === 'string' && r.length > 0), `${d.uid} "${p.title}": refIds`);
      assert.equal(new Set(refIds).size, refIds.length, `${d.uid} "${p.title}": duplicate refId`);
      for (const t of p.targets ?? []) assert.deepEqual(t.datasource, p.datasource, `${d.uid} "${p.title}": query and panel datasource differ`);
    }
  });

  it('defines every variable it references', () => {
    for (const d of dashboards) {
      const defined = new Set((d.templating?.list ?? []).map((v) => v.name));
      assert.ok(defined.has('service'), `${d.uid}: service variable`);
      for (const s of strings(d.panels)) for (const ref of variableRefs(s)) {
        assert.ok(defined.has(ref) || GRAFANA_GLOBALS.has(ref), `${d.uid}: "${s}" references $${ref}, which is not defined`);
      }
    }
  });

  it('has custom variables whose values parse into their options as Grafana splits them', () => {
    for (const d of dashboards) for (const v of d.templating?.list ?? []) {
      if (v.type !== 'custom') continue;
      // Grafana: values are split on unescaped commas; "text : value" names an option.
      const parts = (String(v.query).match(/(?:\\,|[^,])+/g) ?? []).map((p) => {
        const m = /^\s*(.+)\s:\s(.+)$/.exec(p);
        return m ? { text: m[1]!.trim(), value: m[2]!.trim() } : { text: p.trim(), value: p.trim() };
      });
      assert.deepEqual(parts, (v.options ?? []).map((o) => ({ text: o.text, value: o.value })), `${d.uid}: variable ${v.name}`);
      assert.ok(parts.some((p) => p.value === (v.current?.value as string)), `${d.uid}: ${v.name} current value is an option`);
    }
  });

  it('marks the time a fault switch was on with a Faults annotation on Mimir (lgtmp_fault_active) on both dashboards', () => {
    for (const d of dashboards) {
      const faults = (d.annotations?.list ?? []).filter((a) => a.name === 'Faults');
      assert.equal(faults.length, 1, `${d.uid}: one Faults annotation`);
      const a = faults[0]!;
      assert.deepEqual(a.datasource, { type: 'prometheus', uid: 'mimir' });
      assert.equal(a.enable, true);
      assert.deepEqual([a.expr, a.titleFormat, a.tagKeys, a.step], [faultsAnnotation.expr, faultsAnnotation.titleFormat, faultsAnnotation.tagKeys, faultsAnnotation.step]);
      // the title and tags name labels the gauge has (docs/fault-switches.md: fault; Mimir: job)
      for (const l of [...faultsAnnotation.titleFormat.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!)) assert.ok(['fault', 'job'].includes(l), l);
    }
  });

  it('links each service to the drill-down, carrying the service and the time range', () => {
    const uids = new Set(dashboards.map((d) => d.uid));
    const overview = dashboards.find((d) => d.uid === dashboardUids.overview)!;
    let drillDownLinks = 0;
    for (const d of dashboards) {
      for (const s of strings(d.panels).filter((x) => x.startsWith('/d/'))) {
        const uid = s.split('/')[2]!;
        assert.ok(uids.has(uid), `${d.uid}: link ${s} points at an unknown dashboard`);
        assert.match(s, /\$\{__url_time_range\}/, `${d.uid}: link ${s} keeps the time range`);
        assert.match(s, /var-service=\$\{__(field\.labels\.service|value\.raw)\}|\$\{service:queryparam\}/, `${d.uid}: link ${s} carries the service`);
        if (d === overview && uid === dashboardUids.service) drillDownLinks++;
      }
      for (const l of d.links ?? []) {
        assert.ok(uids.has((l.url ?? '').split('/')[2]), `${d.uid}: header link ${l.url}`);
        assert.ok(l.includeVars && l.keepTime, `${d.uid}: header link ${l.url} keeps variables and time`);
      }
    }
    assert.ok(drillDownLinks >= 5, `overview has ${drillDownLinks} data links to the drill-down`);
  });

  it('exports every query it uses from dashboards/queries.ts', () => {
    const exported = new Set<string>([
      ...Object.values(promql),
      ...Object.values(logql),
      ...Object.values(traceql),
    ]);
    for (const t of allTargets()) {
      const q = (t.target.expr ?? t.target.query) as string | undefined;
      if (q === undefined || q === '') continue;
      assert.ok(exported.has(q), `${t.dashboard} "${t.panel}": query not exported from queries.ts: ${q}`);
    }
    // and every exported query is used (so the Prometheus test below runs them all)
    const used = new Set(strings(dashboards));
    for (const q of exported) assert.ok(used.has(q), `exported but used by no panel or variable: ${q}`);
  });
});

// ------------------------------------------------------------------------------------------------
// 4: LogQL, TraceQL, Pyroscope against the recorded real responses
// ------------------------------------------------------------------------------------------------

/** Queries not recorded verbatim; each is two recorded queries joined, and checked lexically. */
const COMPOSED_NOT_RECORDED: Record<string, string> = {
  [substitute(traceql.errorTraces)]:
    'joins the recorded `{ resource.service.name="demo-app" }` and `{ status = error }` with &&, as the recorded `… && name="GET /slow"` does',
};

function balanced(q: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let quoted = false;
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '"') { quoted = !quoted; continue; }
    if (quoted) continue;
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return !quoted && stack.length === 0;
}

describe('LogQL, TraceQL and Pyroscope queries (recorded responses of the real Loki 3.7.6, Tempo 3.0.3, Pyroscope 2.2.1)', () => {
  const index = fixtureIndex();
  const recorded = (component: string, param: string): Map<string, { file: string; status: number; hasData: boolean }> => {
    const m = new Map<string, { file: string; status: number; hasData: boolean }>();
    for (const e of index.filter((x) => x.file.startsWith(`${component}/`))) {
      const f = readFixture<Json>(e.file);
      const q = f.request.params[param];
      if (q === undefined) continue;
      const resp = f.response as Json;
      const data = (resp.data as Json | undefined)?.result ?? resp.traces;
      m.set(q, { file: e.file, status: f.status, hasData: Array.isArray(data) && data.length > 0 });
    }
    return m;
  };

  it('every LogQL query is one Loki answered with log lines or series', () => {
    const loki = recorded('loki', 'query');
    const queries = allTargets().filter((t) => t.ds === 'loki').map((t) => substitute(String(t.target.expr)));
    assert.ok(queries.length >= 4);
    for (const q of queries) {
      const r = loki.get(q);
      assert.ok(r, `LogQL ${q} was not recorded; recorded: ${[...loki.keys()].join(' | ')}`);
      assert.equal(r.status, 200, `${r.file}`);
      assert.ok(r.hasData, `${r.file}: no data for ${q}`);
    }
  });

  it('every TraceQL query is one Tempo answered with traces, or composed of such queries', () => {
    const tempo = recorded('tempo', 'q');
    const queries = allTargets().filter((t) => t.ds === 'tempo' && t.target.queryType === 'traceql').map((t) => substitute(String(t.target.query)));
    assert.ok(queries.length >= 3);
    for (const q of queries) {
      const r = tempo.get(q);
      if (r) {
        assert.equal(r.status, 200, r.file);
        assert.ok(r.hasData, `${r.file}: no traces for ${q}`);
      } else {
        assert.ok(COMPOSED_NOT_RECORDED[q], `TraceQL ${q} was not recorded and is not listed as composed; recorded: ${[...tempo.keys()].join(' | ')}`);
        assert.ok(balanced(q), `TraceQL ${q}: unbalanced`);
      }
    }
  });

  it('the CPU flame graph asks Pyroscope what it answered with a flame graph', () => {
    const flames = allTargets().filter((t) => t.ds === 'pyroscope');
    assert.ok(flames.length >= 2);
    const rec = readFixture<{ flamegraph?: { names?: string[] } }>('pyroscope/merge-stacktraces-cpu.json');
    const body = rec.request.body as { profile_typeID: string; label_selector: string };
    for (const f of flames) {
      assert.equal(f.target.queryType, 'profile');
      assert.equal(substitute(String(f.target.profileTypeId)), body.profile_typeID, `${f.dashboard} "${f.panel}"`);
      assert.equal(substitute(String(f.target.labelSelector)), body.label_selector, `${f.dashboard} "${f.panel}"`);
    }
    assert.equal(rec.status, 200);
    assert.ok((rec.response.flamegraph?.names?.length ?? 0) > 1, 'recorded flame graph has frames');
  });

  it('the profile menu offers each app exactly the types its uploads were filed under (the four apps-series recordings)', () => {
    const sent = new Map<string, Set<string>>();
    for (const e of index.filter((x) => /^pyroscope\/apps-series-.*\.json$/.test(x.file))) {
      const f = readFixture<{ labelsSet: { labels: { name: string; value: string }[] }[] }>(e.file);
      const svc = /service_name="([^"]+)"/.exec((f.request.body as { matchers: string[] }).matchers[0]!)![1]!;
      sent.set(svc, new Set(f.response.labelsSet.map((l) => l.labels.find((x) => x.name === '__profile_type__')!.value)));
    }
    assert.deepEqual([...sent.keys()].sort(), apps.map((a) => a.name).sort());
    // each entry: the apps it names are exactly those that send that id
    for (const o of profileTypeMenu) {
      const senders = [...sent].filter(([, ids]) => ids.has(o.value)).map(([svc]) => svc).sort();
      assert.deepEqual([...o.apps].sort(), senders, `${o.what} (${o.value})`);
    }
    // each app: every CPU, wall-clock and byte-valued memory type it sends is on the menu
    const menu = new Set(profileTypeMenu.map((o) => o.value));
    for (const [svc, ids] of sent) {
      const wanted = [...ids].filter((id) => /^(process_cpu:cpu|wall:wall|memory:[a-z_]+:bytes):/.test(id));
      assert.ok(wanted.length >= 2, `${svc}: ${[...ids].join(' ')}`);
      for (const id of wanted) assert.ok(menu.has(id), `${svc} sends ${id}, the menu lacks it`);
    }
    // and the generated variable shows them with the apps named, no language standing for an app
    const variable = dashboards.find((d) => d.uid === dashboardUids.service)!.templating!.list!.find((v) => v.name === 'profile_type')!;
    const texts = (variable.options ?? []).map((o) => String(o.text));
    assert.deepEqual((variable.options ?? []).map((o) => o.value), profileTypeMenu.map((o) => o.value));
    for (const [i, o] of profileTypeMenu.entries()) assert.equal(texts[i], `${o.what} (${o.apps.length === 4 ? 'every app' : o.apps.join(' + ')})`);
    for (const t of texts) assert.doesNotMatch(t, /\b(Go|Java|Python|Node)\b/, t);
  });

  it('the service map is Tempo\'s serviceMap query (its PromQL runs in the Prometheus tests below)', () => {
    const maps = allTargets().filter((t) => t.ds === 'tempo' && t.target.queryType === 'serviceMap');
    assert.equal(maps.length, 1);
  });
});

// ------------------------------------------------------------------------------------------------
// 3: PromQL on a real Prometheus, fed by the real Go app and the recorded Tempo shapes
// ------------------------------------------------------------------------------------------------

describe('PromQL of every panel on a real Prometheus 3 (Go demo-app + recorded Tempo series shapes)', { timeout: 20 * 60_000 }, () => {
  let peers: AppWithPeers | undefined;
  let prom: PrometheusPeer | undefined;
  let otlp: OtlpReceiver | undefined;

  const get = async (path: string): Promise<number> => {
    const res = await fetch(`${peers!.base}${path}`, { signal: AbortSignal.timeout(60_000) });
    await res.arrayBuffer();
    return res.status;
  };

  const promTargets = (): { where: string; expr: string; exemplar: boolean }[] =>
    allTargets()
      .filter((t) => t.ds === 'mimir')
      .map((t) => ({ where: `${t.dashboard} "${t.panel}" ${String(t.target.refId)}`, expr: String(t.target.expr), exemplar: t.target.exemplar === true }));

  const assertSeries = async (where: string, expr: string): Promise<void> => {
    const q = substitute(expr);
    const result = await prom!.query(q);
    assert.ok(result.length > 0, `${where}: no series for\n  ${q}\n${otlp?.summary() ?? ''}`);
    assert.ok(result.some((r) => Number.isFinite(Number(r.value[1]))), `${where}: only NaN/Inf for ${q}: ${JSON.stringify(result).slice(0, 400)}`);
  };

  before(async () => {
    // smaller /alloc bursts than the default 200 x 256 KiB: enough for a visible staircase
    peers = await startAppWithPeers(goApp, { ALLOC_CHUNKS: '40' });
    ({ prom, otlp } = peers);
    // Real traffic, in two rounds: Prometheus sees a counter's growth only between two of its
    // samples, so every series (each route, and the 500s) must exist before the traffic that the
    // rate() panels measure. /alloc twice for the memory staircase, ?fail=true for 5xx.
    const round = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) assert.equal(await get('/hello'), 200);
      assert.equal(await get(`/slow${goApp.slow.query}`), 200);
      assert.equal(await get('/alloc'), 200);
      assert.equal(await get('/chain'), 200);
      for (let i = 0; i < 2; i++) assert.equal(await get('/hello?fail=true'), 500);
    };
    const count = async (selector: string): Promise<number> => {
      const r = await prom!.query(`sum(http_server_request_duration_seconds_count{job="demo-app", ${selector}})`);
      return Number(r[0]?.value[1] ?? 0);
    };
    await round();
    await waitFor('the first round of requests in Prometheus (through the OTLP receiver)', async () =>
      (await count('http_response_status_code="500"')) >= 2 && (await count('http_route="/alloc"')) >= 1 ? true : undefined, 60_000, 1_000);
    await round();
    await waitFor('the second round of requests in Prometheus', async () =>
      (await count('http_response_status_code="500"')) >= 4 && (await count('http_route="/alloc"')) >= 2 ? true : undefined, 60_000, 1_000);
    // The Tempo-generated series, in their recorded label shape, ending now.
    await writeRecordedTempoSeries(prom.url, { points: 37, stepMs: 5_000, endMs: Date.now() - 1_000 });
  });

  after(async () => { await peers?.close(); });

  it('the written traces_* series have exactly the recorded label sets', async () => {
    const shapes = recordedTempoShapes();
    const check = async (metric: string, expected: Record<string, string>[]) => {
      const got = (await prom!.query(metric)).map((r) => {
        const { __name__: _n, ...rest } = r.metric;
        return seriesKey(rest);
      });
      assert.deepEqual(got.sort(), expected.map((l) => seriesKey(l)).sort(), metric);
    };
    await check('traces_spanmetrics_calls_total', shapes.calls.map((s) => s.labels));
    await check('traces_spanmetrics_latency_count', shapes.latency.map((s) => s.labels));
    await check('traces_service_graph_request_total', shapes.serviceGraph.map((s) => s.labels));
    // and nothing else came with them (no job/instance, no target_info for the writer)
    const jobs = (await prom!.query('target_info')).map((r) => r.metric.job);
    assert.deepEqual(jobs, [defaultService], 'target_info only for the Go app');
  });

  it('the service variable (label_values(target_info, job)) lists the running app', async () => {
    const m = /^label_values\((\w+), *(\w+)\)$/.exec(promql.serviceVariable);
    assert.ok(m, promql.serviceVariable);
    const res = await fetch(`${prom!.url}/api/v1/label/${m[2]}/values?${new URLSearchParams({ 'match[]': m[1]! }).toString()}`);
    const body = (await res.json()) as { data: string[] };
    assert.ok(body.data.includes(defaultService), JSON.stringify(body));
  });

  it('every PromQL expression of every panel returns series', async () => {
    const targets = promTargets();
    assert.ok(targets.length >= 20, `found ${targets.length} PromQL queries`);
    for (const t of targets) await assertSeries(t.where, t.expr);
  });

  it('the memory panel shows the app\'s RSS, and the Go runtime branch works too', async () => {
    const r = await prom!.query(substitute(promql.memory));
    assert.equal(r.length, 1, JSON.stringify(r));
    assert.equal(r[0]!.metric.memory, memorySources[0].label);
    assert.ok(Number(r[0]!.value[1]) > 10 * 1024 * 1024, `RSS ${r[0]!.value[1]}`);
    const goBranch = memorySources.find((s) => s.metric === 'go_memory_used_bytes')!;
    await assertSeries('go runtime memory branch', memoryBranch(goBranch));
  });

  it('the 5xx ratio counts the real 500 answers', async () => {
    const r = await prom!.query(substitute(promql.seed5xxRatio));
    const ratio = Number(r[0]?.value[1]);
    assert.ok(ratio > 0 && ratio < 1, `5xx ratio ${ratio}`);
  });

  it('the PromQL Grafana\'s Tempo service map sends to Mimir returns the recorded edges', async () => {
    for (const metric of serviceMapMetrics.always) for (const expr of serviceMapPromql(metric)) await assertSeries(`service map ${metric}`, expr);
    const edges = await prom!.query(substitute(serviceMapPromql('traces_service_graph_request_total')[0]!));
    const pairs = edges.map((e) => `${e.metric.client}->${e.metric.server}`).sort();
    // the /chain edges, and Tempo's `user` node in front of the two services the recording's traffic called directly
    const chain = CHAIN.slice(0, -1).map((client, i) => `${client}->${CHAIN[i + 1]}`);
    assert.deepEqual(pairs, [...chain, `user->${SEED_SERVICE}`, `user->${CHAIN[0]}`].sort());
  });

  it('every latency panel with exemplars has exemplars to show (trace_id from the app, traceID in Tempo\'s shape)', async () => {
    const withExemplars = promTargets().filter((t) => t.exemplar);
    assert.ok(withExemplars.length >= 4, `${withExemplars.length} exemplar queries`);
    const now = Math.floor(Date.now() / 1000);
    for (const t of withExemplars) {
      const bucket = /(\w+_bucket)\{([^}]*)\}/.exec(substitute(t.expr));
      assert.ok(bucket, `${t.where}: no histogram selector in ${t.expr}`);
      const selector = `${bucket[1]}{${bucket[2]}}`;
      const ex = await prom!.exemplars(selector, now - 3600, now + 60);
      const labels = ex.flatMap((s) => s.exemplars.map((e) => e.labels));
      assert.ok(labels.length > 0, `${t.where}: no exemplars for ${selector}`);
      const idLabel = bucket[1]!.startsWith('traces_') ? 'traceID' : 'trace_id';
      assert.ok(labels.every((l) => /^[0-9a-f]{32}$/.test(l[idLabel] ?? '')), `${t.where}: exemplar labels ${JSON.stringify(labels.slice(0, 3))}`);
    }
    // the app's exemplars point at spans it really exported
    const spanIds = new Set(otlp!.spans().map((s) => s.traceId));
    const appEx = await prom!.exemplars('http_server_request_duration_seconds_bucket{job="demo-app"}', now - 3600, now + 60);
    const traceIds = appEx.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id ?? ''));
    assert.ok(traceIds.some((id) => spanIds.has(id)), 'an exemplar trace_id is the trace id of a span the app exported');
  });
});
