//! Where a profile's documents live: the [`Backend`] trait and its file implementation. The OS
//! keyring implementation is in `os_keyring` (cargo feature `keyring`); this trait is why the
//! feature gate appears only where that module is declared and where a store is built.
//!
//! A profile has two documents: the profile itself and, during a token rotation, its write-ahead
//! record (the owner crate's format; the store only keeps the bytes).

use super::fs::{self, Reservation};
use super::{Profile, ProfileName, Result, StoreError};
use std::path::{Path, PathBuf};

/// The on-disk names of one profile, whatever the backend.
#[derive(Debug, Clone)]
pub(super) struct Place {
    pub name: ProfileName,
    /// `<profiles>/<name>.json`.
    pub json: PathBuf,
}

impl Place {
    /// `<profiles>/<name>.pending`: the write-ahead record on disk.
    pub fn pending(&self) -> PathBuf {
        self.json.with_extension("pending")
    }

    /// `<profiles>/<name>.keyring`: the marker of a profile kept in the keyring.
    pub fn marker(&self) -> PathBuf {
        self.json.with_extension("keyring")
    }

    pub fn dir(&self) -> &Path {
        self.json.parent().unwrap_or(Path::new("."))
    }
}

/// A home for profile documents. Every method is called with the profile's lock held, except
/// the reads, which see whole documents either way (files are replaced by rename, keyring entries
/// whole).
pub(super) trait Backend: std::fmt::Debug + Send + Sync {
    /// Whether documents live in the OS keyring.
    fn is_keyring(&self) -> bool {
        false
    }
    /// The file suffixes under `profiles/` that name a stored profile.
    fn listed_suffixes(&self) -> &'static [&'static str] {
        &[".json"]
    }
    fn load(&self, at: &Place) -> Result<Option<Profile>>;
    /// Replaces the profile with `bytes`, using `slot` (space held on disk) when there is one.
    fn save(&self, at: &Place, bytes: &[u8], slot: Option<Reservation>) -> Result<()>;
    fn delete(&self, at: &Place) -> Result<bool>;
    /// Whether the disk must hold space for the documents (the keyring needs none of ours).
    fn writes_documents_to_disk(&self) -> bool {
        true
    }
    fn read_write_ahead(&self, at: &Place) -> Result<Option<Vec<u8>>>;
    fn write_write_ahead(
        &self,
        at: &Place,
        bytes: &[u8],
        slot: Option<Reservation>,
        midway: &mut dyn FnMut(),
    ) -> Result<()>;
    fn remove_write_ahead(&self, at: &Place) -> Result<bool>;
    /// Where the write-ahead record is, for messages.
    fn write_ahead_location(&self, at: &Place) -> String {
        format!("`{}`", at.pending().display())
    }
}

/// Profiles in `profiles/<name>.json`, write-ahead records in `profiles/<name>.pending`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Files;

impl Backend for Files {
    fn load(&self, at: &Place) -> Result<Option<Profile>> {
        read_profile(&at.json)
    }

    fn save(&self, at: &Place, bytes: &[u8], slot: Option<Reservation>) -> Result<()> {
        commit(&at.json, bytes, slot, &mut || {})?;
        // The file is now the newest document: a keyring backend must read it, not an older
        // keyring entry.
        fs::remove_if_present(&at.marker())?;
        Ok(())
    }

    fn delete(&self, at: &Place) -> Result<bool> {
        fs::remove_if_present(&at.json)
    }

    fn read_write_ahead(&self, at: &Place) -> Result<Option<Vec<u8>>> {
        fs::read_private(&at.pending())
    }

    fn write_write_ahead(
        &self,
        at: &Place,
        bytes: &[u8],
        slot: Option<Reservation>,
        midway: &mut dyn FnMut(),
    ) -> Result<()> {
        commit(&at.pending(), bytes, slot, midway)
    }

    fn remove_write_ahead(&self, at: &Place) -> Result<bool> {
        fs::remove_if_present(&at.pending())
    }
}

/// Writes `bytes` to `path` atomically, into `slot` when space was held for it.
pub(super) fn commit(
    path: &Path,
    bytes: &[u8],
    slot: Option<Reservation>,
    midway: &mut dyn FnMut(),
) -> Result<()> {
    match slot {
        Some(slot) => slot.commit_with(bytes, midway),
        None => fs::write_atomically_with(path, bytes, midway),
    }
}

/// A profile file, refused when group- or world-readable, left untouched when it does not parse.
pub(super) fn read_profile(path: &Path) -> Result<Option<Profile>> {
    let Some(bytes) = fs::read_private(path)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
        path: path.to_owned(),
        message: "not UTF-8".to_owned(),
    })?;
    let profile = super::parse_profile_file(path, &text)?;
    Ok(Some(profile))
}
