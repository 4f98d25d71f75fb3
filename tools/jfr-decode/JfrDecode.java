// Decodes what the Pyroscope Java agent uploads in its default JFR format (a JFR recording written by its
// bundled async-profiler, plus the agent's LabelsSnapshot protobuf) into samples, using the JDK's own JFR
// reader (jdk.jfr.consumer) and the agent's own generated LabelsSnapshot class (agent jar on the classpath).
//
// Protocol: one request per stdin line "<jfr file>\t<labels file or empty>", one JSON answer per stdout line:
//   {"event":"itimer","profiles":[{"sampleType":"cpu","unit":"nanoseconds","perSample":true,
//     "samples":[{"stack":["root",...,"leaf"],"value":3,"labels":{"span_id":"..."}}]}]}
// or {"error":"..."}. Sample types, frame names ("java/util/regex/Pattern$Curly.match") and labels follow what
// Pyroscope derives from the same upload. "perSample" values are sample counts the caller multiplies by the
// sampling period (1e9 / sampleRate) to get nanoseconds, as Pyroscope does.
import io.pyroscope.labels.pb.JfrLabels;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedObject;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

public final class JfrDecode {
  private static final class Agg {
    final String sampleType;
    final String unit;
    final boolean perSample;
    final Map<String, long[]> values = new LinkedHashMap<>();
    final Map<String, List<String>> stacks = new LinkedHashMap<>();
    final Map<String, Map<String, String>> labels = new LinkedHashMap<>();

    Agg(String sampleType, String unit, boolean perSample) {
      this.sampleType = sampleType;
      this.unit = unit;
      this.perSample = perSample;
    }

    void add(List<String> stack, Map<String, String> lbls, long v) {
      String key = String.join("\u0001", stack) + "\u0002" + lbls;
      long[] cur = values.get(key);
      if (cur == null) {
        values.put(key, new long[] {v});
        stacks.put(key, stack);
        labels.put(key, lbls);
      } else {
        cur[0] += v;
      }
    }
  }

