//! Spending a single-use refresh token without ever losing its successor: the write-ahead record
//! and the persist sequence every rotating login shares (Jira Cloud 3LO, Data Center OAuth 2.0).
//!
//! The store keeps the record's bytes (`<profile>.pending` beside `<profile>.json`, or a keyring
//! entry with the keyring backend). A refresh token dies when it is used (Data Center) or soon
//! after (Atlassian Cloud accepts it for 10 more minutes), so the new token set must reach the
//! disk before anything else can fail, and there must be room for it before the old token is
//! spent. The sequence, all under the profile lock:
//!
//! 1. [`recover`] applies or discards a record a killed process left;
//! 2. the space for the record and for the new profile is reserved ([`reserve`]); if that fails
//!    (a full disk), the token endpoint is not called;
//! 3. the token response arrives (the caller's request);
//! 4. [`persist`]: the new section, with the refresh token it replaces, is written as the record
//!    into the reserved space (retried when that fails), then the profile is replaced, then the
//!    record is removed.
//!
//! The record is `{"version": 1, "replaces": <old refresh token>, "<section>": <new section>}`.
//! [`recover`] applies a record whose `replaces` is still the section's refresh token (the
//! process died between writing it and saving the profile), removes one whose token is already
//! in the profile or that belongs to an older login, leaves untouched (and stops the refresh)
//! one written by a newer jira-auth, and leaves untouched a record of another section, which
//! that section's next command applies; a refresh never overwrites it.
//!
//! The debug-build pause points of the crash tests are, in order: `before-request`,
//! `after-response`, `mid-pending-write`, `pending-written`, `profile-saved`.

use crate::RefreshToken;
use crate::fault::pause_at;
use crate::store::{Profile, ProfileGuard, ProfileName, Reserved, Section, Store, StoreError};

/// The format version of the record.
pub const VERSION: u32 = 1;

/// How many times the record is attempted before the profile itself is tried.
pub const PERSIST_ATTEMPTS: usize = 3;

/// A profile section that holds a single-use refresh token.
pub trait Rotating: Section + Clone {
    /// The refresh token the section holds now.
    fn refresh_token(&self) -> Option<&RefreshToken>;
}

/// What went wrong around a record.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A newer jira-auth wrote the record: it may hold the only live refresh token.
    #[error(
        "profile `{profile}` has a write-ahead record at {location} written by a newer jira-auth (format {found}, this build reads {VERSION}); it was left untouched: run the newer jira-auth, which applies it"
    )]
    TooNew {
        profile: String,
        location: String,
        found: u32,
    },
    /// The record belongs to another section's interrupted refresh.
    #[error(
        "profile `{profile}` has a write-ahead record of its `{section}` login at {location} (a refresh of it was interrupted); it was left untouched: run a `jira-auth {section}` command for this profile first, which applies it"
    )]
    Foreign {
        profile: String,
        location: String,
        section: String,
    },
}

impl crate::Categorize for RotationError {
    fn category(&self) -> crate::Category {
        crate::Category::Usage
    }
}

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// No record.
    Nothing,
    /// The record's section was written into the profile.
    Applied,
    /// The record was already applied, or belonged to an older login: removed.
    Discarded,
    /// A record of another section: left for it.
    Foreign(String),
}

/// Whether `profile` has a write-ahead record (no lock).
pub fn exists(store: &Store, profile: &ProfileName) -> Result<bool, StoreError> {
    store.has_write_ahead(profile)
}

