package io.lgtmp.demo;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * The memory hot spot of the demo: {@link #allocateMemoryBurst()} allocates ALLOC_CHUNKS chunks
 * of ALLOC_CHUNK_KIB KiB (default 200 x 256 KiB = 50 MiB), writes every byte, and keeps the batch
 * in a global list capped at ALLOC_MAX_BATCHES batches (default 20, about 1 GiB): the heap rises
 * in steps and then plateaus, and the allocation profile points here.
 *
 * <p>While the {@code leak} fault is on, every batch is also kept in a second list with no plateau
 * until {@code cap_mib} is retained, so in-use memory only grows; turning the fault off (or its
 * expiry) frees that list and hands the memory back to the OS.
 */
@Component
public class MemoryHog {

    /** What one burst did and what is now retained; leakCapBytes is 0 while the leak fault is off. */
    public record Burst(int chunks, int chunkKib, long allocatedBytes, int retainedBatches, long retainedBytes,
                        int maxBatches, long leakedBytes, long leakCapBytes) {
    }

    private final int chunks;
    private final int chunkKib;
    private final int maxBatches;
    private final Faults faults;
    private final Deque<byte[][]> retained = new ArrayDeque<>();
    private final List<byte[][]> leaked = new ArrayList<>();

    public MemoryHog(DemoSettings settings, Faults faults) {
        this.chunks = settings.allocChunks();
        this.chunkKib = settings.allocChunkKib();
        this.maxBatches = settings.allocMaxBatches();
        this.faults = faults;
        faults.onOff(kind -> {
            if (kind == FaultKind.LEAK) {
                releaseLeak();
            }
        });
    }

    public Burst allocateMemoryBurst() {
        int chunkBytes = chunkKib * 1024;
        long batchBytes = (long) chunks * chunkBytes;
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
        Faults.Active leak = faults.get(FaultKind.LEAK);
        long leakCap = leak == null ? 0 : leak.capMib() * 1024L * 1024L;
        synchronized (retained) {
            if (maxBatches > 0) {
                retained.addLast(batch);
            }
            while (retained.size() > maxBatches) {
                retained.removeFirst();
            }
            if (leak != null && leaked.size() * batchBytes < leakCap) {
                leaked.add(batch);
            }
            return new Burst(chunks, chunkKib, batchBytes, retained.size(), retained.size() * batchBytes, maxBatches,
                    leaked.size() * batchBytes, leakCap);
        }
    }

    /**
     * Drops the leaked batches and, if there were any, runs a full collection: G1 gives heap back to the OS only
     * when a collection shrinks it, so without one the leaked regions stay committed (RSS does not fall) and the
     * next batches expand the heap further instead of reusing them. (The Go app calls debug.FreeOSMemory here.)
     */
    private void releaseLeak() {
        boolean had;
        synchronized (retained) {
            had = !leaked.isEmpty();
            leaked.clear();
        }
        if (had) {
            System.gc();
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
            leaked.clear();
        }
    }
}
