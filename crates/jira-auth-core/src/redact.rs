//! The secret values this process holds, so that what it prints can never repeat one, even
//! where a server echoed it back inside an error text (a reflected `Authorization` header, a
//! form body quoted in an `error_description`).
//!
//! Every secret type registers its value when it is made ([`crate::secret`]); the binary's one
//! error printer passes its text through [`mask_held`]. Exact values only: no false positives,
//! so it can run over every message.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// Values shorter than this are not registered: too short to be a credential, and masking them
/// could garble ordinary words.
const MIN_LEN: usize = 8;

static HELD: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Remembers `value` as a secret of this process.
pub fn hold(value: &str) {
    if value.len() >= MIN_LEN {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        held.insert(value.to_owned());
    }
}

/// `text` with every held secret replaced by `****` (longest first, so a secret that contains
/// another is masked whole), and with the same for their percent-encoded forms.
pub fn mask_held(text: &str) -> String {
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let mut values: Vec<&String> = held.iter().collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_owned();
    for value in values {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), "****");
        }
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        if encoded != *value && out.contains(&encoded) {
            out = out.replace(&encoded, "****");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_secrets_are_masked_wherever_they_appear_and_short_values_are_not_held() {
        let secret = crate::RefreshToken::new("rt-redact-test/0123+456");
        let _short = crate::ClientSecret::new("abc");
        let text = "server said: refresh_token=rt-redact-test%2F0123%2B456 and rt-redact-test/0123+456; abc";
        assert_eq!(
            mask_held(text),
            "server said: refresh_token=**** and ****; abc"
        );
        let from_json: crate::AccessToken =
            serde_json::from_str("\"at-redact-from-json-1\"").unwrap();
        assert_eq!(mask_held("Bearer at-redact-from-json-1"), "Bearer ****");
        drop((secret, from_json));
    }
}
