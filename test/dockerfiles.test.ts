// The apps' and examples' images without a Docker engine: each Dockerfile (the build contexts compose.yaml names,
// and every folder of examples/) checked by
// BuildKit's own parser and build checks plus the context and runtime rules of tools/dockerfile-check, by hadolint,
// and the Java image's entrypoint by shellcheck. Each check is also fed a broken input, so it is seen failing with
// the message a user would get. What the images run (their ENV and start command) is proven by test/apps.test.ts,
// which starts each app from them (test/harness/app-env.ts).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { imageContexts } from './harness/app-env.js';
import { exampleFolders } from './harness/example.js';
import { repoRoot, run, type RunResult } from './harness/cache.js';
import { goTool } from './harness/go-tool.js';
import { makeTempDir, removeTempDir } from './harness/launcher.js';
import { linters, type Linters } from './harness/linters.js';

const entrypoint = 'apps/java/docker-entrypoint.sh';
/** The build contexts compose.yaml names, relative to the repository (as the messages name them). */
let contexts: string[] = [];
/** The examples' build contexts: every folder of examples/ (each must hold a Dockerfile). */
const exampleContexts = exampleFolders().map((f) => join('examples', f));

/** A small image that passes every check; each broken case below changes one line of it. */
const GOOD_DOCKERFILE = `FROM alpine:3.22 AS build
WORKDIR /src
COPY app.sh ./
RUN chmod 755 app.sh

FROM alpine:3.22
COPY --from=build /src/app.sh /usr/local/bin/app.sh
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/app.sh"]
`;
const GOOD_CONTEXT: Record<string, string> = {
  'app.sh': '#!/bin/sh\necho ok\n',
  'notes/secret.txt': 'not for the image\n',
  '.dockerignore': 'notes/\n',
};

let scratch = '';
before(async () => {
  scratch = makeTempDir('lgtmp-dockerfile-');
  contexts = (await imageContexts()).map((c) => relative(repoRoot, c.context));
}, { timeout: 10 * 60_000 });
after(() => removeTempDir(scratch));

/** Writes a build context (GOOD_CONTEXT with `files` on top) into a fresh folder; returns the folder. */
function context(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [file, text] of Object.entries({ ...GOOD_CONTEXT, ...files })) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/** GOOD_DOCKERFILE with line `line` (1-based) replaced by `text`. */
function withLine(line: number, text: string): string {
  const lines = GOOD_DOCKERFILE.split('\n');
  lines[line - 1] = text;
  return lines.join('\n');
}

function lines(r: RunResult): string[] {
  return r.stdout.split('\n').filter(Boolean);
}

