//! The journey `cargo xtask demo` shows, through the real binary, step by step: each step's exit
//! code, stdout and stderr are snapshotted, with ports, times, tokens and temp paths filtered.
//! The demo and this test run the same code (`jira_auth_test::journey`).

#![allow(clippy::unwrap_used)]

use jira_auth_test::journey::{self, Step};

fn render(step: &Step) -> String {
    let mut out = format!(
        "$ jira-auth {}\nexit code: {}\n",
        step.args.join(" "),
        step.code
    );
    for did in &step.browser {
        out.push_str(&format!("browser: {did}\n"));
    }
    out.push_str("----- stdout -----\n");
    out.push_str(&step.stdout);
    out.push_str("----- stderr -----\n");
    out.push_str(&step.stderr);
    out
}

fn filters() -> Vec<(&'static str, &'static str)> {
    let mut f = jira_auth_test::filters::common();
    f.extend([
        (r"\b(at|rt)-\d{4}-[0-9a-f]+\b", "[TOKEN]"),
        (r"\bdc-(access|refresh)-\d{4}-[a-z]+\b", "[TOKEN]"),
        (
            r"code_challenge=[A-Za-z0-9_-]{43}",
            "code_challenge=[RANDOM]",
        ),
        (r"127\.0\.0\.1%3A\d+", "[LOCALHOST]"),
        (r"/[^\s`]*/\.tmp[A-Za-z0-9]+", "[TMP]"),
        (r"MIIB[A-Za-z0-9+/=]{100,}", "[PUBLIC KEY]"),
        (r"\(\d+ min left\)", "([N] min left)"),
        (r"clock skew [+-]\d+ s", "clock skew [N] s"),
    ]);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_journey_works_end_to_end() {
    let binary = jira_auth_test::binary::jira_auth();
    let steps = journey::run(&binary, |_| {}).await.unwrap();
    let names: Vec<String> = steps
        .iter()
        .map(|s| s.args.iter().take(2).cloned().collect::<Vec<_>>().join("-"))
        .collect();
    assert_eq!(
        names,
        [
            "cloud-login",
            "cloud-sites",
            "cloud-status",
            "cloud-refresh",
            "cloud-export",
            "audit---preset",
            "server-keygen",
            "server-login",
            "server-request",
            "audit---preset",
            "server-login",
            "server-refresh",
            "server-status",
            "audit---preset",
        ]
    );
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in filters() {
        settings.add_filter(pattern, replacement);
    }
    settings.bind(|| {
        for (i, (step, name)) in steps.iter().zip(&names).enumerate() {
            let name = name.replace("---preset", "");
            insta::assert_snapshot!(format!("journey-{:02}-{name}", i + 1), render(step));
        }
    });
    // The Cloud audit finds exactly the two planted gaps.
    let cloud_audit = &steps[5].stdout;
    assert!(
        cloud_audit.contains("FAIL  security.levels"),
        "{cloud_audit}"
    );
    assert!(cloud_audit.contains("- OPS: Developers"), "{cloud_audit}");
    assert!(
        cloud_audit.contains("FAIL: 2 failed, 5 passed"),
        "{cloud_audit}"
    );
}
