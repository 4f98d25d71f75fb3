// Span profiles for Node.js: links a trace's local root span to the profile samples taken while it
// was running, the way otel-profiling-go, Pyroscope's Java extension and pyroscope-otel do for
// Go, Java and Python (@pyroscope/nodejs has no OpenTelemetry integration of its own).
//
// Two pieces:
// - PyroscopeSpanProcessor: on every LOCAL ROOT span (no parent, or a parent from another process)
//   it sets the attribute `pyroscope.profile.id` = the span id (what Grafana's "Profiles for this
//   span" reads) and labels the wall profiler's samples `span_id` = that id, `span_name` = the
//   span's name; when the root ends the labels are cleared. Child spans never change the labels:
//   their samples keep the root's id, which is what Pyroscope's span selector expects.
// - ProfilingContextManager: Node runs many requests interleaved on one thread, but the profiler
//   has ONE current label set. So the labels must follow the active OpenTelemetry context, not the
//   order in which spans start: every `context.with(ctx, fn)` (how the instrumentations run a
//   request handler, an Express middleware or a bound event listener) switches the labels to
//   the local root of `ctx` for the duration of `fn` and restores them afterwards.
//
// Limits (also in the README):
// - Only the wall profiler (`wall` and, with collectCpuTime, `cpu` sample types) carries labels;
//   the heap profiler has none, so there are no span profiles for memory.
// - Code that resumes after an `await` (a promise continuation, a timer) is re-entered through
//   AsyncLocalStorage, not through `context.with`, so the labels are not switched for it: such
//   samples carry whatever labels are current (usually none). Synchronous work in a handler
//   (like /slow's regex) is attributed exactly; work after an `await` in a handler can be missed.
// - A sample carries the labels set when it is taken; `context.with` scopes are synchronous, so
//   two requests can never be running JavaScript at the same instant on one thread, and a scope
//   never mislabels another request's synchronous work.

import { trace, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';

export const PROFILE_ID_ATTRIBUTE = 'pyroscope.profile.id';
export const SPAN_ID_LABEL = 'span_id';
export const SPAN_NAME_LABEL = 'span_name';

export type Labels = Record<string, string | number>;

/** The label API of the profiler (@pyroscope/nodejs: getLabels/setLabels of its wall profiler). */
export interface ProfileLabeler {
  getLabels(): Labels;
  setLabels(labels: Labels): void;
}

interface RootInfo {
  readonly spanId: string;
  readonly span: ReadableSpan;
  ended: boolean;
}

export interface PyroscopeSpanProcessorOptions {
  /** Also label samples with the root span's name (`span_name`); default true. */
  addSpanName?: boolean;
}

export class PyroscopeSpanProcessor implements SpanProcessor {
  /** Every span we saw start, mapped to the local root it belongs to. */
  private readonly roots = new WeakMap<object, RootInfo>();
  private readonly addSpanName: boolean;

  constructor(
    private readonly labeler: ProfileLabeler,
    options: PyroscopeSpanProcessorOptions = {},
  ) {
    this.addSpanName = options.addSpanName ?? true;
  }

  onStart(span: Span, parentContext: Context): void {
    const parent = trace.getSpan(parentContext);
    const parentIsLocal = parent !== undefined && trace.isSpanContextValid(parent.spanContext()) && !parent.spanContext().isRemote;
    if (parentIsLocal) {
      // A child: it belongs to its parent's root (if we know it); labels stay as they are.
      const root = this.roots.get(parent);
      if (root !== undefined) this.roots.set(span, root);
      return;
    }
    const spanId = span.spanContext().spanId;
    span.setAttribute(PROFILE_ID_ATTRIBUTE, spanId);
    const root: RootInfo = { spanId, span, ended: false };
    this.roots.set(span, root);
    this.apply(root);
  }

  onEnd(span: ReadableSpan): void {
    const root = this.roots.get(span);
    if (root === undefined || root.span !== span) return;
    root.ended = true;
    if (this.currentSpanId() === root.spanId) this.apply(undefined);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** The running local root of the span active in `ctx`, if any. */
  rootOf(ctx: Context): RootInfo | undefined {
    const span = trace.getSpan(ctx);
    if (span === undefined) return undefined;
    const root = this.roots.get(span);
    return root === undefined || root.ended ? undefined : root;
  }

  /**
   * Switches the labels to the root of `ctx`; returns what to hand to `exit` afterwards.
   * Used by ProfilingContextManager around every `context.with`.
   */
  enter(ctx: Context): RootInfo | undefined | null {
    const previous = this.currentRoot;
    const target = this.rootOf(ctx);
    if (target === previous && this.labelsMatch(target)) return null; // nothing to restore
    this.apply(target);
    return previous;
  }

  exit(previous: RootInfo | undefined | null): void {
    if (previous === null) return;
    this.apply(previous !== undefined && !previous.ended ? previous : undefined);
  }

  private currentRoot: RootInfo | undefined;

  private currentSpanId(): string | undefined {
    try {
      const value = this.labeler.getLabels()[SPAN_ID_LABEL];
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /** True when the profiler's labels are those of `root` (the profiler resets them each flush). */
  private labelsMatch(root: RootInfo | undefined): boolean {
    let labels: Labels;
    try {
      labels = this.labeler.getLabels();
    } catch {
      return true; // no profiler: nothing to change
    }
    if (root === undefined) return labels[SPAN_ID_LABEL] === undefined;
    return (
      labels[SPAN_ID_LABEL] === root.spanId && (!this.addSpanName || labels[SPAN_NAME_LABEL] === root.span.name)
    );
  }

  private apply(root: RootInfo | undefined): void {
    this.currentRoot = root;
    try {
      const labels: Labels = { ...this.labeler.getLabels() };
      delete labels[SPAN_ID_LABEL];
      delete labels[SPAN_NAME_LABEL];
      if (root !== undefined) {
        labels[SPAN_ID_LABEL] = root.spanId;
        if (this.addSpanName) labels[SPAN_NAME_LABEL] = root.span.name;
      }
      this.labeler.setLabels(labels);
    } catch {
      // The profiler is not running (not started yet, or stopped at shutdown): nothing to label.
    }
  }
}

/**
 * The standard Node.js context manager (AsyncLocalStorage), plus: while a context is entered with
 * `with`, the profiler's labels are those of that context's local root span.
 */
export class ProfilingContextManager extends AsyncLocalStorageContextManager {
  constructor(private readonly processor: PyroscopeSpanProcessor) {
    super();
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const token = this.processor.enter(context);
    try {
      return super.with(context, fn, thisArg, ...args);
    } finally {
      this.processor.exit(token);
    }
  }
}
