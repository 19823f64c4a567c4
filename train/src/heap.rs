//! How the process's heap keeps memory it frees.
//!
//! A training step allocates and frees the same large activation and gradient buffers every
//! step. glibc's defaults hand every block over 128 KiB-32 MiB (its adaptive mmap threshold)
//! straight back to the kernel with `munmap`, and trim the heap's top when it frees, so each
//! step faults all of that memory in again page by page, and each `munmap` also flushes the
//! other threads' TLBs. In a profile of `svs bench train` the kernel's page clearing and TLB
//! flushes were a large share of the step, and a matrix product writing into freshly mapped
//! memory ran at half its speed (figures in docs/BENCHMARKS.md). The largest maps (the top
//! level's, 40 MB and more for a 2.5 s x 4 batch) are above the largest mmap threshold glibc
//! accepts, so the heap is told not to use mmap at all: every block comes from the heap and
//! stays there for reuse. This is glibc's own `mallopt`; a replacement allocator (jemalloc,
//! mimalloc) measured slower here (docs/BENCHMARKS.md), so this is the one call, made once by
//! the `svs` binary.

/// Makes the heap keep every freed block for reuse: no block is mmapped (glibc then grows the
/// heap instead; it still falls back to mmap if the heap cannot grow) and its top is never
/// trimmed. Process-wide; only glibc on Linux has these settings, elsewhere it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes glibc's allocation thresholds; it is called before any
        // other thread exists and has no memory-safety preconditions.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
            libc::mallopt(libc::M_TOP_PAD, 1 << 30);
        }
    }
}
