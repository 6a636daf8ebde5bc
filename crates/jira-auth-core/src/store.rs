//! The credential store: one JSON file per named profile.
//!
//! Layout: `<config dir>/profiles/<name>.json`, with `<name>.lock` beside it. The config dir is
//! `$JIRA_AUTH_CONFIG_DIR`, else `$XDG_CONFIG_HOME/jira-auth`, else `~/.config/jira-auth`.
//!
//! Architecture invariants:
//! - Files are created 0600 inside 0700 directories, and a profile file readable by group or
//!   others is refused rather than trusted.
//! - A write never leaves a half-written file: temp file in the same directory, fsync, rename over
//!   the old file, fsync the directory. A crash leaves the old file or the new one.
//! - Every read-modify-write happens under an exclusive advisory lock on the profile's lock file,
//!   so two processes never interleave (a rotated refresh token is never overwritten by a stale
//!   one). Locks are per profile: work on one profile never stalls another.
//! - A file that cannot be parsed is reported and left untouched, never overwritten.
//!
//! Each owner crate keeps its data in a section of the profile (`cloud`, `server`), so the store
//! knows nothing of token formats.
//!
//! Backends: `JIRA_AUTH_STORE=file` (the default) keeps the document in `<name>.json`;
//! `JIRA_AUTH_STORE=keyring` (cargo feature `keyring`) keeps it in the OS keyring, with the same
//! lock file and a marker file on disk (see `os_keyring`). Callers see one `Store` API either way.

use crate::category::{Categorize, Category};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod backend;
mod fs;
#[cfg(feature = "keyring")]
mod os_keyring;

use backend::{Backend, Place};
pub use fs::{
    PrivateFileError, Reservation, create_private_dir, is_temp_of, read_private_file,
    write_atomically, write_atomically_with,
};

/// The profile file format version written by this build.
pub const PROFILE_VERSION: u32 = 1;

/// The environment variable that overrides the config directory.
pub const CONFIG_DIR_ENV: &str = "JIRA_AUTH_CONFIG_DIR";

/// The environment variable that chooses where profile documents live: `file`, `keyring` or
/// `auto`.
pub const BACKEND_ENV: &str = "JIRA_AUTH_STORE";

/// The keyring service of every profile entry (`JIRA_AUTH_STORE=keyring`).
pub const KEYRING_SERVICE: &str = "jira-auth";
/// The keyring service of write-ahead records: a service of their own, so that no profile name
/// can collide with one.
pub const WRITE_AHEAD_SERVICE: &str = "jira-auth.write-ahead";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "invalid profile name `{0}`: use 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`"
    )]
    InvalidName(String),
    #[error(
        "cannot find a config directory: set `JIRA_AUTH_CONFIG_DIR` (or `XDG_CONFIG_HOME` or `HOME`)"
    )]
    NoConfigDir,
    #[error("{action} `{path}` failed: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "`{path}` is readable by other users (mode {mode:o}); refusing to use it: run `chmod 600 {path}` after checking nobody copied it"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error(
        "`{path}` is not a valid jira-auth profile ({message}); it was left untouched: fix or move it aside, then log in again"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "`{path}` was written by a newer jira-auth (format {found}, this build reads {PROFILE_VERSION}); upgrade jira-auth"
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error("section `{section}` of profile `{profile}` has an unexpected shape: {message}")]
    Section {
        profile: String,
        section: String,
        message: String,
    },
    #[error("`JIRA_AUTH_STORE` is `{0}`: set it to `file` (the default), `keyring` or `auto`")]
    UnknownBackend(String),
    #[error(
        "`JIRA_AUTH_STORE=keyring` asks for the OS keyring, but this jira-auth was built without it: rebuild with `--features keyring` (`cargo install --path crates/jira-auth --features keyring`) or unset `JIRA_AUTH_STORE`"
    )]
    KeyringNotCompiled,
    #[error(
        "`JIRA_AUTH_STORE=keyring` asks for the OS keyring, but none is reachable ({reason}): start a Secret Service (GNOME Keyring, KeePassXC) and a D-Bus session, or set `JIRA_AUTH_STORE=auto` to keep profiles in files under `{}` when there is no keyring", dir.display()
    )]
    KeyringUnavailable { reason: String, dir: PathBuf },
    #[error("{action} profile `{profile}` in the OS keyring failed: {message}: {hint}")]
    Keyring {
        action: &'static str,
        profile: String,
        message: String,
        hint: &'static str,
    },
    #[error(
        "the OS keyring entry of profile `{profile}` (service `jira-auth`) is not a valid jira-auth profile ({message}); it was left untouched: remove it with your keyring manager, then log in again"
    )]
    KeyringCorrupt { profile: String, message: String },
    #[error(
        "profile `{profile}` in the OS keyring was written by a newer jira-auth (format {found}, this build reads {PROFILE_VERSION}); upgrade jira-auth"
    )]
    KeyringTooNew { profile: String, found: u32 },
}

