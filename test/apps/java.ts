// java-demo-app (apps/java): a plain Spring Boot app (no OpenTelemetry or Pyroscope API call; one @WithSpan), started
// as users start it: `java -javaagent:opentelemetry-javaagent.jar -jar java-demo-app.jar`, with the Pyroscope OTel
// extension given by OTEL_JAVAAGENT_EXTENSIONS and everything else by environment variables.
// prepare() runs Maven once per content hash of the poms and main sources and keeps the three jars in the cache.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { appStart, loadAppImage, type AppImage } from '../harness/app-env.js';
import { launchOptions, type AppSpec } from '../harness/app-spec.js';
import { cacheDir, contentHash, populateAtomically, repoRoot, run, withCacheLock } from '../harness/cache.js';

export const JAVA_SERVICE = 'java-demo-app';

/** The three jars, as named in the cache (and in the Docker image under /app). */
export const JAVA_JARS = {
  app: 'java-demo-app.jar',
  agent: 'opentelemetry-javaagent.jar',
  extension: 'pyroscope-otel.jar',
} as const;

export function javaAppDir(): string {
  return join(repoRoot, 'apps', 'java');
}

async function requireToolchain(): Promise<void> {
  for (const [cmd, args] of [['java', ['-version']], ['mvn', ['-v', '-B']]] as const) {
    try {
      await run(cmd, [...args], { timeoutMs: 60_000 });
    } catch (e) {
      throw new Error(`java-demo-app needs a JDK 17+ ('java') and Maven 3.8+ ('mvn') on PATH: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}

/**
 * Runs fn while no other process runs Maven in apps/java: java-unit's `mvn clean test` would otherwise delete the
 * target/ jars that a concurrent buildJavaApp() is about to copy into the cache.
 */
export function withMavenInJavaApp<T>(fn: () => Promise<T>): Promise<T> {
  const checkout = createHash('sha256').update(javaAppDir()).digest('hex').slice(0, 8);
  return withCacheLock(join(cacheDir('java'), `maven-${checkout}`), fn);
}

let jarDir: string | undefined;
let image: AppImage | undefined;

/**
 * Builds apps/java (the app and the agents module) with Maven unless the cache already holds the jars for this
 * content hash; returns the cache directory holding java-demo-app.jar, opentelemetry-javaagent.jar, pyroscope-otel.jar.
 */
export async function buildJavaApp(): Promise<string> {
  const dir = javaAppDir();
  const hash = contentHash(
    [join(dir, 'pom.xml'), join(dir, 'app', 'pom.xml'), join(dir, 'app', 'src', 'main'), join(dir, 'agents', 'pom.xml')],
    { base: dir },
  );
  const target = join(cacheDir('java'), hash);
  const complete = (d: string): boolean => Object.values(JAVA_JARS).every((j) => existsSync(join(d, j)));
  if (existsSync(target) && complete(target)) return target;
  await requireToolchain();
  await populateAtomically(target, (tmp) => withMavenInJavaApp(async () => {
    await run('mvn', ['-q', '-B', 'package', '-DskipTests'], { cwd: dir, timeoutMs: 20 * 60_000 });
    copyFileSync(join(dir, 'app', 'target', JAVA_JARS.app), join(tmp, JAVA_JARS.app));
    copyFileSync(join(dir, 'agents', 'target', JAVA_JARS.agent), join(tmp, JAVA_JARS.agent));
    copyFileSync(join(dir, 'agents', 'target', JAVA_JARS.extension), join(tmp, JAVA_JARS.extension));
  }));
  if (!complete(target)) throw new Error(`java-demo-app: ${target} lacks one of ${Object.values(JAVA_JARS).join(', ')}`);
  return target;
}

/**
 * The JVM that runs the app: $LGTMP_JAVA_HOME, else the newest JDK 21+ in /usr/lib/jvm, else `java` on PATH.
 * The image runs Temurin 21; on JDK 17 the javaagent now and then hits a JVM class-loading race at start-up
 * (a sticky ClassCircularityError on AbstractQueuedSynchronizer$ExclusiveNode that kills the request threads),
 * which upstream reports for JDK 17 only.
 */
export function javaCommand(): string {
  if (process.env.LGTMP_JAVA_HOME) return join(process.env.LGTMP_JAVA_HOME, 'bin', 'java');
  const jvms = '/usr/lib/jvm';
  const modern = (existsSync(jvms) ? readdirSync(jvms) : [])
    .map((name) => ({ name, feature: Number(/(?:^|-)(\d{2})(?:[.-]|$)/.exec(name)?.[1] ?? 0) }))
    .filter((j) => j.feature >= 21 && existsSync(join(jvms, j.name, 'bin', 'java')))
    .sort((a, b) => b.feature - a.feature);
  return modern[0] ? join(jvms, modern[0].name, 'bin', 'java') : 'java';
}

export const javaApp: AppSpec = {
  service: JAVA_SERVICE,
  language: 'java',
  async prepare() {
    jarDir = await buildJavaApp();
    image = await loadAppImage(JAVA_SERVICE);
  },
  // The image's ENTRYPOINT, docker-entrypoint.sh (`java -jar`, the agent and extension from the image's
  // JAVA_TOOL_OPTIONS and OTEL_JAVAAGENT_EXTENSIONS), with compose's environment (test/harness/app-env.ts).
  launch(o) {
    if (!jarDir || !image) throw new Error('javaApp.launch() before prepare()');
    const java = javaCommand();
    const start = appStart(image, o, {
      paths: { '/app/docker-entrypoint.sh': join(javaAppDir(), 'docker-entrypoint.sh'), '/app': jarDir },
      toolDirs: isAbsolute(java) ? [dirname(java)] : [],
      env: { APP_DIR: jarDir }, // where the entrypoint finds the app's jar (/app in the image)
      // the Pyroscope agent's default upload interval is 10 s
      testSettings: { PYROSCOPE_UPLOAD_INTERVAL: '2s' },
    });
    // the agent instruments classes as Spring Boot loads them: ~10 s on an idle core, much more on a busy machine
    return launchOptions(JAVA_SERVICE, o, { ...start, timeoutMs: 180_000 });
  },
  // The same jar, without the agent (and so without its extension).
  uninstrumented(o) {
    const l = javaApp.launch(o);
    const { JAVA_TOOL_OPTIONS: _agent, OTEL_JAVAAGENT_EXTENSIONS: _extension, ...env } = l.env;
    return { ...l, env };
  },
  // One java.util.regex match of the bounded sample (10 local-part characters + the seed's domain part) takes
  // ~1-3 ms here: 500 iterations are ~1-2 s. checkEmail is a span through OTEL_INSTRUMENTATION_METHODS_INCLUDE.
  slow: {
    query: '?iterations=500',
    childSpan: 'EmailChecker.checkEmail',
    // JFR frame names as Pyroscope shows them: io/lgtmp/demo/EmailChecker.checkEmail, java/util/regex/Pattern$Loop.match
    appFrame: /^io\/lgtmp\/demo\/EmailChecker\.checkEmail$/,
    regexFrame: /^java\/util\/regex\//,
  },
  alloc: { appFrame: /^io\/lgtmp\/demo\/MemoryHog\.allocateMemoryBurst$/ },
};
