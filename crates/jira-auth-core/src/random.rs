//! Random values from the operating system's RNG.

/// `n` random bytes from the OS RNG, hex-encoded (so `state` and nonces are URL-safe as is).
///
/// # Panics
/// Never in practice: `getrandom` only fails when the OS has no entropy source at all, in which
/// case no OAuth flow can be run safely and aborting is the right answer.
pub fn hex_token(n: usize) -> String {
    bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes from the OS RNG (a PKCE verifier's entropy).
///
/// # Panics
/// Never in practice, as [`hex_token`].
pub fn bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// Compares two strings in constant time (for `state` and similar values).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_token_has_requested_entropy_and_differs() {
        let a = hex_token(16);
        let b = hex_token(16);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_eq_compares_values() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