impl Categorize for StoreError {
    fn category(&self) -> Category {
        Category::Usage
    }
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A validated profile name (`default` unless the user says otherwise).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProfileName(String);

impl ProfileName {
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(Self(name))
        } else {
            Err(StoreError::InvalidName(name))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ProfileName {
    fn default() -> Self {
        Self("default".to_owned())
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ProfileName {
    type Error = StoreError;
    fn try_from(value: String) -> Result<Self> {
        Self::new(value)
    }
}

impl From<ProfileName> for String {
    fn from(value: ProfileName) -> Self {
        value.0
    }
}

impl std::str::FromStr for ProfileName {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// A profile section, owned by one crate (`cloud`, `server`): typed load, save and removal go
/// through this, so no crate names another's section or handles its JSON by hand.
pub trait Section: Serialize + DeserializeOwned {
    /// The section's key in the profile document.
    const NAME: &'static str;
}

/// What [`ProfileGuard::remove_section`] took out of a profile.
#[derive(Debug, Clone, PartialEq)]
pub enum Removed<T> {
    /// The profile had no such section.
    Nothing,
    /// The section, as it was stored.
    Section(T),
    /// A section this build cannot read (hand-edited, or from another version): removed all the
    /// same, since forgetting must not depend on understanding what is forgotten.
    Unreadable,
}

/// The contents of one profile file: a version and one JSON section per owner crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub version: u32,
    #[serde(flatten)]
    sections: BTreeMap<String, serde_json::Value>,
}

impl Default for Profile {
    fn default() -> Self {
        Self::new()
    }
}

impl Profile {
    pub fn new() -> Self {
        Self {
            version: PROFILE_VERSION,
            sections: BTreeMap::new(),
        }
    }

    /// Reads a section as `T`; `Ok(None)` when the profile has no such section.
    pub fn section<T: DeserializeOwned>(
        &self,
        name: &ProfileName,
        section: &str,
    ) -> Result<Option<T>> {
        self.sections
            .get(section)
            .map(|v| {
                T::deserialize(v).map_err(|e| StoreError::Section {
                    profile: name.to_string(),
                    section: section.to_owned(),
                    message: e.to_string(),
                })
            })
            .transpose()
    }

    pub fn set_section<T: Serialize>(&mut self, section: &str, value: &T) -> Result<()> {
        let v = serde_json::to_value(value).map_err(|e| StoreError::Section {
            profile: String::new(),
            section: section.to_owned(),
            message: e.to_string(),
        })?;
        self.sections.insert(section.to_owned(), v);
        Ok(())
    }

    /// Section `T`, `Ok(None)` when the profile has none. `name` is for messages.
    pub fn get<T: Section>(&self, name: &ProfileName) -> Result<Option<T>> {
        self.section(name, T::NAME)
    }

    /// Sets section `T`, keeping the others.
    pub fn put<T: Section>(&mut self, value: &T) -> Result<()> {
        self.set_section(T::NAME, value)
    }

    pub fn remove_section(&mut self, section: &str) -> bool {
        self.sections.remove(section).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }
}

/// The credential store: profile documents in files or in the OS keyring, locks on disk.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    backend: Arc<dyn Backend>,
}

/// The values of `JIRA_AUTH_STORE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    File,
    Keyring,
    Auto,
}

impl Store {
    /// A file-backed store rooted at `dir` (created on first write).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            backend: Arc::new(backend::Files),
        }
    }

