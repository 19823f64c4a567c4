//! How the process's heap keeps memory it frees.
//!
//! A training step allocates and frees the same large activation and gradient buffers every
//! step. glibc's defaults hand every block over 128 KiB-32 MiB (its adaptive mmap threshold)
//! straight back to the kernel with `munmap`, and trim the heap's top when it frees, so each
//! step faults all of that memory in again page by page, and each `munmap` also flushes the
//! other threads' TLBs. In a profile of `svs bench train` the kernel's page clearing and TLB
//! flushes were a large share of the step (figures in docs/BENCHMARKS.md). Keeping freed memory in the heap
//! for reuse is glibc's own `mallopt`; a replacement allocator (jemalloc, mimalloc) measured
//! slower here (docs/BENCHMARKS.md), so this is the one call, made once by the `svs` binary.

/// Makes the heap keep freed blocks up to 32 MiB (glibc's largest mmap threshold) and never trim
/// its top. Process-wide; only glibc on Linux has these settings, elsewhere it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MMAP_THRESHOLD_MAX: libc::c_int = 32 << 20;
        // SAFETY: mallopt only changes glibc's allocation thresholds; it is called before any
        // other thread exists and has no memory-safety preconditions.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX);
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
            libc::mallopt(libc::M_TOP_PAD, 1 << 30);
        }
    }
}
