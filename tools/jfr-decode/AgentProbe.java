// Workload for the harness test of the Java agent's wire format: runs under -javaagent:<io.pyroscope:agent jar>,
// burns CPU in a backtracking regex (1) inside a labels scope span_id=<arg0> and (2) under the async-profiler
// tracing context spanId=<arg1> (what the Pyroscope OTel extension sets for a root span), allocates, then waits
// for the agent to upload.
import io.pyroscope.PyroscopeAsyncProfiler;
import io.pyroscope.labels.v2.LabelsSet;
import io.pyroscope.labels.v2.ScopedContext;
import java.util.regex.Pattern;

public final class AgentProbe {
  static final Pattern EMAIL = Pattern.compile(
      "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$");
  static volatile Object keep;

  static boolean checkEmail(String s) {
    return EMAIL.matcher(s).matches();
  }

  static int burn(long millis) {
    long end = System.currentTimeMillis() + millis;
    int n = 0;
    while (System.currentTimeMillis() < end) {
      if (checkEmail("aaaaaaaaaaaaaaaaaaaa!")) n++;
    }
    return n;
  }

  static void allocateMemoryBurst() {
    byte[][] b = new byte[200][];
    for (int i = 0; i < b.length; i++) {
      b[i] = new byte[256 * 1024];
      b[i][0] = 1;
    }
    keep = b;
  }

  public static void main(String[] args) throws Exception {
    String labelSpan = args[0];
    long tracingSpan = Long.parseUnsignedLong(args[1], 16);
    long burnMs = Long.parseLong(args.length > 2 ? args[2] : "1500");
    int n;
    try (ScopedContext ctx = new ScopedContext(new LabelsSet("span_id", labelSpan))) {
      n = burn(burnMs);
    }
    PyroscopeAsyncProfiler.getAsyncProfiler().setTracingContext(tracingSpan, 0);
    n += burn(burnMs);
    PyroscopeAsyncProfiler.getAsyncProfiler().setTracingContext(0, 0);
    for (int i = 0; i < 20; i++) allocateMemoryBurst();
    System.out.println("probe done " + n);
    Thread.sleep(Long.parseLong(args.length > 3 ? args[3] : "5000"));
  }
}
