//! `svs-fuzz [--cases N] [--seed S] [--target NAME]... [--out DIR]`: N mutated cases per
//! target (default 10,000), then a table of verdicts. Failing inputs are written to DIR
//! (default `fuzz/found/`), and each case's input is written to `DIR/last-<target>` before it
//! runs, so a case that aborts the process (a stack overflow, a failed allocation) can be
//! replayed: `svs-fuzz --replay decode DIR/last-decode NAME`.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use svs_fuzz::harness::{Limits, Verdict};
use svs_fuzz::mutate::Mutator;
use svs_fuzz::targets::{Corpus, Input, Target, run};

#[global_allocator]
static ALLOCATOR: svs_fuzz::alloc::CountingAllocator = svs_fuzz::alloc::CountingAllocator;

#[derive(Default)]
struct Counts {
    cases: usize,
    accepted: usize,
    rejected: usize,
    panicked: usize,
    hung: usize,
    memory: usize,
    slowest: Duration,
}

fn main() {
    let mut cases = 10_000usize;
    let mut seed = 1u64;
    let mut targets = Vec::new();
    let mut out = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/found"));
    let mut args = std::env::args().skip(1);
    let usage = "usage: svs-fuzz [--cases N] [--seed S] [--target decode|model-file|config|walkers]... [--out DIR] \
                 | --replay TARGET FILE NAME";
    // A harness for developers, but a mistyped flag still gets a message, not a backtrace.
    let fail = |problem: String| -> ! {
        eprintln!("svs-fuzz: {problem}\n{usage}");
        std::process::exit(2)
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| fail(format!("{arg} needs a value")));
        let target = |name: String| Target::parse(&name).unwrap_or_else(|| fail(format!("no target {name:?}")));
        match arg.as_str() {
            "--cases" => cases = value().parse().unwrap_or_else(|_| fail("--cases needs a count".into())),
            "--seed" => seed = value().parse().unwrap_or_else(|_| fail("--seed needs a number".into())),
            "--target" => targets.push(target(value())),
            "--out" => out = value().into(),
            "--replay" => {
                let target = target(value());
                let file = value();
                let bytes = std::fs::read(&file).unwrap_or_else(|e| fail(format!("{file}: {e}")));
                let name = value();
                let (verdict, time) = run(target, Input { name, bytes }, Limits::default());
                println!("{verdict:?} in {time:?}");
                return;
            }
            "--help" | "-h" => {
                println!("{usage}");
                return;
            }
            other => fail(format!("unknown argument {other:?}")),
        }
    }
    if targets.is_empty() {
        targets = Target::ALL.to_vec();
    }
    std::fs::create_dir_all(&out).expect("creating the output folder");
    let corpus = Corpus::load();
    let limits = Limits::default();
    println!(
        "| target | seeds | cases | accepted | rejected | panics | hangs > 10 s | memory > 256 MiB | slowest case |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut failures = 0;
    for target in targets {
        let started = Instant::now();
        let mut counts = Counts::default();
        let mut mutator = Mutator::new(seed ^ (target as u64) << 32);
        let last = out.join(format!("last-{}", target.name()));
        for index in 0..cases {
            let input = corpus.case(target, &mut mutator);
            let _ = std::fs::write(&last, &input.bytes);
            let (verdict, time) = run(target, input.clone(), limits);
            counts.cases += 1;
            counts.slowest = counts.slowest.max(time);
            match &verdict {
                Verdict::Accepted => counts.accepted += 1,
                Verdict::Rejected(_) => counts.rejected += 1,
                Verdict::Panicked(_) => counts.panicked += 1,
                Verdict::Hung => counts.hung += 1,
                Verdict::Memory { .. } => counts.memory += 1,
            }
            if verdict.is_failure() {
                failures += 1;
                let path = out.join(format!("{}-{index}-{}", target.name(), input.name));
                std::fs::write(&path, &input.bytes).expect("writing a failing input");
                eprintln!("{}: case {index} ({}): {verdict:?} -> {}", target.name(), input.name, path.display());
                if verdict == Verdict::Hung {
                    // Its thread cannot be stopped and would slow every later case.
                    eprintln!("{}: stopping this target after a hang", target.name());
                    break;
                }
            }
            if (index + 1) % 1000 == 0 {
                eprintln!("{}: {} cases, {:.0} s", target.name(), index + 1, started.elapsed().as_secs_f64());
            }
        }
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} s |",
            target.name(),
            corpus.seed_count(target),
            counts.cases,
            counts.accepted,
            counts.rejected,
            counts.panicked,
            counts.hung,
            counts.memory,
            counts.slowest.as_secs_f64()
        );
    }
    let _ = std::fs::remove_file(out.join("last-decode"));
    if failures > 0 {
        std::process::exit(1);
    }
}
