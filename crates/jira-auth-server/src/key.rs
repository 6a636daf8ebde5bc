//! RSA keys: reading the consumer's private key, and making a new key pair for an Application
//! Link.
//!
//! Accepted: PKCS#8 (`BEGIN PRIVATE KEY`, what `keygen` writes and `openssl genpkey` makes) and
//! PKCS#1 (`BEGIN RSA PRIVATE KEY`, older `openssl genrsa`). Refused with a message that says
//! what to do: encrypted keys, non-RSA keys, public keys, truncated or damaged files, and (on
//! Unix) a key file that group or others may access, as ssh refuses one.

use jira_auth_core::store::{PrivateFileError, read_private_file};
use jira_auth_core::{Categorize, Category, PrivateKeyPem};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use std::fmt;
use std::path::{Path, PathBuf};

/// Key sizes `keygen` offers. Jira accepts any; below 2048 is not worth offering.
pub const ALLOWED_BITS: [usize; 3] = [2048, 3072, 4096];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the private key `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the private key `{path}` is accessible to group or others (mode {mode:o}); refusing to use it, as ssh does: run `chmod 600 {shell}` (and if someone else may have copied it, make a new pair with `jira-auth server keygen`)",
        path = .path.display(),
        shell = shell_word(&.path.display().to_string())
    )]
    Insecure { path: PathBuf, mode: u32 },
    #[error(
        "the private key{at} is encrypted with a passphrase; jira-auth needs it unencrypted: run `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.unencrypted.pem` and keep the result mode 0600"
    )]
    Encrypted { at: At },
    #[error(
        "the file{at} is a public key; `--private-key` needs the private half (the public key is what you paste into Jira)"
    )]
    PublicOnly { at: At },
    #[error(
        "the key{at} is {kind}, but Jira's Application Links sign with RSA only: make an RSA key with `jira-auth server keygen`"
    )]
    NotRsa { at: At, kind: String },
    #[error(
        "the file{at} is not a PEM private key (no `-----BEGIN ... PRIVATE KEY-----` line); expected PKCS#8 or PKCS#1 PEM"
    )]
    NotPem { at: At },
    #[error(
        "the private key{at} is truncated or damaged ({message}); copy the whole file again, from `-----BEGIN` to `-----END`"
    )]
    Damaged { at: At, message: String },
    #[error("`--bits` must be one of 2048, 3072 or 4096, not {0}")]
    BadBits(usize),
    #[error("RSA key generation failed: {0}")]
    Generate(String),
    #[error("cannot encode the key as PEM: {0}")]
    Encode(String),
}

impl Categorize for KeyError {
    fn category(&self) -> Category {
        Category::Usage
    }
}

/// Where a key came from, for messages: ` at `path`` or nothing.
#[derive(Debug, Clone, Default)]
pub struct At(pub Option<PathBuf>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(p) => write!(f, " `{}`", p.display()),
            None => Ok(()),
        }
    }
}

impl KeyError {
    fn at(self, path: &Path) -> Self {
        let at = At(Some(path.to_owned()));
        match self {
            KeyError::Encrypted { .. } => KeyError::Encrypted { at },
            KeyError::PublicOnly { .. } => KeyError::PublicOnly { at },
            KeyError::NotRsa { kind, .. } => KeyError::NotRsa { at, kind },
            KeyError::NotPem { .. } => KeyError::NotPem { at },
            KeyError::Damaged { message, .. } => KeyError::Damaged { at, message },
            other => other,
        }
    }
}

/// Reads and parses the private key at `path`, for a login and for every request signed from
/// a stored profile. On Unix a file that group or others may access (any of mode `0o077`) is
/// refused before it is read, as ssh refuses one.
pub fn read_private_key(path: &Path) -> Result<RsaPrivateKey, KeyError> {
    let read_error = |source| KeyError::Read {
        path: path.to_owned(),
        source,
    };
    let bytes = read_private_file(path).map_err(|e| match e {
        PrivateFileError::Exposed { mode } => KeyError::Insecure {
            path: path.to_owned(),
            mode,
        },
        PrivateFileError::Io(e) => read_error(e),
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    parse_private_key_pem(&text).map_err(|e| e.at(path))
}

/// `text` as one shell word: as it is when it holds only safe characters, else single-quoted.
fn shell_word(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@=%~".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Parses a PKCS#8 or PKCS#1 PEM private key.
pub fn parse_private_key_pem(text: &str) -> Result<RsaPrivateKey, KeyError> {
    let at = At::default;
    let label = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or(KeyError::NotPem { at: at() })?;
    let damaged = |message: String| KeyError::Damaged { at: at(), message };
    if !text.contains(&format!("-----END {label}-----")) {
        return Err(damaged(format!("no `-----END {label}-----` line")));
    }
    match label {
        "PRIVATE KEY" => match pkcs8_algorithm(text) {
            Some(kind) if kind != "RSA" => Err(KeyError::NotRsa { at: at(), kind }),
            _ => RsaPrivateKey::from_pkcs8_pem(text).map_err(|e| damaged(e.to_string())),
        },
        "RSA PRIVATE KEY" if text.contains("ENCRYPTED") => Err(KeyError::Encrypted { at: at() }),
        "RSA PRIVATE KEY" => {
            RsaPrivateKey::from_pkcs1_pem(text).map_err(|e| damaged(e.to_string()))
        }
        "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted { at: at() }),
        "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => Err(KeyError::PublicOnly { at: at() }),
        "EC PRIVATE KEY" => Err(KeyError::NotRsa {
            at: at(),
            kind: "an EC key".into(),
        }),
        "DSA PRIVATE KEY" => Err(KeyError::NotRsa {
            at: at(),
            kind: "a DSA key".into(),
        }),
        "OPENSSH PRIVATE KEY" => Err(KeyError::NotRsa {
            at: at(),
            kind: "an OpenSSH key (convert it with `ssh-keygen -p -m PKCS8 -f KEY`)".into(),
        }),
        _ => Err(KeyError::NotPem { at: at() }),
    }
}

/// The algorithm named in a PKCS#8 document, as a phrase for messages ("an EC key").
fn pkcs8_algorithm(text: &str) -> Option<String> {
    use rsa::pkcs8::der::Decode;
    let (_, doc) = rsa::pkcs8::SecretDocument::from_pem(text).ok()?;
    let info = rsa::pkcs8::PrivateKeyInfo::from_der(doc.as_bytes()).ok()?;
    let oid = info.algorithm.oid.to_string();
    Some(match oid.as_str() {
        "1.2.840.113549.1.1.1" => "RSA".to_owned(),
        "1.2.840.10045.2.1" => "an EC key".to_owned(),
        "1.3.101.112" => "an Ed25519 key".to_owned(),
        "1.3.101.110" => "an X25519 key".to_owned(),
        "1.2.840.10040.4.1" => "a DSA key".to_owned(),
        other => format!("a key of algorithm {other}"),
    })
}

/// A freshly generated key pair, PEM-encoded.
#[derive(Debug)]
pub struct GeneratedKey {
    pub private_pem: PrivateKeyPem,
    pub public_pem: String,
    pub bits: usize,
}

/// Generates an RSA key pair of `bits` (2048, 3072 or 4096) with the OS RNG.
pub fn generate(bits: usize) -> Result<GeneratedKey, KeyError> {
    if !ALLOWED_BITS.contains(&bits) {
        return Err(KeyError::BadBits(bits));
    }
    let key = RsaPrivateKey::new(&mut rand_core::OsRng, bits)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let private_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode(e.to_string()))?;
    Ok(GeneratedKey {
        private_pem: PrivateKeyPem::new(private_pem.as_str()),
        public_pem: public_key_pem(&key)?,
        bits,
    })
}

/// The SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`) of `key`.
pub fn public_key_pem(key: &RsaPrivateKey) -> Result<String, KeyError> {
    RsaPublicKey::from(key)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode(e.to_string()))
}

