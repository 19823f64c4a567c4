//! The short slice of the fuzzing run that belongs in the test suite: every seed accepted,
//! a few hundred mutated cases per target with no panic, hang or unbounded memory, and every
//! regression seed (inputs that once failed) run again. The long run is `svs-fuzz` (see
//! docs/RELIABILITY.md).

use std::path::Path;
use std::time::Duration;
use svs_fuzz::harness::{Limits, Verdict, run_case};
use svs_fuzz::mutate::Mutator;
use svs_fuzz::seeds::corpus_dir;
use svs_fuzz::targets::{Corpus, Input, Target, run};

#[global_allocator]
static ALLOCATOR: svs_fuzz::alloc::CountingAllocator = svs_fuzz::alloc::CountingAllocator;

const CASES_PER_TARGET: usize = 300;

#[test]
fn seeds_are_accepted_and_mutations_never_panic_hang_or_run_away_with_memory() {
    let corpus = Corpus::load();
    let mut failures = Vec::new();
    for target in Target::ALL {
        for input in corpus.seeds(target) {
            let name = input.name.clone();
            let (verdict, _) = run(target, input, Limits::default());
            // Seeds are valid inputs (a walker may still report a problem song; that is data).
            if target != Target::Walkers {
                assert_eq!(verdict, Verdict::Accepted, "{}: seed {name}", target.name());
            }
        }
        let mut mutator = Mutator::new(0x5eed ^ target as u64);
        let mut rejected = 0;
        for index in 0..CASES_PER_TARGET {
            let input = corpus.case(target, &mut mutator);
            let name = input.name.clone();
            let (verdict, _) = run(target, input, Limits::default());
            if matches!(verdict, Verdict::Rejected(_)) {
                rejected += 1;
            }
            if verdict.is_failure() {
                failures.push(format!("{} case {index} ({name}): {verdict:?}", target.name()));
            }
        }
        // The mutations do damage: a slice where nothing is refused tests nothing.
        assert!(rejected > CASES_PER_TARGET / 20, "{}: only {rejected} of {CASES_PER_TARGET} rejected", target.name());
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn regression_seeds_stay_fixed() {
    let dir = corpus_dir().join("regressions");
    let mut count = 0;
    for target in Target::ALL {
        let Ok(entries) = std::fs::read_dir(dir.join(target.name())) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let input = Input { name: name.clone(), bytes: std::fs::read(&path).unwrap() };
            let (verdict, _) = run(target, input, Limits::default());
            assert!(!verdict.is_failure(), "{}: {name}: {verdict:?}", target.name());
            count += 1;
        }
    }
    assert!(count > 0 || !Path::new(&dir).exists(), "no regression seeds found in {}", dir.display());
}

#[test]
fn the_memory_watch_sees_a_header_sized_allocation() {
    assert!(svs_fuzz::alloc::installed());
    let limits = Limits { memory_bytes: 64 << 20, ..Limits::default() };
    let (verdict, _) = run_case(limits, || {
        let claimed_length = std::hint::black_box(100usize << 20);
        let buffer = vec![0u8; claimed_length];
        std::hint::black_box(&buffer);
        Ok(())
    });
    assert!(matches!(verdict, Verdict::Memory { largest, .. } if largest >= 100 << 20), "{verdict:?}");
    let (verdict, _) = run_case(Limits { timeout: Duration::from_secs(10), ..limits }, || Ok(()));
    assert_eq!(verdict, Verdict::Accepted);
}