/// The record's bytes.
pub fn encode<S: Rotating>(
    replaces: Option<&RefreshToken>,
    section: &S,
) -> Result<Vec<u8>, StoreError> {
    let shape = |e: serde_json::Error| StoreError::Section {
        profile: String::new(),
        section: S::NAME.to_owned(),
        message: e.to_string(),
    };
    let mut record = serde_json::Map::new();
    record.insert("version".into(), VERSION.into());
    record.insert(
        "replaces".into(),
        serde_json::to_value(replaces).map_err(shape)?,
    );
    record.insert(
        S::NAME.into(),
        serde_json::to_value(section).map_err(shape)?,
    );
    let mut bytes = serde_json::to_vec_pretty(&record).map_err(shape)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Room for a document of about `len` bytes once its tokens rotate: the new tokens are of the
/// same kind as the old ones, so twice the size and 4 KiB more is a generous bound.
pub fn headroom(len: usize) -> usize {
    len.saturating_mul(2).saturating_add(4096)
}

/// Step 2: holds the space the record and the new profile need, before the refresh token that
/// `section` holds is spent.
pub fn reserve<S: Rotating>(
    guard: &ProfileGuard,
    stored: &Profile,
    section: &S,
) -> Result<Reserved, StoreError> {
    let record = encode(section.refresh_token(), section)?.len();
    let profile = serde_json::to_vec_pretty(stored).map_or(0, |b| b.len());
    guard.reserve(headroom(record), headroom(profile))
}

/// Makes the new section durable before the profile is touched.
pub fn write<S: Rotating>(
    guard: &ProfileGuard,
    replaces: Option<&RefreshToken>,
    section: &S,
    reserved: &mut Reserved,
) -> Result<(), StoreError> {
    let bytes = encode(replaces, section)?;
    guard.write_ahead(&bytes, reserved, || pause_at("mid-pending-write"))
}

/// Applies or discards a record left by a process that died mid-refresh of section `S`, and
/// removes stray temporary files of this profile. Call with the lock held, before reading the
/// profile.
pub fn recover<S: Rotating>(
    guard: &ProfileGuard,
    profile: &ProfileName,
) -> Result<Recovery, RotationError> {
    guard.sweep_temp_files();
    let Some(bytes) = guard.read_write_ahead()? else {
        return Ok(Recovery::Nothing);
    };
    let record: serde_json::Map<String, serde_json::Value> = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            // Written by rename, so never half; someone else's file: leave it for a human.
            tracing::warn!(
                "ignoring {}: not a jira-auth write-ahead record ({})",
                guard.write_ahead_location(),
                classify(&e)
            );
            return Ok(Recovery::Nothing);
        }
    };
    // The version first: a newer build's record may hold the only live refresh token.
    let version = record.get("version").and_then(serde_json::Value::as_u64);
    if let Some(found) = version
        && found > u64::from(VERSION)
    {
        return Err(RotationError::TooNew {
            profile: profile.to_string(),
            location: guard.write_ahead_location(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
        });
    }
    let Some(value) = record.get(S::NAME) else {
        let section = record
            .keys()
            .find(|k| !matches!(k.as_str(), "version" | "replaces"))
            .cloned();
        return Ok(match section {
            Some(section) => Recovery::Foreign(section),
            None => {
                tracing::warn!(
                    "ignoring {}: not a jira-auth write-ahead record",
                    guard.write_ahead_location()
                );
                Recovery::Nothing
            }
        });
    };
    let replaces: Option<RefreshToken> = record
        .get("replaces")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok());
    let new: Option<S> = serde_json::from_value(value.clone()).ok();
    let mut stored = guard.load()?.unwrap_or_else(Profile::new);
    let current = stored
        .get::<S>(profile)
        .ok()
        .flatten()
        .and_then(|c| c.refresh_token().cloned());
    let outcome = match new {
        Some(new)
            if version == Some(u64::from(VERSION)) && current.is_some() && current == replaces =>
        {
            stored.put(&new)?;
            guard.save(&stored)?;
            tracing::info!(
                "recovered the token set of an interrupted refresh from {}",
                guard.write_ahead_location()
            );
            Recovery::Applied
        }
        _ => {
            tracing::debug!(
                "discarding {}: already applied or stale",
                guard.write_ahead_location()
            );
            Recovery::Discarded
        }
    };
    guard.remove_write_ahead()?;
    Ok(outcome)
}

/// [`recover`], turning a record of another section into [`RotationError::Foreign`]: a refresh
/// of `S` must not overwrite it.
pub fn recover_before_refresh<S: Rotating>(
    guard: &ProfileGuard,
    profile: &ProfileName,
) -> Result<Recovery, RotationError> {
    match recover::<S>(guard, profile)? {
        Recovery::Foreign(section) => Err(RotationError::Foreign {
            profile: profile.to_string(),
            location: guard.write_ahead_location(),
            section,
        }),
        other => Ok(other),
    }
}

/// How [`persist`] ended.
#[derive(Debug)]
pub enum Persisted {
    /// The profile holds the new section and the record is gone.
    Saved,
    /// The record holds the new section but the profile could not be updated: the next
    /// [`recover`] applies it.
    InRecord(StoreError),
    /// Neither the record nor the profile could be written: the new refresh token is lost.
    Lost { attempts: usize, source: StoreError },
}

