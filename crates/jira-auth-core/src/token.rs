//! What an OAuth 2.0 token endpoint answered (RFC 6749 §5.1), for every flow that asks one:
//! Jira Cloud's 3LO and service accounts, Data Center's application links.
//!
//! One rule for the server's `expires_in`: a number from 1 s to [`MAX_EXPIRES_IN`] is believed;
//! none, or anything else, is taken as [`DEFAULT_EXPIRES_IN`]. The answer is still used: after a
//! refresh the old refresh token is spent, so refusing an answer for its lifetime would lose the
//! login, while an hour's lifetime only makes the next refresh come early.

use crate::secret::{AccessToken, RefreshToken};
use std::time::Duration;

/// The lifetime assumed when the server gives none, or one not believed: an hour (Atlassian's
/// own), so a token is refreshed early rather than used past its end.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

/// The longest `expires_in` believed: a bigger number is a broken or hostile server.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(366 * 86_400);

/// What a token response carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: AccessToken,
    /// Always within 1 s to [`MAX_EXPIRES_IN`] (see [`lifetime`]).
    pub expires_in: Duration,
    /// `None` when the response had none (no `offline_access`, a service account, or a refresh
    /// that keeps the old one).
    pub refresh_token: Option<RefreshToken>,
    /// The granted scopes, when the response lists them.
    pub scopes: Option<Vec<String>>,
}

impl TokenSet {
    /// When the access token, issued at `now` (Unix seconds), expires.
    pub fn expires_at(&self, now: i64) -> i64 {
        now.saturating_add(i64::try_from(self.expires_in.as_secs()).unwrap_or(i64::MAX))
    }
}

/// The lifetime to record for an answer's `expires_in` (whole seconds, when it was one).
pub fn lifetime(expires_in: Option<u64>) -> Duration {
    match expires_in.map(Duration::from_secs) {
        Some(d) if !d.is_zero() && d <= MAX_EXPIRES_IN => d,
        _ => DEFAULT_EXPIRES_IN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_is_believed_only_within_range() {
        assert_eq!(lifetime(Some(7200)), Duration::from_secs(7200));
        assert_eq!(lifetime(Some(366 * 86_400)), MAX_EXPIRES_IN);
        for unbelievable in [None, Some(0), Some(366 * 86_400 + 1), Some(u64::MAX)] {
            assert_eq!(
                lifetime(unbelievable),
                DEFAULT_EXPIRES_IN,
                "{unbelievable:?}"
            );
        }
    }

    #[test]
    fn expiry_saturates() {
        let tokens = TokenSet {
            access_token: AccessToken::new("at"),
            expires_in: MAX_EXPIRES_IN,
            refresh_token: None,
            scopes: None,
        };
        assert_eq!(tokens.expires_at(100), 100 + 366 * 86_400);
        assert_eq!(tokens.expires_at(i64::MAX - 5), i64::MAX);
    }
}
