// examples/java (my-java-app): a plain JDK HttpServer app, no OpenTelemetry code, started as its image starts it,
// `java -jar my-java-app.jar` with the javaagent from JAVA_TOOL_OPTIONS and the Pyroscope extension from
// OTEL_JAVAAGENT_EXTENSIONS. `mvn package` builds the app jar and copies both agent jars from Maven Central into
// target/; the three are kept in the cache per content hash of pom.xml and src/, so Maven runs once.
import { copyFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { javaCommand } from '../apps/java.js';
import { cacheDir, contentHash, populateAtomically, run } from '../harness/cache.js';
import { examplesRoot, type ExampleSpec } from '../harness/example.js';

const folder = join(examplesRoot, 'java');
const jarsIn = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.jar'));

let jarDir: string | undefined;

/** The cache folder holding what the image's /app holds: the app jar and the two agent jars, as the pom names them. */
async function buildJavaExample(): Promise<string> {
  const hash = contentHash([join(folder, 'pom.xml'), join(folder, 'src')], { base: folder });
  return populateAtomically(join(cacheDir('examples'), `java-${hash}`), async (tmp) => {
    await run('mvn', ['-q', '-B', 'package', '-DskipTests'], { cwd: folder, timeoutMs: 20 * 60_000 });
    const target = join(folder, 'target');
    for (const jar of jarsIn(target)) copyFileSync(join(target, jar), join(tmp, jar));
  });
}

export const example: ExampleSpec = {
  folder: 'java',
  async prepare() {
    jarDir = await buildJavaExample();
  },
  layout() {
    if (!jarDir) throw new Error('examples/java: layout() before prepare()');
    const java = javaCommand();
    return {
      paths: { '/app': jarDir },
      toolDirs: isAbsolute(java) ? [dirname(java)] : [],
      // the Pyroscope agent's default upload interval is 10 s
      testSettings: { PYROSCOPE_UPLOAD_INTERVAL: '2s' },
    };
  },
  // the agent instruments classes as the JVM loads them: a few seconds idle, much more on a busy machine
  startTimeoutMs: 180_000,
  // The javaagent's shutdown hook flushes spans, logs and metrics on SIGTERM. The Pyroscope agent uploads from a
  // daemon thread on its interval and sends nothing at exit: the last interval is lost.
  sigtermFlush: {
    env: { PYROSCOPE_UPLOAD_INTERVAL: '600s' },
    profileNotFlushed: 'the Pyroscope Java agent sends nothing at exit (seen here: no upload after SIGTERM); it uploads on its interval from a daemon thread (grafana/pyroscope-java #20)',
  },
  // Trial division below 1,000,000: ~0.5 s on an idle core (the first request, before the JIT, and under load: a few s). countPrimes is a span through OTEL_INSTRUMENTATION_METHODS_INCLUDE
  // (the Dockerfile); JFR names its frame com/example/App.countPrimes.
  work: { route: '/work', path: '/work?n=1000000', badPath: '/work?n=lots', childSpan: 'App.countPrimes', frame: /^com\/example\/App\.countPrimes$/ },
};
