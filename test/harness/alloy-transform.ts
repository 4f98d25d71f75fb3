// Spans and logs as Alloy hands them on: stack/alloy/config.alloy's otelcol.processor.transform "job" block,
// run by the collector's own transform processor (tools/otel-transform, the collector-contrib code Alloy's
// component wraps). Alloy itself does not run here; its pipeline's one change to traces and logs does, for real.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot, run } from './cache.js';
import { goTool } from './go-tool.js';

export const ALLOY_CONFIG = join(repoRoot, 'stack', 'alloy', 'config.alloy');
const COMPONENT = 'otelcol.processor.transform "job"';

/** The text between the braces of the block that starts at `open` (the index of its "{"). */
function blockBody(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error(`${ALLOY_CONFIG}: unbalanced braces after offset ${open}`);
}

/**
 * The transform block's settings in the collector's config shape: error_mode and, per signal, the
 * {context, statements} blocks (Alloy's `<signal>_statements` blocks, statements as raw `...` strings).
 */
export function alloyTransformConfig(text = readFileSync(ALLOY_CONFIG, 'utf8')): Record<string, unknown> {
  const at = text.indexOf(COMPONENT);
  if (at < 0) throw new Error(`${ALLOY_CONFIG}: no ${COMPONENT} block`);
  const body = blockBody(text, text.indexOf('{', at));
  const config: Record<string, unknown> = {};
  const mode = /^\s*error_mode\s*=\s*"([^"]*)"/m.exec(body);
  if (mode) config['error_mode'] = mode[1];
  for (const m of body.matchAll(/(trace|log|metric)_statements\s*\{/g)) {
    const block = blockBody(body, m.index + m[0].length - 1);
    const context = /context\s*=\s*"([^"]*)"/.exec(block)?.[1];
    const list = /statements\s*=\s*\[([\s\S]*?)\]\s*$/m.exec(block)?.[1] ?? '';
    const statements = [...list.matchAll(/`([^`]*)`/g)].map((s) => s[1]!);
    const key = `${m[1]}_statements`;
    config[key] = [...((config[key] as unknown[]) ?? []), { context, statements }];
  }
  return config;
}

let prepared: Promise<{ path: string; config: string }> | undefined;

/**
 * Builds the tool (minutes on a cold cache) and reads the block, once per process: a receiver calls it before it
 * takes requests, so an SDK's first export is not held up, and no request hashes the tool's source or re-reads
 * config.alloy.
 */
export function prepareAlloyTransform(): Promise<{ path: string; config: string }> {
  prepared ??= goTool('otel-transform').then((path) => ({ path, config: JSON.stringify(alloyTransformConfig()) }));
  prepared.catch(() => { prepared = undefined; });
  return prepared;
}

/** One OTLP/HTTP export body (plain, protobuf or JSON) of traces or logs after Alloy's transform block. */
export async function throughAlloy(signal: 'traces' | 'logs', body: Buffer, json: boolean): Promise<Buffer> {
  const { path, config } = await prepareAlloyTransform();
  const r = await run(path, ['-signal', signal, '-config', config, ...(json ? ['-json'] : [])], { input: body, timeoutMs: 60_000 });
  return r.stdoutBytes;
}
