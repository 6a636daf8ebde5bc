//! Signed, expiring cookie values (HMAC-SHA256, RFC 2104 / FIPS 180-4) and `Set-Cookie` headers
//! (RFC 6265), without I/O.
//!
//! A sealed value is `{value}.{expires_at}.{mac}`: `value` is a hex token (no dots), `expires_at`
//! Unix seconds, `mac` the unpadded base64url HMAC-SHA256 of `purpose 0x00 value 0x00 expires_at`
//! under the service's key. The purpose (`state`, `pick`) keeps a value sealed for one cookie
//! from being accepted as another. The MAC is checked in constant time before anything else is
//! believed, and the expiry is checked against the server's clock (the browser's `Max-Age` is a
//! courtesy, not a control).

use crate::config::CookieKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Holds the `state` of a consent in progress.
pub const STATE_COOKIE: &str = "jira_auth_state";
/// Holds the id of a token set waiting for the user to pick a site.
pub const PICK_COOKIE: &str = "jira_auth_pick";
/// Both cookies are only sent to the OAuth routes.
pub const COOKIE_PATH: &str = "/oauth";
/// How long a consent (and a site choice) may take.
pub const LIFETIME: Duration = Duration::from_secs(600);

/// Why a cookie value is not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CookieError {
    #[error("the cookie is not shaped like one this service issues")]
    Malformed,
    #[error("the cookie's signature does not verify (another key, or tampered)")]
    BadSignature,
    #[error("the cookie expired")]
    Expired,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], purpose: &str, value: &str, expires_at: i64) -> HmacSha256 {
    #[allow(clippy::expect_used)]
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    mac.update(&[0]);
    mac.update(expires_at.to_string().as_bytes());
    mac
}

/// Seals `value` (a hex token) for `purpose` until `expires_at` (Unix seconds).
pub fn seal(key: &CookieKey, purpose: &str, value: &str, expires_at: i64) -> String {
    let tag = mac(key.expose_secret(), purpose, value, expires_at).finalize();
    format!(
        "{value}.{expires_at}.{}",
        URL_SAFE_NO_PAD.encode(tag.into_bytes())
    )
}

/// The value inside `sealed`, if the MAC verifies for `purpose` and `now` is before its expiry.
pub fn open(key: &CookieKey, purpose: &str, sealed: &str, now: i64) -> Result<String, CookieError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(value), Some(expires), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(CookieError::Malformed);
    };
    let expires_at: i64 = expires.parse().map_err(|_| CookieError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| CookieError::Malformed)?;
    mac(key.expose_secret(), purpose, value, expires_at)
        .verify_slice(&tag)
        .map_err(|_| CookieError::BadSignature)?;
    if now >= expires_at {
        return Err(CookieError::Expired);
    }
    Ok(value.to_owned())
}

/// `Set-Cookie` for a fresh cookie: `HttpOnly`, `SameSite=Lax` (sent on Atlassian's top-level
/// redirect back to us, not on cross-site POSTs), `Path=/oauth`, `Max-Age=600`, and `Secure`
/// when the public URL is https.
pub fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    format!(
        "{name}={value}; Path={COOKIE_PATH}; Max-Age={}; HttpOnly; SameSite=Lax{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that makes the browser forget `name`.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    format!(
        "{name}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one, if repeated).
pub fn read_cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> CookieKey {
        CookieKey::new(&c.to_string().repeat(32)).unwrap()
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        let mut m = HmacSha256::new_from_slice(b"Jefe").unwrap();
        m.update(b"what do ya want for nothing?");
        let hex: String = m
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn seal_is_deterministic_and_opens_before_expiry_only() {
        let sealed = seal(&key('a'), "state", "00ff", NOW + 600);
        assert_eq!(
            sealed,
            format!(
                "00ff.{}.{}",
                NOW + 600,
                URL_SAFE_NO_PAD.encode(
                    mac(key('a').expose_secret(), "state", "00ff", NOW + 600)
                        .finalize()
                        .into_bytes()
                )
            )
        );
        assert_eq!(open(&key('a'), "state", &sealed, NOW), Ok("00ff".into()));
        assert_eq!(
            open(&key('a'), "state", &sealed, NOW + 599),
            Ok("00ff".into())
        );
        assert_eq!(
            open(&key('a'), "state", &sealed, NOW + 600),
            Err(CookieError::Expired)
        );
    }

    #[test]
    fn tampering_another_key_or_purpose_is_refused() {
        let sealed = seal(&key('a'), "state", "00ff", NOW + 600);
        assert_eq!(
            open(&key('b'), "state", &sealed, NOW),
            Err(CookieError::BadSignature)
        );
        assert_eq!(
            open(&key('a'), "pick", &sealed, NOW),
            Err(CookieError::BadSignature)
        );
        let later = sealed.replace(&(NOW + 600).to_string(), &(NOW + 6000).to_string());
        assert_eq!(
            open(&key('a'), "state", &later, NOW),
            Err(CookieError::BadSignature)
        );
        let other = sealed.replacen("00ff", "00fe", 1);
        assert_eq!(
            open(&key('a'), "state", &other, NOW),
            Err(CookieError::BadSignature)
        );
        for bad in ["", "00ff", "00ff.x.y", "00ff.1.!!!"] {
            assert_eq!(
                open(&key('a'), "state", bad, NOW),
                Err(CookieError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn set_cookie_attributes() {
        assert_eq!(
            set_cookie(STATE_COOKIE, "v", false),
            "jira_auth_state=v; Path=/oauth; Max-Age=600; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            set_cookie(STATE_COOKIE, "v", true),
            "jira_auth_state=v; Path=/oauth; Max-Age=600; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            clear_cookie(PICK_COOKIE, true),
            "jira_auth_pick=; Path=/oauth; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn read_cookie_finds_the_named_one() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "a=1; jira_auth_state=xyz".parse().unwrap(),
        );
        h.append(http::header::COOKIE, "jira_auth_pick=p".parse().unwrap());
        assert_eq!(read_cookie(&h, STATE_COOKIE), Some("xyz"));
        assert_eq!(read_cookie(&h, PICK_COOKIE), Some("p"));
        assert_eq!(read_cookie(&h, "jira_auth"), None);
        h.insert(http::header::COOKIE, "jira_auth_state=".parse().unwrap());
        assert_eq!(read_cookie(&h, STATE_COOKIE), None);
    }
}