describe('Dockerfiles, checked by BuildKit (tools/dockerfile-check)', () => {
  let tool = '';
  before(async () => { tool = await goTool('dockerfile-check'); }, { timeout: 20 * 60_000 });

  /** Writes the context `name` and checks it, named relative to the scratch folder (as the messages then name it). */
  const check = (name: string, files: Record<string, string>): Promise<RunResult> => {
    context(name, files);
    return run(tool, [name], { cwd: scratch, allowFailure: true });
  };
  /** The findings for a broken Dockerfile: exit 1, one line each. */
  async function findings(name: string, dockerfile: string, files: Record<string, string> = {}): Promise<string[]> {
    const r = await check(name, { Dockerfile: dockerfile, ...files });
    assert.equal(r.code, 1, `exit code for ${name}\n${r.stdout}${r.stderr}`);
    return lines(r);
  }

  it("the apps' Dockerfiles (compose.yaml's build contexts) pass every check", async () => {
    assert.equal(contexts.length, 4, 'compose.yaml builds the four apps');
    const r = await run(tool, contexts, { cwd: repoRoot, allowFailure: true });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.code, 0);
  });

  it("the examples' Dockerfiles (every folder of examples/) pass every check", async () => {
    assert.ok(exampleContexts.length > 0, 'examples/ has example folders');
    const r = await run(tool, exampleContexts, { cwd: repoRoot, allowFailure: true });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.code, 0);
  });

  it('the reference Dockerfile of these tests passes too (so each failure below is its one changed line)', async () => {
    const r = await check('good', { Dockerfile: GOOD_DOCKERFILE });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.code, 0);
  });

  it('a COPY source that .dockerignore excludes', async () => {
    assert.deepEqual(await findings('ignored', withLine(3, 'COPY notes/secret.txt ./')), [
      'ignored/Dockerfile:3: COPY source notes/secret.txt is excluded by .dockerignore. Fix: remove the .dockerignore pattern that excludes it, or add !notes/secret.txt after it',
    ]);
  });

  it('a file that .dockerignore brings back with ! is sent', async () => {
    const r = await check('negated', { Dockerfile: withLine(3, 'COPY notes/secret.txt ./'), '.dockerignore': 'notes/\n!notes/secret.txt\n' });
    assert.equal(r.stdout, '');
    assert.equal(r.code, 0);
  });

  it('a COPY source missing from the build context', async () => {
    assert.deepEqual(await findings('missing', withLine(3, 'COPY app.sh start.sh ./')), [
      'missing/Dockerfile:3: COPY source start.sh is not in the build context. Fix: add it to the build context (missing) or correct the path',
    ]);
  });

  it('a glob that matches nothing', async () => {
    assert.deepEqual(await findings('glob', withLine(3, 'COPY *.go ./')), [
      'glob/Dockerfile:3: COPY source *.go is not in the build context. Fix: add it to the build context (glob) or correct the path',
    ]);
  });

  it('COPY --from a stage that is not defined above', async () => {
    assert.deepEqual(await findings('from', withLine(7, 'COPY --from=builder /src/app.sh /usr/local/bin/app.sh')), [
      'from/Dockerfile:7: COPY --from=builder names no earlier stage. Fix: build it in a stage above (FROM <image> AS builder) or use the name of one',
    ]);
  });

  it('a final stage without USER runs as root', async () => {
    assert.deepEqual(await findings('nouser', withLine(8, '')), [
      'nouser/Dockerfile:6: the final stage sets no USER, so the container runs as root. Fix: add USER <uid>:<gid> of an unprivileged user after the last RUN',
    ]);
  });

  it('a final stage with USER root or uid 0', async () => {
    for (const user of ['root', '0:0']) {
      assert.deepEqual(await findings(`root-${user}`, withLine(8, `USER ${user}`)), [
        `root-${user}/Dockerfile:8: the final stage runs as USER ${user}. Fix: switch to an unprivileged user with a literal uid, e.g. USER 10001:10001`,
      ]);
    }
  });

  it('a shell-form CMD (BuildKit\'s JSONArgsRecommended says so too)', async () => {
    assert.deepEqual(await findings('shellform', withLine(9, 'CMD /usr/local/bin/app.sh --verbose')), [
      'shellform/Dockerfile:9: build check JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals. Fix: JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals, see https://docs.docker.com/go/dockerfile/rule/json-args-recommended/',
      'shellform/Dockerfile:9: CMD uses the shell form, so /bin/sh is PID 1 and the app never gets SIGTERM. Fix: write the exec form, e.g. CMD ["/usr/local/bin/app.sh","--verbose"]',
    ]);
  });

  it('a BuildKit build check (the legacy ENV form)', async () => {
    assert.deepEqual(await findings('legacy-env', withLine(8, 'ENV PORT 8080\nUSER 10001:10001')), [
      'legacy-env/Dockerfile:8: build check LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format. Fix: Legacy key/value format with whitespace separator should not be used, see https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/',
    ]);
  });

  it('an instruction BuildKit does not know', async () => {
    assert.deepEqual(await findings('unknown', withLine(4, 'RUNN chmod 755 app.sh')), [
      'unknown/Dockerfile:4: BuildKit refuses it: dockerfile parse error on line 4: unknown instruction: RUNN (did you mean RUN?). Fix: correct the instruction at that line',
    ]);
  });

  it('a directive that skips the build checks', async () => {
    assert.deepEqual(await findings('skip', `# check=skip=all\n${GOOD_DOCKERFILE}`), [
      'skip/Dockerfile:1: the check directive `check=skip=all` turns build checks off. Fix: remove it and fix what the checks report',
    ]);
  });

  it('answers a missing argument with usage and exit 2', async () => {
    const r = await run(tool, [], { allowFailure: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^usage: dockerfile-check <build context dir>/);
  });
});

describe('Dockerfiles, checked by hadolint; the entrypoint by shellcheck', () => {
  let tools: Linters;
  before(async () => { tools = await linters(); }, { timeout: 15 * 60_000 });

  // Only PATH: no HADOLINT_* settings or user config from this machine; shellcheck on it for hadolint's RUN checks.
  const hadolint = (files: string[], cwd: string): Promise<RunResult> =>
    run(tools.hadolint, ['--no-color', '--failure-threshold', 'style', ...files], { cwd, env: { PATH: `${tools.bin}:${process.env.PATH ?? ''}` }, allowFailure: true });
  const shellcheck = (files: string[], cwd: string): Promise<RunResult> =>
    run(tools.shellcheck, ['--format', 'gcc', ...files], { cwd, env: { PATH: process.env.PATH ?? '' }, allowFailure: true });

  it("hadolint finds nothing in the apps' and the examples' Dockerfiles, at any severity", async () => {
    const r = await hadolint([...contexts, ...exampleContexts].map((c) => join(c, 'Dockerfile')), repoRoot);
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.code, 0);
  });

  it('hadolint reports a broken Dockerfile with file, line, rule and fix', async () => {
    const dir = context('hadolint', { Dockerfile: withLine(4, 'RUN cd /src && chmod 755 app.sh') });
    const r = await hadolint(['Dockerfile'], dir);
    assert.equal(r.code, 1);
    assert.deepEqual(lines(r), ['Dockerfile:4 DL3003 warning: Use WORKDIR to switch to a directory']);
  });

  it(`shellcheck finds nothing in ${entrypoint}`, async () => {
    const r = await shellcheck([entrypoint], repoRoot);
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.code, 0);
  });

  it('shellcheck reports a broken entrypoint with file, line and rule', async () => {
    const dir = context('shellcheck', { 'docker-entrypoint.sh': '#!/bin/sh\nset -eu\nexec java -jar $APP_DIR/java-demo-app.jar "$@"\n' });
    const r = await shellcheck(['docker-entrypoint.sh'], dir);
    assert.equal(r.code, 1);
    assert.deepEqual(lines(r), ['docker-entrypoint.sh:3:16: note: Double quote to prevent globbing and word splitting. [SC2086]']);
  });
});
