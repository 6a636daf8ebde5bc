//! Proof Key for Code Exchange (RFC 7636) with the `S256` method only: `plain` (§4.2) protects
//! nothing against an attacker who reads the authorization request, and every provider we speak
//! to accepts `S256`.

use crate::secret::CodeVerifier;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The `code_challenge_method` sent with every authorization request.
pub const METHOD: &str = "S256";

/// A code verifier and its challenge, made together so they cannot be mixed up.
#[derive(Debug, Clone)]
pub struct Pkce {
    verifier: CodeVerifier,
    challenge: String,
}

impl Pkce {
    /// A fresh verifier: 32 bytes from the OS RNG, base64url without padding, so 43 characters
    /// of the unreserved set (RFC 7636 §4.1 asks for 43 to 128 with 256 bits of entropy).
    pub fn new() -> Self {
        let bytes = crate::random::bytes(32);
        Self::from_verifier(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The pair for a known verifier (tests use RFC 7636's Appendix B).
    pub fn from_verifier(verifier: impl Into<String>) -> Self {
        let verifier = verifier.into();
        let challenge = challenge(&verifier);
        Self {
            verifier: CodeVerifier::new(verifier),
            challenge,
        }
    }

    /// `code_verifier`, for the token request (RFC 7636 §4.5).
    pub fn verifier(&self) -> &CodeVerifier {
        &self.verifier
    }

    /// `code_challenge`, for the authorization request (RFC 7636 §4.3).
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn fresh_verifiers_are_43_unreserved_characters_and_differ() {
        let (a, b) = (Pkce::new(), Pkce::new());
        let v = a.verifier().expose_secret();
        assert_eq!(v.len(), 43);
        assert!(
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        );
        assert_ne!(v, b.verifier().expose_secret());
        assert_eq!(a.challenge(), challenge(v));
        assert_eq!(format!("{:?}", a.verifier()), "CodeVerifier([redacted])");
    }
}
