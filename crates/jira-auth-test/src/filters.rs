//! insta filters that keep snapshots stable across runs: ports, times, random values.

/// `(regex, replacement)` pairs for `insta::with_settings!({filters => ...})`.
pub fn common() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"127\.0\.0\.1:\d+", "[LOCALHOST]"),
        (r"localhost:\d+", "[LOCALHOST]"),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "[TIME]",
        ),
        (r"\b[0-9a-f]{32,64}\b", "[RANDOM]"),
        (r"jira-auth/\d+\.\d+\.\d+", "jira-auth/[VERSION]"),
    ]
}

/// `text` as a regex that matches exactly it (a temp path, a URL), for a filter or a matcher.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
