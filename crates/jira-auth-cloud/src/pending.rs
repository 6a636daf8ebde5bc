//! The write-ahead record of a Cloud refresh: `jira_auth_core::rotation` (the one
//! implementation, shared with Data Center OAuth 2.0) for the `cloud` section, with Cloud's
//! errors. The store keeps its bytes: `<profile>.pending` beside `<profile>.json`, or a keyring
//! entry with the keyring backend.
//!
//! Atlassian rotates the refresh token on every refresh and accepts the old one for only
//! 10 minutes more; after that a reuse revokes the whole family. So the new token set must reach
//! the disk before anything else can fail, and there must be room for it before the old token is
//! spent. The sequence, all under the profile lock:
//!
//! 1. the space for the record and for the new profile is reserved ([`reserve`]); if that fails
//!    (a full disk), the token endpoint is not called;
//! 2. the token response arrives;
//! 3. the new credentials, with the refresh token they replace, are written as the record into
//!    the reserved space (0600, temporary file, fsync, rename, fsync of the directory), retried
//!    when that fails;
//! 4. the profile is replaced (the store's own atomic write, into its reserved space);
//! 5. the record is removed.
//!
//! [`recover`] runs first under the lock on every refresh: a record whose `replaces` is still the
//! profile's refresh token is applied (the process died between 3 and 4); a record whose new token
//! is already in the profile, or that belongs to an older login, is removed; a record written by
//! a newer jira-auth is left untouched and refreshing stops. Stray temporary files of this
//! profile (a process killed in the middle of a write) are removed too.
//!
//! What stays exposed: a crash between the arrival of the response and the end of step 3 (the
//! time of one small fsync'd write). Then the old refresh token is still stored and works again
//! if the next run comes within Atlassian's 10-minute reuse window.

use crate::CloudError;
use crate::credentials::CloudCredentials;
use jira_auth_core::RefreshToken;
use jira_auth_core::rotation::{self, Rotating, RotationError};
use jira_auth_core::store::{Profile, ProfileGuard, ProfileName, Reserved, Store};

pub use jira_auth_core::rotation::{Recovery, headroom};

/// How long Atlassian still accepts a refresh token after rotating it.
pub const REUSE_WINDOW_SECONDS: i64 = 10 * 60;

impl Rotating for CloudCredentials {
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
}

fn cloud_error(e: RotationError) -> CloudError {
    match e {
        RotationError::Store(e) => CloudError::Store(e),
        RotationError::TooNew {
            profile,
            location,
            found,
        } => CloudError::WriteAheadTooNew {
            profile,
            location,
            found,
        },
        foreign @ RotationError::Foreign { .. } => CloudError::Rotation(foreign),
    }
}

/// Whether `profile` has a write-ahead record (no lock).
pub fn exists(store: &Store, profile: &ProfileName) -> Result<bool, CloudError> {
    Ok(rotation::exists(store, profile)?)
}

#[cfg(test)]
fn encode(
    replaces: Option<&RefreshToken>,
    cloud: &CloudCredentials,
) -> Result<Vec<u8>, CloudError> {
    Ok(rotation::encode(replaces, cloud)?)
}

/// Step 1: holds the space the record and the new profile need, before the refresh token that
/// `cloud` holds is spent.
pub fn reserve(
    guard: &ProfileGuard,
    stored: &Profile,
    cloud: &CloudCredentials,
) -> Result<Reserved, CloudError> {
    Ok(rotation::reserve(guard, stored, cloud)?)
}

/// Step 3: makes the new credentials durable before the profile is touched.
pub fn write(
    guard: &ProfileGuard,
    replaces: Option<&RefreshToken>,
    cloud: &CloudCredentials,
    reserved: &mut Reserved,
) -> Result<(), CloudError> {
    Ok(rotation::write(guard, replaces, cloud, reserved)?)
}

/// Step 5: the profile holds the new credentials; the record can go.
pub fn remove(guard: &ProfileGuard) -> Result<(), CloudError> {
    guard.remove_write_ahead()?;
    Ok(())
}

/// Applies or discards a record left by a process that died mid-refresh, and removes stray
/// temporary files of this profile. Call with the lock held, before reading the profile. A
/// record of the profile's `server` login is left for it.
pub fn recover(guard: &ProfileGuard, profile: &ProfileName) -> Result<Recovery, CloudError> {
    rotation::recover::<CloudCredentials>(guard, profile).map_err(cloud_error)
}

