// The work behind GET /alloc: a memory burst that is kept, like the seed's Go `allocateMemoryBurst`
// (200 chunks x 256 KiB, touched, retained in a global, at most 20 batches).
//
// Node.js detail: Buffer/TypedArray memory lives outside the V8 heap, and the V8 sampling heap
// profiler that @pyroscope/nodejs uses only sees V8-heap allocations. So each chunk is a plain JS
// array of numbers sized to the chunk (8 bytes per element), written element by element: the
// memory is real, counted in heapUsed/RSS, and shows up in the heap flame graph under
// `allocateMemoryBurst`.

const BYTES_PER_ELEMENT = 8;

export type Batch = number[][];

/** Allocates `chunks` arrays of about `chunkKiB` KiB each and writes every element. */
export function allocateMemoryBurst(chunks: number, chunkKiB: number): Batch {
  const elements = Math.max(1, Math.floor((chunkKiB * 1024) / BYTES_PER_ELEMENT));
  const batch: Batch = [];
  for (let c = 0; c < chunks; c++) {
    const chunk: number[] = [];
    for (let i = 0; i < elements; i++) chunk.push((c + i) & 0xff);
    batch.push(chunk);
  }
  return batch;
}

/** The global that keeps bursts alive: at most `maxBatches`, the oldest dropped first. */
export class RetainedMemory {
  private readonly batches: Batch[] = [];
  constructor(private readonly maxBatches: number) {}

  add(batch: Batch): void {
    this.batches.push(batch);
    while (this.batches.length > this.maxBatches) this.batches.shift();
  }

  /** Lets go of every burst (the `leak` fault turned off). */
  clear(): void {
    this.batches.length = 0;
  }

  get count(): number {
    return this.batches.length;
  }

  get max(): number {
    return this.maxBatches;
  }
}

export function approxBatchBytes(chunks: number, chunkKiB: number): number {
  return chunks * Math.max(1, Math.floor((chunkKiB * 1024) / BYTES_PER_ELEMENT)) * BYTES_PER_ELEMENT;
}
