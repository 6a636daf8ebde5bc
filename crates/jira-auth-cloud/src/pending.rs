//! The write-ahead record of a refresh: `<profile>.pending` beside `<profile>.json`.
//!
//! Atlassian rotates the refresh token on every refresh and accepts the old one for only
//! 10 minutes more; after that a reuse revokes the whole family. So the new token set must reach
//! the disk before anything else can fail. The sequence, all under the profile lock:
//!
//! 1. the token response arrives;
//! 2. the new credentials, with the refresh token they replace, are written to
//!    `<profile>.pending` (0600, temporary file, fsync, rename, fsync of the directory);
//! 3. the profile is replaced (the store's own atomic write);
//! 4. the record is removed.
//!
//! [`recover`] runs first under the lock on every refresh: a record whose `replaces` is still the
//! profile's refresh token is applied (the process died between 2 and 3); a record whose new token
//! is already in the profile, or that belongs to an older login, is removed. Stray temporary
//! files of this profile (a process killed in the middle of a write) are removed too.
//!
//! What stays exposed: a crash between the arrival of the response and the end of step 2 (the
//! time of one small fsync'd write). Then the old refresh token is still stored and works again
//! if the next run comes within Atlassian's 10-minute reuse window.

use crate::credentials::{CloudCredentials, SECTION};
use crate::{CloudError, fault};
use jira_auth_core::RefreshToken;
use jira_auth_core::store::{
    Profile, ProfileGuard, ProfileName, Store, StoreError, write_atomically_with,
};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// The format version of the record.
const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    version: u32,
    /// The refresh token that was redeemed to get `cloud`.
    replaces: Option<RefreshToken>,
    /// The full new cloud section.
    cloud: CloudCredentials,
}

/// What [`recover`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// No record.
    Nothing,
    /// The record's credentials were written into the profile.
    Applied,
    /// The record was already applied, or belonged to an older login: removed.
    Discarded,
}

/// `<profiles>/<name>.pending` for the guard's `<profiles>/<name>.json`.
pub fn path(guard: &ProfileGuard) -> PathBuf {
    guard.path().with_extension("pending")
}

/// Whether `profile` has a write-ahead record (one `stat`, no lock).
pub fn exists(store: &Store, profile: &ProfileName) -> bool {
    store
        .profile_path(profile)
        .with_extension("pending")
        .exists()
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CloudError + 'a {
    move |source| {
        CloudError::Store(StoreError::Io {
            action,
            path: path.to_owned(),
            source,
        })
    }
}

/// Step 2: makes the new credentials durable before the profile is touched.
pub fn write(
    guard: &ProfileGuard,
    replaces: Option<&RefreshToken>,
    cloud: &CloudCredentials,
) -> Result<(), CloudError> {
    let record = Record {
        version: VERSION,
        replaces: replaces.cloned(),
        cloud: cloud.clone(),
    };
    let mut bytes = serde_json::to_vec_pretty(&record).map_err(|e| {
        CloudError::Store(StoreError::Section {
            profile: String::new(),
            section: SECTION.to_owned(),
            message: e.to_string(),
        })
    })?;
    bytes.push(b'\n');
    Ok(write_atomically_with(&path(guard), &bytes, || {
        fault::pause_at("mid-pending-write")
    })?)
}

/// Step 4: the profile holds the new credentials; the record can go.
pub fn remove(guard: &ProfileGuard) -> Result<(), CloudError> {
    let path = path(guard);
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(&path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("removing", &path)(e)),
    }
}

/// Applies or discards a record left by a process that died mid-refresh, and removes stray
/// temporary files of this profile. Call with the lock held, before reading the profile.
pub fn recover(guard: &ProfileGuard, profile: &ProfileName) -> Result<Recovery, CloudError> {
    remove_stray_temp_files(guard);
    let path = path(guard);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Recovery::Nothing),
        Err(e) => return Err(io_err("reading", &path)(e)),
    };
    let record: Record = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            // Written by rename, so never half; someone else's file: leave it for a human.
            tracing::warn!(
                "ignoring `{}`: not a jira-auth write-ahead record ({})",
                path.display(),
                e.classify_name()
            );
            return Ok(Recovery::Nothing);
        }
    };
    let mut stored = guard.load()?.unwrap_or_else(Profile::new);
    let current = stored
        .section::<CloudCredentials>(profile, SECTION)?
        .and_then(|c| c.refresh_token);
    let outcome = if record.version == VERSION && current.is_some() && current == record.replaces {
        stored.set_section(SECTION, &record.cloud)?;
        guard.save(&stored)?;
        tracing::info!(
            "recovered the token set of an interrupted refresh from `{}`",
            path.display()
        );
        Recovery::Applied
    } else {
        tracing::debug!("discarding `{}`: already applied or stale", path.display());
        Recovery::Discarded
    };
    remove(guard)?;
    Ok(outcome)
}

/// A name of a JSON error class, never its message (serde may quote the secret it choked on).
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// Temporary files are `.<file>.<12 hex>.tmp` (the store's scheme and ours); under the lock
/// nobody is writing this profile's, so any that exist were left by a killed process.
fn remove_stray_temp_files(guard: &ProfileGuard) {
    let Some(dir) = guard.path().parent() else {
        return;
    };
    let Some(json) = guard.path().file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let pending = path(guard);
    let Some(pending) = pending.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_temp_of(name, json) || is_temp_of(name, pending) {
            match fs::remove_file(entry.path()) {
                Ok(()) => tracing::debug!("removed the stray temporary file `{name}`"),
                Err(e) => tracing::debug!("cannot remove `{name}`: {e}"),
            }
        }
    }
}

/// Whether `name` is `.{file}.{12 hex}.tmp`.
pub fn is_temp_of(name: &str, file: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_prefix(file))
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(".tmp"))
        .is_some_and(|hex| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn sync_dir(path: &Path) -> Result<(), CloudError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing", dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::tests::sample;

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
        write(&guard, old.refresh_token.as_ref(), &new).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path(&guard)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = fs::read_to_string(path(&guard)).unwrap();
        assert!(text.contains("\"replaces\": \"rt-1\""), "{text}");
        assert!(text.contains("\"refresh_token\": \"rt-2\""), "{text}");
        assert!(exists(&store, &p));
        assert_eq!(recover(&guard, &p).unwrap(), Recovery::Applied);
        assert!(!exists(&store, &p));
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
        write(&guard, old.refresh_token.as_ref(), &new).unwrap();
        assert_eq!(recover(&guard, &p).unwrap(), Recovery::Discarded);
        assert!(!path(&guard).exists());
        // Stale: a new login replaced the family since.
        let mut relogin = sample(NOW);
        relogin.refresh_token = Some(RefreshToken::new("rt-9"));
        let mut prof = guard.load().unwrap().unwrap();
        prof.set_section(SECTION, &relogin).unwrap();
        guard.save(&prof).unwrap();
        write(&guard, old.refresh_token.as_ref(), &new).unwrap();
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
        fs::write(path(&guard), "not json").unwrap();
        assert_eq!(recover(&guard, &p).unwrap(), Recovery::Nothing);
        assert_eq!(fs::read_to_string(path(&guard)).unwrap(), "not json");
    }

    #[test]
    fn temp_names_are_matched_exactly() {
        assert!(is_temp_of(".a.json.0123456789ab.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.json.0123456789ab.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.0123456789a.tmp", "a.json"));
        assert!(!is_temp_of("a.json.0123456789ab.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.0123456789ag.tmp", "a.json"));
    }
}
