package io.lgtmp.demo;

import java.util.ArrayDeque;
import java.util.Deque;
import org.springframework.stereotype.Component;

/**
 * The memory hot spot of the demo: {@link #allocateMemoryBurst()} allocates ALLOC_CHUNKS chunks
 * of ALLOC_CHUNK_KIB KiB (default 200 x 256 KiB = 50 MiB), writes every byte, and keeps the batch
 * in a global list capped at ALLOC_MAX_BATCHES batches (default 20, about 1 GiB): the heap rises
 * in steps and then plateaus, and the allocation profile points here.
 */
@Component
public class MemoryHog {

    /** What one burst did and what is now retained. */
    public record Burst(int chunks, int chunkKib, long allocatedBytes, int retainedBatches, long retainedBytes,
                        int maxBatches) {
    }

    private final int chunks;
    private final int chunkKib;
    private final int maxBatches;
    private final Deque<byte[][]> retained = new ArrayDeque<>();

    public MemoryHog(DemoSettings settings) {
        this.chunks = settings.allocChunks();
        this.chunkKib = settings.allocChunkKib();
        this.maxBatches = settings.allocMaxBatches();
    }

    public Burst allocateMemoryBurst() {
        int chunkBytes = chunkKib * 1024;
        byte[][] batch = new byte[chunks][];
        try {
            for (int i = 0; i < chunks; i++) {
                byte[] chunk = new byte[chunkBytes];
                for (int j = 0; j < chunkBytes; j++) {
                    chunk[j] = (byte) (i + j);
                }
                batch[i] = chunk;
            }
        } catch (OutOfMemoryError oom) {
            batch = null;
            release();
            throw new IllegalStateException("heap exhausted while allocating; retained batches released", oom);
        }
        synchronized (retained) {
            if (maxBatches > 0) {
                retained.addLast(batch);
            }
            while (retained.size() > maxBatches) {
                retained.removeFirst();
            }
            return new Burst(chunks, chunkKib, (long) chunks * chunkBytes, retained.size(),
                    (long) retained.size() * chunks * chunkBytes, maxBatches);
        }
    }

    public int retainedBatches() {
        synchronized (retained) {
            return retained.size();
        }
    }

    public void release() {
        synchronized (retained) {
            retained.clear();
        }
    }
}
