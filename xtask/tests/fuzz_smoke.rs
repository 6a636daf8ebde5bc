//! Runs every fuzz target over its committed seeds and a few hundred reproducible mutations, so
//! `cargo test` catches a panic a parser change introduces (the long runs are `cargo xtask fuzz`).

#![allow(clippy::unwrap_used)]

#[path = "../src/fuzz/mod.rs"]
#[allow(dead_code)]
mod fuzz;

use std::time::Duration;

#[test]
fn every_target_has_seeds_and_survives_them_and_a_few_mutations() {
    for t in fuzz::TARGETS {
        let dir = fuzz::corpus_dir(t.name);
        let seeds = fuzz::seeds(&dir).unwrap();
        assert!(seeds.len() >= 3, "{}: only {} seeds", t.name, seeds.len());
        let report = fuzz::fuzz(
            t,
            &dir,
            fuzz::Budget {
                time: Duration::from_secs(60),
                iterations: Some(300),
            },
            7,
        )
        .unwrap();
        if let Some(crash) = report.crash {
            panic!(
                "{} panicked on {:?} (saved to {}): {}",
                t.name,
                String::from_utf8_lossy(&crash.input),
                crash.saved.display(),
                crash.message
            );
        }
        assert_eq!(report.runs, seeds.len() as u64 + 300, "{}", t.name);
    }
}

#[test]
fn a_panicking_target_is_caught_and_its_input_saved() {
    fn boom(data: &[u8]) {
        assert!(!data.starts_with(b"code="), "boom");
    }
    let t = fuzz::Target {
        name: "self-test",
        about: "panics on purpose",
        run: boom,
    };
    let err = fuzz::run_one(&t, b"code=x").unwrap_err();
    assert!(err.starts_with("boom at "), "{err}");
    assert!(fuzz::run_one(&t, b"state=x").is_ok());
    let report = fuzz::fuzz(
        &t,
        &fuzz::corpus_dir("callback"),
        fuzz::Budget {
            time: Duration::from_secs(60),
            iterations: Some(10),
        },
        1,
    )
    .unwrap();
    let crash = report.crash.expect("the seed `code=…` panics");
    assert!(crash.input.starts_with(b"code="));
    assert_eq!(std::fs::read(&crash.saved).unwrap(), crash.input);
    assert!(
        crash
            .saved
            .to_str()
            .unwrap()
            .contains("target/fuzz-crashes/self-test/crash-")
    );
    std::fs::remove_file(&crash.saved).unwrap();
}

#[test]
fn mutations_are_reproducible_from_the_seed_and_bounded() {
    let corpus = vec![
        b"code=123&state=abc".to_vec(),
        b"{\"expires_in\":3600}".to_vec(),
    ];
    let run = |seed| {
        let mut rng = fuzz::Rng::new(seed);
        (0..200)
            .map(|_| fuzz::mutate(&corpus, &mut rng))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
    assert!(run(42).iter().all(|m| m.len() <= 64 * 1024));
    assert!(run(42).iter().any(|m| !corpus.contains(m)));
}

#[test]
fn unknown_targets_and_flags_are_refused() {
    let err = fuzz::run(&["nope".into()]).unwrap_err().to_string();
    assert!(
        err.starts_with("no fuzz target `nope`; targets: callback, listener, server-callback"),
        "{err}"
    );
    let err = fuzz::run(&["--seconds".into()]).unwrap_err().to_string();
    assert!(err.starts_with("`--seconds` needs a value"), "{err}");
    let err = fuzz::run(&["--engine".into(), "afl".into()])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "unknown engine `afl`: auto, libfuzzer or seeds");
    let args = ["--engine", "seeds", "--sanitizer", "address", "callback"].map(String::from);
    let err = fuzz::run(&args).unwrap_err().to_string();
    assert_eq!(err, "`--sanitizer` needs the libFuzzer engine");
}

#[test]
fn the_pem_target_armours_der_exactly_like_the_fixture() {
    let root = fuzz::corpus_dir("pem-key");
    let pem = std::fs::read_to_string(root.join("test-key.pkcs8.pem")).unwrap();
    let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = std::fs::read(root.join("der-pkcs8")).unwrap();
    assert_eq!(jira_auth_fuzz_targets::base64(&der), body.join("\n"));
    assert_eq!(jira_auth_fuzz_targets::base64(b"ab"), "YWI=");
    assert_eq!(jira_auth_fuzz_targets::base64(b"a"), "YQ==");
}