    /// The same store with its documents in `keyring` (a keyring-core credential store: the
    /// platform's, or a test double), its locks and markers still under [`Store::dir`].
    #[cfg(feature = "keyring")]
    pub fn with_keyring(self, keyring: Arc<keyring_core::CredentialStore>) -> Self {
        Self {
            backend: Arc::new(os_keyring::Keyring::new(keyring)),
            ..self
        }
    }

    /// The store at `$JIRA_AUTH_CONFIG_DIR`, `$XDG_CONFIG_HOME/jira-auth` or `~/.config/jira-auth`,
    /// with the backend named by `$JIRA_AUTH_STORE`: `file` (the default), `keyring` (the OS
    /// keyring or an error), `auto` (the OS keyring when there is one, else files with one
    /// warning).
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|k| std::env::var_os(k), open_keyring)
    }

    fn from_vars(
        var: impl Fn(&str) -> Option<OsString>,
        open_keyring: impl FnOnce() -> std::result::Result<Arc<dyn Backend>, String>,
    ) -> Result<Self> {
        let var = |k: &str| var(k).filter(|v| !v.is_empty());
        let store = if let Some(dir) = var(CONFIG_DIR_ENV) {
            Self::at(dir)
        } else if let Some(xdg) = var("XDG_CONFIG_HOME") {
            Self::at(PathBuf::from(xdg).join("jira-auth"))
        } else if let Some(home) = var("HOME") {
            Self::at(PathBuf::from(home).join(".config").join("jira-auth"))
        } else {
            return Err(StoreError::NoConfigDir);
        };
        let choice = match var(BACKEND_ENV).as_deref().map(|v| v.to_string_lossy()) {
            None => Choice::File,
            Some(v) if v == "file" => Choice::File,
            Some(v) if v == "keyring" => Choice::Keyring,
            Some(v) if v == "auto" => Choice::Auto,
            Some(other) => return Err(StoreError::UnknownBackend(other.into_owned())),
        };
        if choice == Choice::File {
            return Ok(store);
        }
        match open_keyring() {
            Ok(backend) => Ok(Self { backend, ..store }),
            Err(_) if choice == Choice::Keyring && !cfg!(feature = "keyring") => {
                Err(StoreError::KeyringNotCompiled)
            }
            Err(reason) if choice == Choice::Keyring => Err(StoreError::KeyringUnavailable {
                reason,
                dir: store.profiles_dir(),
            }),
            Err(reason) => {
                // Once per process: `cloud serve` and others open the store twice.
                static WARNED: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!("{}", keyring_fallback_warning(&reason, &store));
                }
                Ok(store)
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where profile `name` lives, for messages: `` `path` `` of its file, or the keyring entry.
    pub fn location(&self, name: &ProfileName) -> String {
        if self.uses_keyring() {
            format!("the OS keyring, service `jira-auth`, user `{name}`")
        } else {
            format!("`{}`", self.profile_path(name).display())
        }
    }

    /// Whether profile documents live in the OS keyring (else in `profiles/<name>.json`).
    pub fn uses_keyring(&self) -> bool {
        self.backend.is_keyring()
    }

    fn profiles_dir(&self) -> PathBuf {
        self.dir.join("profiles")
    }

    pub fn profile_path(&self, name: &ProfileName) -> PathBuf {
        self.profiles_dir().join(format!("{name}.json"))
    }

    fn place(&self, name: &ProfileName) -> Place {
        Place {
            name: name.clone(),
            json: self.profile_path(name),
        }
    }

    /// Reads a profile without taking the lock (a file is always whole, thanks to rename; a
    /// keyring entry is replaced whole).
    pub fn load(&self, name: &ProfileName) -> Result<Option<Profile>> {
        self.backend.load(&self.place(name))
    }

    /// Section `T` of profile `name`, read without the lock; `Ok(None)` when there is no
    /// profile or no such section.
    pub fn load_section<T: Section>(&self, name: &ProfileName) -> Result<Option<T>> {
        match self.load(name)? {
            Some(profile) => profile.get(name),
            None => Ok(None),
        }
    }

    /// Whether profile `name` has a write-ahead record (read without the lock; take the lock
    /// before acting on it).
    pub fn has_write_ahead(&self, name: &ProfileName) -> Result<bool> {
        Ok(self.backend.read_write_ahead(&self.place(name))?.is_some())
    }

    /// The names of all stored profiles, sorted.
    pub fn list(&self) -> Result<Vec<ProfileName>> {
        let suffixes = self.backend.listed_suffixes();
        let dir = self.profiles_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(fs::io_err("listing", &dir)(e)),
        };
        let mut names: Vec<ProfileName> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let stem = suffixes.iter().find_map(|s| file.strip_suffix(s))?;
                ProfileName::new(stem).ok()
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Takes the profile's exclusive lock, waiting for another process that holds it.
    pub fn lock(&self, name: &ProfileName) -> Result<ProfileGuard> {
        let dir = self.profiles_dir();
        create_private_dir(&self.dir)?;
        create_private_dir(&dir)?;
        let lock_path = dir.join(format!("{name}.lock"));
        let lock_file = fs::open_private(&lock_path, false)?;
        lock_file
            .lock()
            .map_err(fs::io_err("locking", &lock_path))?;
        Ok(ProfileGuard {
            place: self.place(name),
            backend: self.backend.clone(),
            _lock: lock_file,
        })
    }
}

#[cfg(feature = "keyring")]
fn open_keyring() -> std::result::Result<Arc<dyn Backend>, String> {
    os_keyring::open_platform().map(|k| Arc::new(k) as Arc<dyn Backend>)
}

#[cfg(not(feature = "keyring"))]
fn open_keyring() -> std::result::Result<Arc<dyn Backend>, String> {
    Err("this jira-auth was built without the `keyring` feature".to_owned())
}

/// Exclusive access to one profile until dropped.
#[derive(Debug)]
pub struct ProfileGuard {
    place: Place,
    backend: Arc<dyn Backend>,
    _lock: File, // the advisory lock is released when the file is closed
}

/// Disk space held, under the lock, for writing a write-ahead record and then the profile,
/// before an action that cannot be taken back (spending a refresh token). Empty when the
/// documents do not live on this disk (the keyring).
#[derive(Debug, Default)]
pub struct Reserved {
    write_ahead: Option<Reservation>,
    profile: Option<Reservation>,
}

impl ProfileGuard {
    pub fn load(&self) -> Result<Option<Profile>> {
        self.backend.load(&self.place)
    }

    /// Replaces the profile atomically: with files, temp file, fsync, rename, fsync dir; with the
    /// keyring, one entry write (then the profile's old file, if any, is removed).
    pub fn save(&self, profile: &Profile) -> Result<()> {
        self.backend
            .save(&self.place, &self.document(profile)?, None)
    }

    /// Section `T` of the locked profile.
    pub fn load_section<T: Section>(&self) -> Result<Option<T>> {
        match self.load()? {
            Some(profile) => profile.get(&self.place.name),
            None => Ok(None),
        }
    }

    /// Writes section `T`, keeping the profile's other sections.
    pub fn save_section<T: Section>(&self, value: &T) -> Result<()> {
        let mut profile = self.load()?.unwrap_or_default();
        profile.put(value)?;
        self.save(&profile)
    }

    /// Removes section `T`, and the whole profile when nothing else is left in it.
    pub fn remove_section<T: Section>(&self) -> Result<Removed<T>> {
        let Some(mut profile) = self.load()? else {
            return Ok(Removed::Nothing);
        };
        if !profile.section_names().any(|s| s == T::NAME) {
            return Ok(Removed::Nothing);
        }
        let removed = match profile.get::<T>(&self.place.name) {
            Ok(Some(value)) => Removed::Section(value),
            Ok(None) | Err(_) => Removed::Unreadable,
        };
        profile.remove_section(T::NAME);
        if profile.is_empty() {
            self.delete()?;
        } else {
            self.save(&profile)?;
        }
        Ok(removed)
    }

    /// [`ProfileGuard::save`] into the space held by [`ProfileGuard::reserve`] (a new write when
    /// it was used already).
    pub fn save_reserved(&self, profile: &Profile, reserved: &mut Reserved) -> Result<()> {
        self.backend.save(
            &self.place,
            &self.document(profile)?,
            reserved.profile.take(),
        )
    }

    fn document(&self, profile: &Profile) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(profile).map_err(|e| StoreError::Corrupt {
            path: self.place.json.clone(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Removes the profile (its file; with the keyring, its entry and marker too). Returns
    /// whether there was one.
    pub fn delete(&self) -> Result<bool> {
        self.backend.delete(&self.place)
    }

    /// The profile this guard holds.
    pub fn name(&self) -> &ProfileName {
        &self.place.name
    }

    /// `<profiles>/<name>.json`, the profile's file (absent while it lives in the keyring).
    pub fn path(&self) -> &Path {
        &self.place.json
    }

    /// Holds, on disk, the space to write a write-ahead record of up to `write_ahead` bytes and
    /// then a profile of up to `profile` bytes: temporary files written to that size and synced.
    /// Fails (on a full disk, say) before anything irreversible is done.
    pub fn reserve(&self, write_ahead: usize, profile: usize) -> Result<Reserved> {
        if !self.backend.writes_documents_to_disk() {
            return Ok(Reserved::default());
        }
        Ok(Reserved {
            write_ahead: Some(Reservation::new(&self.place.pending(), write_ahead)?),
            profile: Some(Reservation::new(&self.place.json, profile)?),
        })
    }

    /// Makes `bytes` the profile's write-ahead record, durably (file: 0600, atomic, into the
    /// reserved space when there is some; keyring: an entry of service
    /// [`WRITE_AHEAD_SERVICE`]). Calls `midway` once half of a file is written.
    pub fn write_ahead(
        &self,
        bytes: &[u8],
        reserved: &mut Reserved,
        mut midway: impl FnMut(),
    ) -> Result<()> {
        self.backend
            .write_write_ahead(&self.place, bytes, reserved.write_ahead.take(), &mut midway)
    }

    /// The write-ahead record's bytes, if there is one.
    pub fn read_write_ahead(&self) -> Result<Option<Vec<u8>>> {
        self.backend.read_write_ahead(&self.place)
    }

    /// Removes the write-ahead record. Returns whether there was one.
    pub fn remove_write_ahead(&self) -> Result<bool> {
        self.backend.remove_write_ahead(&self.place)
    }

    /// Where the write-ahead record is, for messages.
    pub fn write_ahead_location(&self) -> String {
        self.backend.write_ahead_location(&self.place)
    }

    /// Removes the temporary files of this profile's documents: under the lock nobody is
    /// writing them, so any that exist were left by a killed process.
    pub fn sweep_temp_files(&self) {
        fs::sweep_temp_files(self.place.dir(), &[&self.place.json, &self.place.pending()]);
    }
}

/// Why a document is not a profile this build can use.
enum Problem {
    Invalid(String),
    TooNew(u32),
}

fn parse_profile(text: &str) -> std::result::Result<Profile, Problem> {
    let profile: Profile =
        serde_json::from_str(text).map_err(|e| Problem::Invalid(e.to_string()))?;
    if profile.version > PROFILE_VERSION {
        return Err(Problem::TooNew(profile.version));
    }
    if profile.version == 0 {
        return Err(Problem::Invalid("version 0".to_owned()));
    }
    Ok(profile)
}

/// The profile in `text`, the content of the profile file `path` (only named in errors): the
/// file reader's parse step, pure, and a fuzz target. A document that is not a profile is
/// [`StoreError::Corrupt`], one written by a newer jira-auth [`StoreError::TooNew`].
pub fn parse_profile_file(path: &Path, text: &str) -> Result<Profile> {
    parse_profile(text).map_err(|problem| match problem {
        Problem::Invalid(message) => StoreError::Corrupt {
            path: path.to_owned(),
            message,
        },
        Problem::TooNew(found) => StoreError::TooNew {
            path: path.to_owned(),
            found,
        },
    })
}

/// The warning logged when `JIRA_AUTH_STORE=auto` finds no keyring.
fn keyring_fallback_warning(reason: &str, store: &Store) -> String {
    format!(
        "`JIRA_AUTH_STORE=auto` found no OS keyring ({reason}); keeping profiles in files under `{}`: start a Secret Service (GNOME Keyring, KeePassXC) and a D-Bus session, or set `JIRA_AUTH_STORE=file` to silence this",
        store.profiles_dir().display()
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn name(n: &str) -> ProfileName {
        ProfileName::new(n).unwrap()
    }

    #[test]
    fn profile_names_are_validated() {
        for ok in ["default", "prod-eu", "a.b_c", "X1"] {
            assert!(ProfileName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "../etc", "a/b", "sp ace", &"x".repeat(65)] {
            assert!(
                matches!(ProfileName::new(bad), Err(StoreError::InvalidName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn writes_0600_files_in_0700_dirs_with_exact_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path().join("cfg"));
        let guard = store.lock(&name("default")).unwrap();
        let mut profile = Profile::new();
        profile
            .set_section("cloud", &serde_json::json!({"site": "x"}))
            .unwrap();
        guard.save(&profile).unwrap();

        let path = store.profile_path(&name("default"));
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&tmp.path().join("cfg")), 0o700);
        assert_eq!(mode(&tmp.path().join("cfg/profiles")), 0o700);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\n  \"version\": 1,\n  \"cloud\": {\n    \"site\": \"x\"\n  }\n}\n"
        );
        // no temp files left behind
        let leftovers: Vec<_> = fs::read_dir(tmp.path().join("cfg/profiles"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn replace_is_atomic_for_concurrent_readers() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let n = name("p");
        let big = |i: usize| {
            let mut p = Profile::new();
            p.set_section(
                "cloud",
                &serde_json::json!({ "i": i, "pad": "z".repeat(200_000) }),
            )
            .unwrap();
            p
        };
        store.lock(&n).unwrap().save(&big(0)).unwrap();
        let reader_store = store.clone();
        let reader_name = n.clone();
        let reader = std::thread::spawn(move || {
            for _ in 0..200 {
                // Every read sees a whole file: old or new, never a torn one.
                let p = reader_store.load(&reader_name).unwrap().unwrap();
                assert!(
                    p.section::<serde_json::Value>(&reader_name, "cloud")
                        .unwrap()
                        .is_some()
                );
            }
        });
        for i in 1..50 {
            store.lock(&n).unwrap().save(&big(i)).unwrap();
        }
        reader.join().unwrap();
    }

    /// 8 threads × 25 locked increments of one counter in profile `counter` of `store`: without
    /// the lock, lost updates would leave fewer than 200. Shared by every backend's tests.
    pub(crate) fn assert_lock_serialises_read_modify_write(store: &Store) {
        let n = name("counter");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                let n = n.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        let guard = store.lock(&n).unwrap();
                        let mut p = guard.load().unwrap().unwrap_or_default();
                        let count: u64 = p.section(&n, "count").unwrap().unwrap_or(0);
                        p.set_section("count", &(count + 1)).unwrap();
                        guard.save(&p).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let p = store.load(&n).unwrap().unwrap();
        assert_eq!(p.section::<u64>(&n, "count").unwrap(), Some(200));
    }

    #[test]
    fn lock_serialises_read_modify_write_across_threads() {
        let tmp = tempfile::tempdir().unwrap();
        assert_lock_serialises_read_modify_write(&Store::at(tmp.path()));
    }

    #[test]
    fn group_readable_profile_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let n = name("default");
        store.lock(&n).unwrap().save(&Profile::new()).unwrap();
        let path = store.profile_path(&n);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = store.load(&n).unwrap_err();
        assert!(
            matches!(err, StoreError::InsecurePermissions { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn corrupt_file_is_reported_and_left_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let n = name("default");
        let guard = store.lock(&n).unwrap();
        write_atomically(guard.path(), b"{\"version\": 1, \"cloud\": {tru").unwrap();
        let err = guard.load().unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert_eq!(
            fs::read(guard.path()).unwrap(),
            b"{\"version\": 1, \"cloud\": {tru"
        );
    }

    #[test]
    fn newer_format_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let n = name("default");
        let guard = store.lock(&n).unwrap();
        write_atomically(guard.path(), b"{\"version\": 99}").unwrap();
        assert!(matches!(
            guard.load(),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    /// `Store::from_vars` over a fixed environment (the keyring, if compiled in, must not be
    /// opened for these values).
    fn from_vars(vars: &[(&str, &str)]) -> Result<Store> {
        let var = |k: &str| {
            vars.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| OsString::from(v))
        };
        Store::from_vars(var, || Err("no keyring in this test".to_owned()))
    }

    #[test]
    fn files_are_the_default_backend_and_unknown_ones_are_refused() {
        for vars in [
            &[("JIRA_AUTH_CONFIG_DIR", "/cfg")][..],
            &[("JIRA_AUTH_CONFIG_DIR", "/cfg"), ("JIRA_AUTH_STORE", "")],
            &[
                ("JIRA_AUTH_CONFIG_DIR", "/cfg"),
                ("JIRA_AUTH_STORE", "file"),
            ],
        ] {
            let store = from_vars(vars).unwrap();
            assert!(!store.uses_keyring(), "{vars:?}");
            assert_eq!(store.dir(), Path::new("/cfg"));
        }
        let store = from_vars(&[("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/home/u")]).unwrap();
        assert_eq!(store.dir(), Path::new("/xdg/jira-auth"));
        let store = from_vars(&[("HOME", "/home/u")]).unwrap();
        assert_eq!(store.dir(), Path::new("/home/u/.config/jira-auth"));
        assert!(matches!(from_vars(&[]), Err(StoreError::NoConfigDir)));

        let err = from_vars(&[("HOME", "/home/u"), ("JIRA_AUTH_STORE", "vault")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`JIRA_AUTH_STORE` is `vault`: set it to `file` (the default), `keyring` or `auto`"
        );
        assert_eq!(err.category(), Category::Usage);
    }

    #[cfg(not(feature = "keyring"))]
    #[test]
    fn keyring_without_the_feature_is_a_usage_error() {
        let err = from_vars(&[("HOME", "/home/u"), ("JIRA_AUTH_STORE", "keyring")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`JIRA_AUTH_STORE=keyring` asks for the OS keyring, but this jira-auth was built without it: rebuild with `--features keyring` (`cargo install --path crates/jira-auth --features keyring`) or unset `JIRA_AUTH_STORE`"
        );
        assert_eq!(err.category(), Category::Usage);
    }

    #[test]
    fn a_file_save_supersedes_a_keyring_marker() {
        // A profile last saved to the keyring by a build with the feature, then saved to a file:
        // the marker goes, so the keyring backend reads the newer file.
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let n = name("default");
        let marker = tmp.path().join("profiles/default.keyring");
        let guard = store.lock(&n).unwrap();
        write_atomically(&marker, b"{}").unwrap();
        guard.save(&Profile::new()).unwrap();
        assert!(!marker.exists());
        assert!(store.profile_path(&n).exists());
        // The file backend lists files only.
        write_atomically(&tmp.path().join("profiles/other.keyring"), b"{}").unwrap();
        assert_eq!(store.list().unwrap(), vec![n]);
    }

    #[test]
    fn the_write_ahead_record_is_a_0600_file_written_into_reserved_space() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let n = name("default");
        let guard = store.lock(&n).unwrap();
        assert!(!store.has_write_ahead(&n).unwrap());
        let mut reserved = guard.reserve(4096, 8192).unwrap();
        let sizes: Vec<u64> = {
            let mut v: Vec<u64> = fs::read_dir(tmp.path().join("profiles"))
                .unwrap()
                .map(|e| e.unwrap())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                .map(|e| e.metadata().unwrap().len())
                .collect();
            v.sort();
            v
        };
        assert_eq!(sizes, [4096, 8192], "the space is held on disk");
        let mut halves = 0;
        guard
            .write_ahead(b"{\"record\":1}\n", &mut reserved, || halves += 1)
            .unwrap();
        assert_eq!(halves, 1);
        let pending = tmp.path().join("profiles/default.pending");
        assert_eq!(fs::read(&pending).unwrap(), b"{\"record\":1}\n");
        assert_eq!(mode(&pending), 0o600);
        assert!(store.has_write_ahead(&n).unwrap());
        assert_eq!(
            guard.write_ahead_location(),
            format!("`{}`", pending.display())
        );
        guard.save_reserved(&Profile::new(), &mut reserved).unwrap();
        assert_eq!(
            fs::read_to_string(guard.path()).unwrap(),
            "{\n  \"version\": 1\n}\n"
        );
        // Both slots are used: a further write is an ordinary one.
        guard.save_reserved(&Profile::new(), &mut reserved).unwrap();
        assert!(guard.remove_write_ahead().unwrap());
        assert!(!guard.remove_write_ahead().unwrap());
        let mut names: Vec<String> = fs::read_dir(tmp.path().join("profiles"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["default.json", "default.lock"]);
    }

    #[test]
    fn an_unused_reservation_leaves_no_file_and_a_sweep_removes_a_killed_writers_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let n = name("default");
        let guard = store.lock(&n).unwrap();
        drop(guard.reserve(100, 100).unwrap());
        let dir = tmp.path().join("profiles");
        let count = || fs::read_dir(&dir).unwrap().count();
        assert_eq!(count(), 1, "only the lock");
        for stray in [
            ".default.json.0123456789ab.tmp",
            ".default.pending.0123456789ab.tmp",
        ] {
            fs::write(dir.join(stray), "{\"half").unwrap();
        }
        fs::write(dir.join(".other.json.0123456789ab.tmp"), "x").unwrap();
        guard.sweep_temp_files();
        assert_eq!(count(), 2, "the lock and the other profile's file");
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Counter {
        n: u32,
    }

    impl Section for Counter {
        const NAME: &'static str = "counter";
    }

    #[test]
    fn typed_sections_keep_the_others_and_the_last_removal_deletes_the_profile() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let n = name("default");
        assert_eq!(store.load_section::<Counter>(&n).unwrap(), None);
        let guard = store.lock(&n).unwrap();
        assert_eq!(guard.remove_section::<Counter>().unwrap(), Removed::Nothing);
        guard.save_section(&Counter { n: 1 }).unwrap();
        let mut p = guard.load().unwrap().unwrap();
        p.set_section("other", &serde_json::json!({"x": 1}))
            .unwrap();
        guard.save(&p).unwrap();
        guard.save_section(&Counter { n: 2 }).unwrap();
        assert_eq!(
            store.load_section::<Counter>(&n).unwrap(),
            Some(Counter { n: 2 })
        );
        assert_eq!(
            fs::read_to_string(guard.path()).unwrap(),
            "{\n  \"version\": 1,\n  \"counter\": {\n    \"n\": 2\n  },\n  \"other\": {\n    \"x\": 1\n  }\n}\n"
        );
        assert_eq!(
            guard.remove_section::<Counter>().unwrap(),
            Removed::Section(Counter { n: 2 })
        );
        assert!(guard.path().exists(), "`other` is still in it");
        // An unreadable section is removed all the same, and the empty profile with it.
        let mut p = guard.load().unwrap().unwrap();
        p.remove_section("other");
        p.set_section("counter", &"not a counter").unwrap();
        guard.save(&p).unwrap();
        assert!(matches!(
            guard.load_section::<Counter>(),
            Err(StoreError::Section { .. })
        ));
        assert_eq!(
            guard.remove_section::<Counter>().unwrap(),
            Removed::Unreadable
        );
        assert!(!guard.path().exists());
    }

    #[test]
    fn location_names_the_profile_file() {
        let store = Store::at("/cfg");
        assert_eq!(store.location(&name("prod")), "`/cfg/profiles/prod.json`");
    }

    #[test]
    fn list_and_delete() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        assert!(store.list().unwrap().is_empty());
        for n in ["b", "a"] {
            store.lock(&name(n)).unwrap().save(&Profile::new()).unwrap();
        }
        assert_eq!(store.list().unwrap(), vec![name("a"), name("b")]);
        assert!(store.lock(&name("a")).unwrap().delete().unwrap());
        assert!(!store.lock(&name("a")).unwrap().delete().unwrap());
        assert_eq!(store.list().unwrap(), vec![name("b")]);
    }
}
