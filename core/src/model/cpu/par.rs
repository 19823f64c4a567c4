//! The CPU model's parallel loops: over rayon's threads, or in order without the `parallel`
//! feature (the wasm32 build).

/// `[f(0), f(1), .., f(count - 1)]`, computed over the threads.
pub(crate) fn map_indices<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        (0..count).into_par_iter().map(&f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    (0..count).map(f).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_in_index_order() {
        assert_eq!(super::map_indices(5, |i| i * i), vec![0, 1, 4, 9, 16]);
    }
}
