//! RFC 5849 §3.4.3: `RSA-SHA1`, that is RSASSA-PKCS1-v1_5 (RFC 3447 §8.2) with SHA-1 over the
//! base string, base64-encoded.
//!
//! The private-key operation uses RSA blinding with the OS RNG, so its timing does not depend on
//! the key. PKCS#1 v1.5 signatures are deterministic: blinding does not change the result, which is
//! why the published test vector still matches exactly.

use base64::Engine as _;
use rsa::RsaPrivateKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};

/// The RSA operation failed (a key too small for a SHA-1 DigestInfo, in practice).
#[derive(Debug, thiserror::Error)]
#[error("RSA-SHA1 signing failed: {0}")]
pub struct SignError(String);

/// Signs `base_string` and returns the base64 `oauth_signature` value.
pub fn sign(key: &RsaPrivateKey, base_string: &str) -> Result<String, SignError> {
    let signer = rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key.clone());
    let signature = signer
        .try_sign_with_rng(&mut rand_core::OsRng, base_string.as_bytes())
        .map_err(|e| SignError(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()))
}
