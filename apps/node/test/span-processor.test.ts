import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  PROFILE_ID_ATTRIBUTE,
  ProfilingContextManager,
  PyroscopeSpanProcessor,
  type Labels,
  type ProfileLabeler,
} from '../src/telemetry/pyroscope-span-processor.js';

/** Stands in for @pyroscope/nodejs's label API; also forgets its labels like the profiler does at each flush. */
class FakeLabeler implements ProfileLabeler {
  labels: Labels = {};
  sets = 0;
  getLabels(): Labels {
    return this.labels;
  }
  setLabels(labels: Labels): void {
    this.labels = labels;
    this.sets++;
  }
  flush(): void {
    this.labels = {};
  }
}

describe('PyroscopeSpanProcessor', () => {
  const labeler = new FakeLabeler();
  const processor = new PyroscopeSpanProcessor(labeler);
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('test');
  const contextManager = new ProfilingContextManager(processor);

  before(() => {
    context.setGlobalContextManager(contextManager.enable());
  });
  after(() => {
    context.disable();
  });
  beforeEach(() => {
    labeler.labels = {};
    exporter.reset();
  });

  const exported = (name: string) => {
    const s = exporter.getFinishedSpans().find((x) => x.name === name);
    assert.ok(s, `span ${name} exported`);
    return s;
  };

  it('labels samples with the root span id and name while it runs, and clears them at its end', () => {
    const root = tracer.startSpan('GET /slow');
    const id = root.spanContext().spanId;
    assert.deepEqual(labeler.labels, { span_id: id, span_name: 'GET /slow' });
    root.end();
    assert.deepEqual(labeler.labels, {});
    assert.equal(exported('GET /slow').attributes[PROFILE_ID_ATTRIBUTE], id);
  });

  it('nested spans do not steal the root label and get no profile id', () => {
    const root = tracer.startSpan('GET /slow');
    const rootId = root.spanContext().spanId;
    context.with(trace.setSpan(context.active(), root), () => {
      const child = tracer.startSpan('request handler');
      assert.equal(labeler.labels.span_id, rootId);
      context.with(trace.setSpan(context.active(), child), () => {
        const grandchild = tracer.startSpan('checkEmail');
        assert.equal(labeler.labels.span_id, rootId, 'inside the child scope the label is still the root');
        context.with(trace.setSpan(context.active(), grandchild), () => {
          assert.equal(labeler.labels.span_id, rootId);
        });
        grandchild.end();
      });
      child.end();
      assert.equal(labeler.labels.span_id, rootId, 'a child ending does not clear the root label');
    });
    root.end();
    assert.deepEqual(labeler.labels, {});
    assert.equal(exported('GET /slow').attributes[PROFILE_ID_ATTRIBUTE], rootId);
    assert.equal(exported('request handler').attributes[PROFILE_ID_ATTRIBUTE], undefined);
    assert.equal(exported('checkEmail').attributes[PROFILE_ID_ATTRIBUTE], undefined);
  });

  it('a span whose parent is remote is a local root', () => {
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const server = tracer.startSpan('GET /chain', {}, remote);
    const id = server.spanContext().spanId;
    assert.equal(labeler.labels.span_id, id);
    server.end();
    const s = exported('GET /chain');
    assert.equal(s.attributes[PROFILE_ID_ATTRIBUTE], id);
    assert.equal(s.parentSpanContext?.spanId, 'b7ad6b7169203331');
  });

  it('labels follow the entered context when requests interleave', () => {
    const a = tracer.startSpan('GET /a');
    const b = tracer.startSpan('GET /b'); // started later: the profiler now says b
    const ctxA = trace.setSpan(ROOT_CONTEXT, a);
    const ctxB = trace.setSpan(ROOT_CONTEXT, b);
    assert.equal(labeler.labels.span_id, b.spanContext().spanId);
    context.with(ctxA, () => {
      assert.equal(labeler.labels.span_id, a.spanContext().spanId, "a's handler runs with a's label");
      // a child of a, started while b was the latest root, still belongs to a
      const child = tracer.startSpan('a child');
      context.with(trace.setSpan(context.active(), child), () => {
        assert.equal(labeler.labels.span_id, a.spanContext().spanId);
      });
      child.end();
      context.with(ctxB, () => assert.equal(labeler.labels.span_id, b.spanContext().spanId));
      assert.equal(labeler.labels.span_id, a.spanContext().spanId, 'restored after the inner scope');
    });
    assert.equal(labeler.labels.span_id, b.spanContext().spanId, 'restored after the outer scope');
    b.end();
    assert.deepEqual(labeler.labels, {});
    context.with(ctxA, () => assert.equal(labeler.labels.span_id, a.spanContext().spanId));
    assert.deepEqual(labeler.labels, {});
    a.end();
    // an ended root is never labelled again
    context.with(ctxA, () => assert.deepEqual(labeler.labels, {}));
  });

  it('a context without a span has no label, and restores the outer one', () => {
    const root = tracer.startSpan('GET /x');
    context.with(trace.setSpan(ROOT_CONTEXT, root), () => {
      context.with(ROOT_CONTEXT, () => assert.deepEqual(labeler.labels, {}));
      assert.equal(labeler.labels.span_id, root.spanContext().spanId);
    });
    root.end();
  });

  it('re-applies labels the profiler dropped at a flush', () => {
    const root = tracer.startSpan('GET /long');
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    labeler.flush();
    context.with(ctx, () => assert.equal(labeler.labels.span_id, root.spanContext().spanId));
    root.end();
  });

  it('keeps labels that are not its own', () => {
    labeler.labels = { region: 'eu' };
    const root = tracer.startSpan('GET /keep');
    assert.deepEqual(labeler.labels, { region: 'eu', span_id: root.spanContext().spanId, span_name: 'GET /keep' });
    root.end();
    assert.deepEqual(labeler.labels, { region: 'eu' });
  });

  it('uses the current span name (renamed spans)', () => {
    const root = tracer.startSpan('GET');
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    root.updateName('GET /slow');
    context.with(ctx, () => assert.equal(labeler.labels.span_name, 'GET /slow'));
    root.end();
  });

  it('does not touch the labels for unrelated context switches (no label churn)', () => {
    const root = tracer.startSpan('GET /quiet');
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    const sets = labeler.sets;
    context.with(ctx, () => {
      context.with(ctx, () => undefined);
      context.with(propagation.setBaggage(context.active(), propagation.createBaggage()), () => undefined);
    });
    assert.equal(labeler.sets, sets, 'same root, no setLabels call');
    root.end();
  });

  it('survives a profiler that is not running', () => {
    const broken = new PyroscopeSpanProcessor({
      getLabels: () => {
        throw new Error('Wall profiler is not started');
      },
      setLabels: () => {
        throw new Error('Wall profiler is not started');
      },
    });
    const p = new TracerProvider({ spanProcessors: [broken] });
    const span = p.getTracer('t').startSpan('GET /x');
    const cm = new ProfilingContextManager(broken);
    assert.equal(cm.with(trace.setSpan(ROOT_CONTEXT, span) as Context, () => 42), 42);
    span.end();
  });

  it('bound callbacks and event listeners get the label of their context', async () => {
    const root = tracer.startSpan('GET /bound');
    const other = tracer.startSpan('GET /other');
    const bound = context.bind(trace.setSpan(ROOT_CONTEXT, root), () => labeler.labels.span_id);
    assert.equal(labeler.labels.span_id, other.spanContext().spanId);
    assert.equal(bound(), root.spanContext().spanId);
    other.end();
    root.end();
  });
});