/// [`recover`] before a refresh: a record of another section stops it, so that the refresh
/// never overwrites that section's only live refresh token.
pub fn recover_before_refresh(
    guard: &ProfileGuard,
    profile: &ProfileName,
) -> Result<Recovery, CloudError> {
    rotation::recover_before_refresh::<CloudCredentials>(guard, profile).map_err(cloud_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::tests::sample;
    use std::fs;
    use std::path::PathBuf;

    fn path(guard: &ProfileGuard) -> PathBuf {
        guard.path().with_extension("pending")
    }

    /// A record file as someone else would leave it: private, any content.
    fn put_record(guard: &ProfileGuard, text: &str) {
        jira_auth_core::store::write_atomically(&path(guard), text.as_bytes()).unwrap();
    }

    fn write(guard: &ProfileGuard, replaces: Option<&RefreshToken>, cloud: &CloudCredentials) {
        super::write(guard, replaces, cloud, &mut Reserved::default()).unwrap();
    }

    const NOW: i64 = 1_800_000_000;

    fn store_with(c: &CloudCredentials) -> (tempfile::TempDir, Store, ProfileName) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let p = ProfileName::default();
        crate::credentials::save(&store, &p, c).unwrap();
        (dir, store, p)
    }

    fn rotated(c: &CloudCredentials) -> CloudCredentials {
        let mut n = c.clone();
        n.access_token = jira_auth_core::AccessToken::new("at-2");
        n.refresh_token = Some(RefreshToken::new("rt-2"));
        n.last_refreshed_at += 60;
        n
    }

    #[test]
    fn a_record_for_the_stored_token_is_applied_then_removed() {
        let old = sample(NOW);
        let (_d, store, p) = store_with(&old);
        let new = rotated(&old);
        let guard = store.lock(&p).unwrap();
        write(&guard, old.refresh_token.as_ref(), &new);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path(&guard)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = fs::read_to_string(path(&guard)).unwrap();
        assert!(text.contains("\"replaces\": \"rt-1\""), "{text}");
        assert!(text.contains("\"refresh_token\": \"rt-2\""), "{text}");
        assert!(exists(&store, &p).unwrap());
        assert_eq!(recover(&guard, &p).unwrap(), Recovery::Applied);
        assert!(!exists(&store, &p).unwrap());
        assert!(!path(&guard).exists());
        drop(guard);
        assert_eq!(crate::credentials::load(&store, &p).unwrap(), new);
    }

    #[test]
    fn an_applied_or_stale_record_is_discarded_without_touching_the_profile() {
        let old = sample(NOW);
        let new = rotated(&old);
        // Already applied: the profile holds the new token.
        let (_d, store, p) = store_with(&new);
        let guard = store.lock(&p).unwrap();
        write(&guard, old.refresh_token.as_ref(), &new);
        assert_eq!(recover(&guard, &p).unwrap(), Recovery::Discarded);
        assert!(!path(&guard).exists());
        // Stale: a new login replaced the family since.
        let mut relogin = sample(NOW);
        relogin.refresh_token = Some(RefreshToken::new("rt-9"));
        let mut prof = guard.load().unwrap().unwrap();
        prof.put(&relogin).unwrap();
        guard.save(&prof).unwrap();
        write(&guard, old.refresh_token.as_ref(), &new);
        assert_eq!(recover(&guard, &p).unwrap(), Recovery::Discarded);
        drop(guard);
        assert_eq!(crate::credentials::load(&store, &p).unwrap(), relogin);
        assert_eq!(
            recover(&store.lock(&p).unwrap(), &p).unwrap(),
            Recovery::Nothing
        );
    }

    #[test]
    fn stray_temp_files_of_this_profile_go_and_others_stay() {
        let (_d, store, p) = store_with(&sample(NOW));
        let guard = store.lock(&p).unwrap();
        let dir = guard.path().parent().unwrap().to_owned();
        let mine = [
            ".default.json.0123456789ab.tmp",
            ".default.pending.abcdef012345.tmp",
        ];
        let theirs = [
            ".default.json.json.0123456789ab.tmp",
            ".other.json.0123456789ab.tmp",
            ".default.json.xyz.tmp",
        ];
        for name in mine.iter().chain(&theirs) {
            fs::write(dir.join(name), "{\"half").unwrap();
        }
        assert_eq!(recover(&guard, &p).unwrap(), Recovery::Nothing);
        for name in mine {
            assert!(!dir.join(name).exists(), "{name}");
        }
        for name in theirs {
            assert!(dir.join(name).exists(), "{name}");
        }
    }

    #[test]
    fn a_foreign_file_in_place_of_the_record_is_left_alone() {
        let (_d, store, p) = store_with(&sample(NOW));
        let guard = store.lock(&p).unwrap();
        put_record(&guard, "not json");
        assert_eq!(recover(&guard, &p).unwrap(), Recovery::Nothing);
        assert_eq!(fs::read_to_string(path(&guard)).unwrap(), "not json");
    }

    #[test]
    fn a_record_of_a_newer_version_is_left_untouched_and_stops_the_refresh() {
        let (_d, store, p) = store_with(&sample(NOW));
        let guard = store.lock(&p).unwrap();
        let newer = "{\"version\": 2, \"future\": true}\n";
        put_record(&guard, newer);
        let err = recover(&guard, &p).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "profile `default` has a write-ahead record at `{}` written by a newer jira-auth (format 2, this build reads 1); it was left untouched: run the newer jira-auth, which applies it",
                path(&guard).display()
            )
        );
        assert_eq!(fs::read_to_string(path(&guard)).unwrap(), newer);
    }

    #[test]
    fn a_reserved_write_lands_exactly_the_record() {
        let old = sample(NOW);
        let (_d, store, p) = store_with(&old);
        let guard = store.lock(&p).unwrap();
        let stored = guard.load().unwrap().unwrap();
        let mut reserved = reserve(&guard, &stored, &old).unwrap();
        let new = rotated(&old);
        super::write(&guard, old.refresh_token.as_ref(), &new, &mut reserved).unwrap();
        assert_eq!(
            fs::read(path(&guard)).unwrap(),
            encode(old.refresh_token.as_ref(), &new).unwrap()
        );
    }
}
