//! The live separator allocates nothing once built: it runs on a plugin's audio thread. This
//! binary counts the allocations its test thread makes (its own global allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use svs_core::{LiveConfig, LiveSeparator, PoCoNetConfig, default_model};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; counting only reads and
// writes thread-locals of plain integers, which do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

/// One block of `vocals[0].len()` samples from `start`.
fn process(
    live: &mut LiveSeparator,
    input: &[Vec<f32>],
    start: usize,
    vocals: &mut [Vec<f32>],
    accompaniment: &mut [Vec<f32>],
) {
    let block = vocals[0].len();
    let ins = [&input[0][start..start + block], &input[1][start..start + block]];
    let [v0, v1] = vocals else { unreachable!() };
    let [a0, a1] = accompaniment else { unreachable!() };
    live.process(&ins, &mut [&mut v0[..], &mut v1[..]], &mut [&mut a0[..], &mut a1[..]]).unwrap();
}

#[test]
fn processing_allocates_nothing_after_construction() {
    let counted = allocations(|| drop(std::hint::black_box(vec![0u8; 16])));
    assert_eq!(counted, 1, "the counter does not count");
    let device = burn::tensor::Device::flex();
    let (default, _) = default_model::default_model().unwrap().separator(&device).expect("the embedded model loads");
    let deeper = PoCoNetConfig::new().with_levels(3).with_base_channels(6).with_max_channels(12).init(&device);
    for (model, rate, block) in [(&default, 48_000u32, 128usize), (&deeper, 44_100, 441)] {
        let mut live = LiveSeparator::new(model, rate, 2, &LiveConfig::default()).unwrap();
        let n = rate as usize; // one second: every level's pooling phase, rings filling up
        let input: Vec<Vec<f32>> =
            (0..2).map(|c| (0..n).map(|i| ((i * (c + 3)) % 97) as f32 / 97.0 - 0.5).collect()).collect();
        let (mut vocals, mut accompaniment) = (vec![vec![0.0f32; block]; 2], vec![vec![0.0f32; block]; 2]);
        let count = allocations(|| {
            for start in (0..n - block).step_by(block) {
                process(&mut live, &input, start, &mut vocals, &mut accompaniment);
            }
        });
        assert_eq!(count, 0, "{rate} Hz: {count} allocations while processing");
        assert!(vocals[0].iter().any(|v| *v != 0.0), "nothing came out: the test measured nothing");
        let count = allocations(|| {
            live.reset();
            process(&mut live, &input, 0, &mut vocals, &mut accompaniment);
        });
        assert_eq!(count, 0, "{rate} Hz: {count} allocations in reset and after");
    }
}
