// The datasource settings verify runs with on the recordings, and variants of them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

import { SEED_SPAN_LOGS_QUERY } from '../../src/facts.js';
import { defaultProvisioningFile } from '../../src/verify/provisioning.js';

export type ProvisioningDoc = { datasources: Array<{ uid: string; jsonData: Record<string, any> }> };

/**
 * A copy of the repository's datasources.yaml as the recordings were made with it, then `edit` applied to the parsed
 * document. The Loki recordings answer the seed's "Logs for this span" query (`|= "<trace id>"`), the one they were made
 * with, and the fixture server answers only what was recorded: so here tracesToLogsV2.query is the seed's. The
 * provisioned query (SPAN_LOGS_QUERY, which also finds lines whose trace id is only structured metadata) is proven on
 * the same recorded streams with Loki 3.7.6's own code in logs-link.test.ts.
 */
export function provisioningVariant(edit: (doc: ProvisioningDoc) => void): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lgtmp-prov-'));
  const doc = parse(readFileSync(defaultProvisioningFile(), 'utf8')) as ProvisioningDoc;
  tempoOf(doc).jsonData['tracesToLogsV2'].query = SEED_SPAN_LOGS_QUERY.replaceAll('$', () => '$$'); // Grafana's escape in the file
  edit(doc);
  const file = join(dir, 'datasources.yaml');
  writeFileSync(file, stringify(doc));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const tempoOf = (doc: ProvisioningDoc) => doc.datasources.find((d) => d.uid === 'tempo')!;