  private final Map<String, Agg> aggs = new LinkedHashMap<>();
  private Map<Long, JfrLabels.Context> contexts = Map.of();
  private Map<Long, String> strings = Map.of();
  private String event = "";

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    if (args.length >= 1) {
      out.println(answer(args[0], args.length > 1 ? args[1] : ""));
      return;
    }
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) continue;
      String[] parts = line.split("\t", -1);
      out.println(answer(parts[0], parts.length > 1 ? parts[1] : ""));
      out.flush();
    }
  }

  private static String answer(String jfr, String labels) {
    try {
      return new JfrDecode().decode(Path.of(jfr), labels.isEmpty() ? null : Path.of(labels));
    } catch (Throwable t) {
      return "{\"error\":" + q(t.toString()) + "}";
    }
  }

  private String decode(Path jfr, Path labelsFile) throws Exception {
    if (labelsFile != null) {
      JfrLabels.LabelsSnapshot snap = JfrLabels.LabelsSnapshot.parseFrom(Files.readAllBytes(labelsFile));
      contexts = snap.getContextsMap();
      strings = snap.getStringsMap();
    }
    try (RecordingFile rf = new RecordingFile(jfr)) {
      while (rf.hasMoreEvents()) {
        RecordedEvent e = rf.readEvent();
        handle(e);
      }
    }
    StringBuilder sb = new StringBuilder();
    sb.append("{\"event\":").append(q(event)).append(",\"profiles\":[");
    boolean firstAgg = true;
    for (Agg a : aggs.values()) {
      if (!firstAgg) sb.append(',');
      firstAgg = false;
      sb.append("{\"sampleType\":").append(q(a.sampleType)).append(",\"unit\":").append(q(a.unit))
          .append(",\"perSample\":").append(a.perSample).append(",\"samples\":[");
      boolean first = true;
      for (Map.Entry<String, long[]> en : a.values.entrySet()) {
        if (!first) sb.append(',');
        first = false;
        sb.append("{\"stack\":[");
        List<String> st = a.stacks.get(en.getKey());
        for (int i = 0; i < st.size(); i++) {
          if (i > 0) sb.append(',');
          sb.append(q(st.get(i)));
        }
        sb.append("],\"value\":").append(en.getValue()[0]).append(",\"labels\":{");
        boolean fl = true;
        for (Map.Entry<String, String> l : a.labels.get(en.getKey()).entrySet()) {
          if (!fl) sb.append(',');
          fl = false;
          sb.append(q(l.getKey())).append(':').append(q(l.getValue()));
        }
        sb.append("}}");
      }
      sb.append("]}");
    }
    sb.append("]}");
    return sb.toString();
  }

  private void add(String type, String unit, boolean perSample, List<String> stack, Map<String, String> labels, long v) {
    aggs.computeIfAbsent(type, t -> new Agg(t, unit, perSample)).add(stack, labels, v);
  }

  private void handle(RecordedEvent e) {
    String name = e.getEventType().getName();
    switch (name) {
      case "jdk.ActiveSetting": {
        if ("event".equals(str(e, "name"))) event = String.valueOf(str(e, "value"));
        return;
      }
      case "jdk.ExecutionSample": {
        List<String> st = stack(e);
        Map<String, String> l = labels(e, true);
        String state = threadState(e);
        if (!"STATE_SLEEPING".equals(state)) add("cpu", "nanoseconds", true, st, l, 1);
        if ("wall".equals(event)) add("wall", "nanoseconds", true, st, l, 1);
        return;
      }
      case "profiler.WallClockSample": {
        List<String> st = stack(e);
        Map<String, String> l = labels(e, true);
        long n = lng(e, "samples", 1);
        if ("STATE_RUNNABLE".equals(threadState(e)) && "wall".equals(event)) add("cpu", "nanoseconds", true, st, l, n);
        add("wall", "nanoseconds", true, st, l, n);
        return;
      }
      case "jdk.ObjectAllocationInNewTLAB": {
        List<String> st = stack(e);
        Map<String, String> l = labels(e, true);
        add("alloc_in_new_tlab_objects", "count", false, st, l, 1);
        add("alloc_in_new_tlab_bytes", "bytes", false, st, l, lng(e, "tlabSize", 0));
        return;
      }
      case "jdk.ObjectAllocationOutsideTLAB": {
        List<String> st = stack(e);
        Map<String, String> l = labels(e, true);
        add("alloc_outside_tlab_objects", "count", false, st, l, 1);
        add("alloc_outside_tlab_bytes", "bytes", false, st, l, lng(e, "allocationSize", 0));
        return;
      }
      case "jdk.ObjectAllocationSample": {
        List<String> st = stack(e);
        add("alloc_sample_objects", "count", false, st, Map.of(), 1);
        add("alloc_sample_bytes", "bytes", false, st, Map.of(), lng(e, "weight", 0));
        return;
      }
      case "jdk.JavaMonitorEnter": {
        List<String> st = stack(e);
        Map<String, String> l = labels(e, true);
        add("contentions", "count", false, st, l, 1);
        add("delay", "nanoseconds", false, st, l, e.getDuration().toNanos());
        return;
      }
      case "jdk.ThreadPark": {
        List<String> st = stack(e);
        add("block_contentions", "count", false, st, Map.of(), 1);
        add("block_delay", "nanoseconds", false, st, Map.of(), e.getDuration().toNanos());
        return;
      }
      case "profiler.LiveObject": {
        add("live", "count", false, stack(e), Map.of(), 1);
        return;
      }
      case "profiler.Malloc": {
        List<String> st = stack(e);
        add("malloc_objects", "count", false, st, Map.of(), 1);
        add("malloc_bytes", "bytes", false, st, Map.of(), lng(e, "size", 0));
        return;
      }
      default:
    }
  }

  private static String str(RecordedObject o, String field) {
    if (!o.hasField(field)) return null;
    Object v = o.getValue(field);
    return v == null ? null : v.toString();
  }

  private static long lng(RecordedObject o, String field, long dflt) {
    if (!o.hasField(field)) return dflt;
    Object v = o.getValue(field);
    return v instanceof Number ? ((Number) v).longValue() : dflt;
  }

  private static String threadState(RecordedEvent e) {
    if (!e.hasField("state")) return null;
    Object v = e.getValue("state");
    if (v instanceof RecordedObject) {
      RecordedObject ro = (RecordedObject) v;
      return ro.hasField("name") ? String.valueOf(ro.getValue("name")) : ro.toString();
    }
    return v == null ? null : v.toString();
  }

  /** Context labels, plus profile_id / span_name from the async-profiler tracing context, as Pyroscope builds them. */
  private Map<String, String> labels(RecordedEvent e, boolean correlated) {
    Map<String, String> out = new TreeMap<>();
    if (!correlated) return out;
    long contextId = lng(e, "contextId", 0);
    if (contextId != 0) {
      JfrLabels.Context ctx = contexts.get(contextId);
      if (ctx != null) {
        for (Map.Entry<Long, Long> kv : ctx.getLabelsMap().entrySet()) {
          String k = strings.get(kv.getKey());
          String v = strings.get(kv.getValue());
          if (k != null && v != null) out.put(k, v);
        }
      }
    }
    long spanId = lng(e, "spanId", 0);
    if (spanId != 0) out.put("profile_id", String.format("%016x", spanId));
    long spanName = lng(e, "spanName", 0);
    if (spanName != 0) {
      String s = strings.get(spanName);
      if (s != null && !s.isEmpty()) out.put("span_name", s);
    }
    return out;
  }

  /** Frames root first, named like Pyroscope names them: internal class name + "." + method. */
  private static List<String> stack(RecordedEvent e) {
    List<String> out = new ArrayList<>();
    RecordedStackTrace st = e.getStackTrace();
    if (st == null) return out;
    List<RecordedFrame> frames = st.getFrames();
    for (int i = frames.size() - 1; i >= 0; i--) {
      RecordedMethod m = frames.get(i).getMethod();
      if (m == null) continue;
      String cls = m.getType() == null ? "" : m.getType().getName().replace('.', '/');
      out.add(cls + "." + m.getName());
    }
    return out;
  }

  private static String q(String s) {
    if (s == null) return "null";
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': sb.append("\\\""); break;
        case '\\': sb.append("\\\\"); break;
        case '\n': sb.append("\\n"); break;
        case '\r': sb.append("\\r"); break;
        case '\t': sb.append("\\t"); break;
        default:
          if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
      }
    }
    return sb.append('"').toString();
  }
}
