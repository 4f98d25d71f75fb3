// Every example's spec: test/examples/<folder>.ts for each folder of examples/ (the list is the filesystem's, so a
// new example is one folder plus one spec file). LGTMP_EXAMPLES=go,node limits the run to those folders.
import { exampleFolders, type ExampleSpec } from '../harness/example.js';

export async function exampleSpecs(): Promise<ExampleSpec[]> {
  const only = process.env.LGTMP_EXAMPLES?.split(',').map((s) => s.trim()).filter(Boolean);
  const folders = exampleFolders().filter((f) => !only || only.includes(f));
  return Promise.all(folders.map(async (folder) => {
    let spec: unknown;
    try {
      spec = ((await import(`./${folder}.js`)) as { example?: unknown }).example;
    } catch (e) {
      throw new Error(`examples/${folder} has no spec test/examples/${folder}.ts exporting \`example\`: ${e instanceof Error ? e.message : String(e)}`);
    }
    if ((spec as ExampleSpec | undefined)?.folder !== folder) throw new Error(`test/examples/${folder}.ts: \`example.folder\` must be '${folder}'`);
    return spec as ExampleSpec;
  }));
}
