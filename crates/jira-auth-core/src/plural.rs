//! Counted nouns in messages: `1 request`, `2 requests`, never `1 requests`.

/// `n` and `what`, plural unless `n` is one: `count(1, "check")` is `1 check`,
/// `count(0, "check")` `0 checks`. Every noun counted in a message is a regular one.
pub fn count(n: impl std::fmt::Display, what: &str) -> String {
    let n = n.to_string();
    if n == "1" {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_every_other_number_plural() {
        assert_eq!(count(1_usize, "request"), "1 request");
        assert_eq!(count(0_u64, "request"), "0 requests");
        assert_eq!(count(2_i64, "day"), "2 days");
        assert_eq!(count(-1_i64, "day"), "-1 days");
        assert_eq!(count(11_u32, "check"), "11 checks");
    }
}
