package main

// alloc.go: the seed's memory scenario. Each /alloc call allocates a batch
// of ALLOC_CHUNKS x ALLOC_CHUNK_KIB (200 x 256 KiB = 50 MiB by default),
// writes every byte so the pages are really resident, and keeps the batch in
// a global. At most ALLOC_MAX_BATCHES (20, ~1 GiB) batches are kept: the
// oldest is dropped when a new one arrives, so RSS rises in steps and then
// plateaus instead of growing without bound.

import (
	"runtime/debug"
	"sync"
)

// allocStore holds the retained batches.
type allocStore struct {
	mu      sync.Mutex
	batches [][][]byte
	bytes   int64
}

// retained is the global the seed's "leak" lives in.
var retained allocStore

// allocateMemoryBurst allocates chunks buffers of chunkKiB KiB each and
// touches every byte. Its allocations are what the alloc_space flame graph
// shows under main.allocateMemoryBurst.
//
//go:noinline
func allocateMemoryBurst(chunks, chunkKiB int) [][]byte {
	batch := make([][]byte, chunks)
	for i := range batch {
		buf := make([]byte, chunkKiB*1024)
		for j := range buf {
			buf[j] = byte(i + j)
		}
		batch[i] = buf
	}
	return batch
}

// keep stores a batch, dropping the oldest ones beyond maxBatches, and
// returns the number of batches and bytes now retained.
func (s *allocStore) keep(batch [][]byte, maxBatches int) (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, batch)
	s.bytes += batchBytes(batch)
	for len(s.batches) > maxBatches {
		s.bytes -= batchBytes(s.batches[0])
		s.batches[0] = nil
		s.batches = s.batches[1:]
	}
	return len(s.batches), s.bytes
}

// keepUpTo stores a batch if the store stays within capBytes (the leak
// fault: no plateau until the cap) and returns whether it did and the bytes
// now retained.
func (s *allocStore) keepUpTo(batch [][]byte, capBytes int64) (bool, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+batchBytes(batch) > capBytes {
		return false, s.bytes
	}
	s.batches = append(s.batches, batch)
	s.bytes += batchBytes(batch)
	return true, s.bytes
}

// release drops every batch and hands the memory back to the OS, so RSS
// falls when the leak fault ends.
func (s *allocStore) release() {
	s.mu.Lock()
	had := s.bytes > 0
	s.batches, s.bytes = nil, 0
	s.mu.Unlock()
	if had {
		go debug.FreeOSMemory()
	}
}

func (s *allocStore) stats() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches), s.bytes
}

func batchBytes(batch [][]byte) int64 {
	var n int64
	for _, b := range batch {
		n += int64(len(b))
	}
	return n
}

// leaked holds what /alloc keeps while the leak fault is on.
var leaked allocStore

// retainedBytes is read by the demo.alloc.retained metric.
func retainedBytes() int64 {
	_, n := retained.stats()
	_, l := leaked.stats()
	return n + l
}