/// The public key as Jira's "Public Key" field wants it: the base64 body on one line, without
/// the `BEGIN`/`END` lines.
pub fn public_key_for_jira(public_pem: &str) -> String {
    public_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect()
}

/// The modulus size in bits, for status output.
pub fn bits(key: &RsaPrivateKey) -> usize {
    key.size() * 8
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A copy of `fixtures/server/<name>` with mode 0600, as a key file should be (git checks
    /// files out 0644). The directory lives as long as the returned guard.
    fn fixture(name: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = jira_auth_test::fixtures::private_key(name, dir.path());
        Fixture { _dir: dir, path }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    impl std::ops::Deref for Fixture {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.path
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_open_to_group_or_others_is_refused_like_ssh_does() {
        use std::os::unix::fs::PermissionsExt as _;
        let key = fixture("test-key.pkcs8.pem");
        for mode in [0o644, 0o640, 0o604, 0o620, 0o660] {
            std::fs::set_permissions(&*key, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_private_key(&key).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "the private key `{path}` is accessible to group or others (mode {mode:o}); refusing to use it, as ssh does: run `chmod 600 {path}` (and if someone else may have copied it, make a new pair with `jira-auth server keygen`)",
                    path = key.display()
                )
            );
            assert_eq!(err.category(), Category::Usage);
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&*key, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(read_private_key(&key).is_ok(), "{mode:o}");
        }
        // The mode is checked before anything is parsed: a wide-open public key says so too.
        let public = fixture("test-key.pub.pem");
        std::fs::set_permissions(&*public, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_private_key(&public),
            Err(KeyError::Insecure { mode: 0o644, .. })
        ));
    }

    #[test]
    fn paths_in_the_chmod_advice_are_one_shell_word() {
        assert_eq!(
            shell_word("/home/me/.keys/jira.pem"),
            "/home/me/.keys/jira.pem"
        );
        assert_eq!(shell_word("/tmp/my key.pem"), "'/tmp/my key.pem'");
        assert_eq!(shell_word("it's.pem"), r"'it'\''s.pem'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn pkcs8_and_pkcs1_give_the_same_key() {
        let a = read_private_key(&fixture("test-key.pkcs8.pem")).unwrap();
        let b = read_private_key(&fixture("test-key.pkcs1.pem")).unwrap();
        assert_eq!(a, b);
        assert_eq!(bits(&a), 2048);
        let public = std::fs::read_to_string(&*fixture("test-key.pub.pem")).unwrap();
        assert_eq!(public_key_pem(&a).unwrap(), public);
    }

    #[test]
    fn unusable_keys_get_exact_messages() {
        let cases = [
            (
                "test-key.encrypted.pem",
                "is encrypted with a passphrase; jira-auth needs it unencrypted: run `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.unencrypted.pem` and keep the result mode 0600",
            ),
            (
                "test-key.pub.pem",
                "is a public key; `--private-key` needs the private half (the public key is what you paste into Jira)",
            ),
            (
                "ec-key.pem",
                "is an EC key, but Jira's Application Links sign with RSA only: make an RSA key with `jira-auth server keygen`",
            ),
            (
                "truncated-key.pem",
                "is truncated or damaged (no `-----END PRIVATE KEY-----` line); copy the whole file again, from `-----BEGIN` to `-----END`",
            ),
        ];
        for (name, tail) in cases {
            let path = fixture(name);
            let err = read_private_key(&path).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(&format!("`{}`", path.display())), "{text}");
            assert!(text.ends_with(tail), "{name}: {text}");
            assert_eq!(err.category(), Category::Usage);
        }
    }

    #[test]
    fn damaged_body_and_non_pem_are_explained() {
        let good = std::fs::read_to_string(&*fixture("test-key.pkcs8.pem")).unwrap();
        let mut lines: Vec<&str> = good.lines().collect();
        lines.remove(5);
        let damaged = lines.join("\n");
        assert!(matches!(
            parse_private_key_pem(&damaged),
            Err(KeyError::Damaged { .. })
        ));
        assert_eq!(
            parse_private_key_pem("hello").unwrap_err().to_string(),
            "the file is not a PEM private key (no `-----BEGIN ... PRIVATE KEY-----` line); expected PKCS#8 or PKCS#1 PEM"
        );
        assert!(matches!(
            read_private_key(Path::new("/nonexistent/key.pem")),
            Err(KeyError::Read { .. })
        ));
    }

    #[test]
    fn public_key_for_jira_is_one_line() {
        let public = std::fs::read_to_string(&*fixture("test-key.pub.pem")).unwrap();
        let line = public_key_for_jira(&public);
        assert!(
            line.starts_with("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
            "{line}"
        );
        assert!(!line.contains('\n') && !line.contains('-'));
        assert_eq!(line.len(), 392);
    }

    #[test]
    fn generates_a_usable_2048_bit_pair() {
        assert!(matches!(generate(1024), Err(KeyError::BadBits(1024))));
        let generated = generate(2048).unwrap();
        assert_eq!(
            format!("{:?}", generated.private_pem),
            "PrivateKeyPem([redacted])"
        );
        let key = parse_private_key_pem(generated.private_pem.expose_secret()).unwrap();
        assert_eq!(bits(&key), 2048);
        assert_eq!(public_key_pem(&key).unwrap(), generated.public_pem);
        assert!(
            generated
                .private_pem
                .expose_secret()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
    }
}
