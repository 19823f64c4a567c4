//! Transparent huge pages for the large buffers that evaluation fills once per thread.
//!
//! Touching fresh memory costs a page fault per 4 KiB page: the first track each thread
//! evaluates faults in about 70 MB (stems, file bytes, kept spectra), some 17,000 faults, a
//! sixth of `svs eval`'s CPU time in a profile. Linux backs a 2 MiB-aligned stretch of memory
//! with one huge page per fault where the process asks for it (`madvise(MADV_HUGEPAGE)`, the
//! kernel's default `madvise` policy); nothing else in std or a small crate asks for it, hence
//! this one call. Elsewhere it does nothing.

/// Asks for huge pages behind the spare capacity of `buffer` (reserved, not yet touched): call
/// it after `reserve` and before writing.
pub fn advise_spare_capacity<T>(buffer: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let spare = buffer.spare_capacity_mut();
        let start = spare.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(spare);
        // Only whole huge pages inside the buffer: madvise works on page-aligned ranges, and a
        // huge page must not reach into memory the buffer does not own.
        let (first, last) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if last > first {
            // SAFETY: [first, last) lies inside this Vec's allocation; MADV_HUGEPAGE changes only
            // how the kernel backs it, never its contents or validity.
            unsafe {
                libc::madvise(first as *mut libc::c_void, last - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buffer;
}