/// Step 4: once the old refresh token is spent, writes the new section to the record (retrying),
/// then into `stored` (the profile read under the lock) in the reserved space, then removes the
/// record.
pub fn persist<S: Rotating>(
    guard: &ProfileGuard,
    stored: &Profile,
    replaces: Option<&RefreshToken>,
    new: &S,
    reserved: &mut Reserved,
) -> Persisted {
    let mut last_error = None;
    let mut durable = false;
    for _ in 0..PERSIST_ATTEMPTS {
        match write(guard, replaces, new, reserved) {
            Ok(()) => {
                durable = true;
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    pause_at("pending-written");
    let saved = (|| {
        let mut p = stored.clone();
        p.put(new)?;
        guard.save_reserved(&p, reserved)
    })();
    match (durable, saved) {
        (_, Ok(())) => {
            pause_at("profile-saved");
            match guard.remove_write_ahead() {
                Ok(_) => Persisted::Saved,
                // The profile is right; the record is stale and the next recover discards it.
                Err(e) => {
                    tracing::warn!("cannot remove {}: {e}", guard.write_ahead_location());
                    Persisted::Saved
                }
            }
        }
        (true, Err(e)) => Persisted::InRecord(e),
        (false, Err(e)) => Persisted::Lost {
            attempts: PERSIST_ATTEMPTS + 1,
            source: last_error.unwrap_or(e),
        },
    }
}

/// A name of a JSON error class, never its message (serde may quote the secret it choked on).
fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "truncated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Toy {
        refresh_token: Option<RefreshToken>,
        n: u32,
    }
    impl Section for Toy {
        const NAME: &'static str = "toy";
    }
    impl Rotating for Toy {
        fn refresh_token(&self) -> Option<&RefreshToken> {
            self.refresh_token.as_ref()
        }
    }
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Other {
        refresh_token: Option<RefreshToken>,
    }
    impl Section for Other {
        const NAME: &'static str = "other";
    }
    impl Rotating for Other {
        fn refresh_token(&self) -> Option<&RefreshToken> {
            self.refresh_token.as_ref()
        }
    }

    fn toy(rt: &str, n: u32) -> Toy {
        Toy {
            refresh_token: Some(RefreshToken::new(rt)),
            n,
        }
    }

    fn setup(section: &Toy) -> (tempfile::TempDir, Store, ProfileName) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let p = ProfileName::default();
        store.lock(&p).unwrap().save_section(section).unwrap();
        (dir, store, p)
    }

    #[test]
    fn a_persisted_rotation_leaves_the_new_section_and_no_record() {
        let (_d, store, p) = setup(&toy("rt-1", 1));
        let guard = store.lock(&p).unwrap();
        let stored = guard.load().unwrap().unwrap();
        let mut reserved = reserve(&guard, &stored, &toy("rt-1", 1)).unwrap();
        let old = RefreshToken::new("rt-1");
        assert!(matches!(
            persist(&guard, &stored, Some(&old), &toy("rt-2", 2), &mut reserved),
            Persisted::Saved
        ));
        assert_eq!(guard.load_section::<Toy>().unwrap(), Some(toy("rt-2", 2)));
        assert!(!exists(&store, &p).unwrap());
    }

    #[test]
    fn a_record_for_the_stored_token_is_applied_and_a_stale_one_discarded() {
        let (_d, store, p) = setup(&toy("rt-1", 1));
        let guard = store.lock(&p).unwrap();
        let old = RefreshToken::new("rt-1");
        write(
            &guard,
            Some(&old),
            &toy("rt-2", 2),
            &mut Reserved::default(),
        )
        .unwrap();
        let text = String::from_utf8(guard.read_write_ahead().unwrap().unwrap()).unwrap();
        assert!(text.contains("\"replaces\": \"rt-1\""), "{text}");
        assert_eq!(recover::<Toy>(&guard, &p).unwrap(), Recovery::Applied);
        assert_eq!(guard.load_section::<Toy>().unwrap(), Some(toy("rt-2", 2)));
        // Already applied: discarded, the profile untouched.
        write(
            &guard,
            Some(&old),
            &toy("rt-2", 9),
            &mut Reserved::default(),
        )
        .unwrap();
        assert_eq!(recover::<Toy>(&guard, &p).unwrap(), Recovery::Discarded);
        assert_eq!(guard.load_section::<Toy>().unwrap(), Some(toy("rt-2", 2)));
        assert_eq!(recover::<Toy>(&guard, &p).unwrap(), Recovery::Nothing);
    }

    #[test]
    fn another_sections_record_is_never_overwritten_and_a_newer_one_stops_the_refresh() {
        let (_d, store, p) = setup(&toy("rt-1", 1));
        let guard = store.lock(&p).unwrap();
        let theirs = Other {
            refresh_token: Some(RefreshToken::new("o-2")),
        };
        write(
            &guard,
            Some(&RefreshToken::new("o-1")),
            &theirs,
            &mut Reserved::default(),
        )
        .unwrap();
        let err = recover_before_refresh::<Toy>(&guard, &p).unwrap_err();
        assert!(
            err.to_string()
                .contains("has a write-ahead record of its `other` login"),
            "{err}"
        );
        assert!(exists(&store, &p).unwrap());
        guard
            .write_ahead(b"{\"version\": 2}\n", &mut Reserved::default(), || {})
            .unwrap();
        assert!(matches!(
            recover::<Toy>(&guard, &p),
            Err(RotationError::TooNew { found: 2, .. })
        ));
        assert!(exists(&store, &p).unwrap());
    }
}
