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
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The profile file format version written by this build.
pub const PROFILE_VERSION: u32 = 1;

/// The environment variable that overrides the config directory.
pub const CONFIG_DIR_ENV: &str = "JIRA_AUTH_CONFIG_DIR";

/// The environment variable that chooses where profile documents live: `file` or `keyring`.
pub const BACKEND_ENV: &str = "JIRA_AUTH_STORE";

#[cfg(feature = "keyring")]
mod os_keyring;
#[cfg(feature = "keyring")]
pub use os_keyring::SERVICE as KEYRING_SERVICE;

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
    #[error("`JIRA_AUTH_STORE` is `{0}`: set it to `file` (the default) or `keyring`")]
    UnknownBackend(String),
    #[error(
        "`JIRA_AUTH_STORE=keyring` asks for the OS keyring, but this jira-auth was built without it: rebuild with `--features keyring` (`cargo install --path crates/jira-auth --features keyring`) or unset `JIRA_AUTH_STORE`"
    )]
    KeyringNotCompiled,
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

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

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
    backend: Backend,
}

/// Where profile documents live.
#[derive(Debug, Clone)]
enum Backend {
    File,
    #[cfg(feature = "keyring")]
    Keyring(os_keyring::Keyring),
}

impl Store {
    /// A file-backed store rooted at `dir` (created on first write).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            backend: Backend::File,
        }
    }

    /// The same store with its documents in `keyring` (a keyring-core credential store: the
    /// platform's, or a test double), its locks and markers still under [`Store::dir`].
    #[cfg(feature = "keyring")]
    pub fn with_keyring(self, keyring: std::sync::Arc<keyring_core::CredentialStore>) -> Self {
        Self {
            backend: Backend::Keyring(os_keyring::Keyring::new(keyring)),
            ..self
        }
    }

    /// The store at `$JIRA_AUTH_CONFIG_DIR`, `$XDG_CONFIG_HOME/jira-auth` or `~/.config/jira-auth`,
    /// with the backend named by `$JIRA_AUTH_STORE` (`file` unless it says `keyring`).
    ///
    /// With `keyring` and no reachable keyring (no D-Bus session bus, as on CI machines), logs one
    /// warning and falls back to files.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(
            |k| std::env::var_os(k),
            #[cfg(feature = "keyring")]
            os_keyring::open_platform,
        )
    }

    fn from_vars(
        var: impl Fn(&str) -> Option<OsString>,
        #[cfg(feature = "keyring")] open_keyring: impl FnOnce() -> std::result::Result<
            os_keyring::Keyring,
            String,
        >,
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
        let Some(backend) = var(BACKEND_ENV) else {
            return Ok(store);
        };
        match backend.to_string_lossy().as_ref() {
            "file" => Ok(store),
            "keyring" => {
                #[cfg(feature = "keyring")]
                match open_keyring() {
                    Ok(keyring) => Ok(Self {
                        backend: Backend::Keyring(keyring),
                        ..store
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
                #[cfg(not(feature = "keyring"))]
                Err(StoreError::KeyringNotCompiled)
            }
            other => Err(StoreError::UnknownBackend(other.to_owned())),
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
        match self.backend {
            Backend::File => false,
            #[cfg(feature = "keyring")]
            Backend::Keyring(_) => true,
        }
    }

    fn profiles_dir(&self) -> PathBuf {
        self.dir.join("profiles")
    }

    pub fn profile_path(&self, name: &ProfileName) -> PathBuf {
        self.profiles_dir().join(format!("{name}.json"))
    }

    /// Reads a profile without taking the lock (a file is always whole, thanks to rename; a
    /// keyring entry is replaced whole).
    pub fn load(&self, name: &ProfileName) -> Result<Option<Profile>> {
        load_from(&self.backend, name, &self.profile_path(name))
    }

    /// The names of all stored profiles, sorted.
    pub fn list(&self) -> Result<Vec<ProfileName>> {
        let suffixes: &[&str] = match self.backend {
            Backend::File => &[".json"],
            #[cfg(feature = "keyring")]
            Backend::Keyring(_) => &[".json", ".keyring"],
        };
        let dir = self.profiles_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("listing", &dir)(e)),
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
        let lock_file = open_private(&lock_path, false)?;
        lock_file.lock().map_err(io_err("locking", &lock_path))?;
        Ok(ProfileGuard {
            path: self.profile_path(name),
            dir,
            name: name.clone(),
            backend: self.backend.clone(),
            _lock: lock_file,
        })
    }
}

/// Exclusive access to one profile until dropped.
#[derive(Debug)]
pub struct ProfileGuard {
    path: PathBuf,
    dir: PathBuf,
    name: ProfileName,
    backend: Backend,
    _lock: File, // the advisory lock is released when the file is closed
}

impl ProfileGuard {
    pub fn load(&self) -> Result<Option<Profile>> {
        load_from(&self.backend, &self.name, &self.path)
    }

    /// Replaces the profile atomically: with files, temp file, fsync, rename, fsync dir; with the
    /// keyring, one entry write (then the profile's old file, if any, is removed).
    pub fn save(&self, profile: &Profile) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(profile).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        let marker = marker_path(&self.path);
        match &self.backend {
            Backend::File => {
                write_atomically(&self.path, &bytes)?;
                // The file is now the newest document: the keyring backend must read it, not an
                // older keyring entry.
                remove_if_present(&marker, &self.dir)?;
                Ok(())
            }
            #[cfg(feature = "keyring")]
            Backend::Keyring(keyring) => {
                if !marker.exists() {
                    // A leftover entry is older than the file (see `Backend::File` above).
                    keyring.delete(&self.name)?;
                    write_atomically(&marker, &os_keyring::marker(&self.name))?;
                }
                // A crash from here on leaves the marker and the old entry or none: readers then
                // fall back to the old file, if any. Never a mix.
                keyring.write(&self.name, &bytes)?;
                remove_if_present(&self.path, &self.dir)?;
                Ok(())
            }
        }
    }

    /// Removes the profile (its file; with the keyring, its entry and marker too). Returns
    /// whether there was one.
    pub fn delete(&self) -> Result<bool> {
        match &self.backend {
            Backend::File => remove_if_present(&self.path, &self.dir),
            #[cfg(feature = "keyring")]
            Backend::Keyring(keyring) => {
                let entry = keyring.delete(&self.name)?;
                let marker = remove_if_present(&marker_path(&self.path), &self.dir)?;
                let file = remove_if_present(&self.path, &self.dir)?;
                Ok(entry || marker || file)
            }
        }
    }

    /// `<profiles>/<name>.json`, the profile's file (absent while it lives in the keyring).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `<profiles>/<name>.keyring` for `<profiles>/<name>.json`.
fn marker_path(json: &Path) -> PathBuf {
    json.with_extension("keyring")
}

fn load_from(backend: &Backend, name: &ProfileName, path: &Path) -> Result<Option<Profile>> {
    match backend {
        Backend::File => {
            let _ = name;
            read_profile(path)
        }
        #[cfg(feature = "keyring")]
        Backend::Keyring(keyring) => {
            if marker_path(path).exists()
                && let Some(bytes) = keyring.read(name)?
            {
                return os_keyring::Keyring::parse(name, &bytes).map(Some);
            }
            read_profile(path)
        }
    }
}

/// Removes `path` and syncs `dir`. Returns whether there was a file.
fn remove_if_present(path: &Path, dir: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("removing", path)(e)),
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

fn read_profile(path: &Path) -> Result<Option<Profile>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("reading", path)(e)),
    };
    check_private(&file, path)?;
    let text = io::read_to_string(file).map_err(io_err("reading", path))?;
    parse_profile_file(path, &text).map(Some)
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

/// The warning logged when `JIRA_AUTH_STORE=keyring` finds no keyring.
#[cfg(feature = "keyring")]
fn keyring_fallback_warning(reason: &str, store: &Store) -> String {
    format!(
        "`JIRA_AUTH_STORE=keyring` but the OS keyring is unavailable ({reason}); keeping profiles in files under `{}` instead: start a Secret Service (GNOME Keyring, KeePassXC) and a D-Bus session, or set `JIRA_AUTH_STORE=file` to silence this",
        store.profiles_dir().display()
    )
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix,
/// and a crash at any point leaves one of the two. The file is 0600.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, bytes, || {})
}

/// [`write_atomically`], calling `midway` once half the bytes are in the temporary file (crash
/// tests use it to stop the process inside a write).
pub fn write_atomically_with(path: &Path, bytes: &[u8], midway: impl FnOnce()) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{file_name}.{}.tmp", crate::random::hex_token(6)));
    let result = (|| {
        let mut file = open_private(&tmp, true)?;
        let (first, rest) = bytes.split_at(bytes.len() / 2);
        file.write_all(first).map_err(io_err("writing", &tmp))?;
        file.flush().map_err(io_err("writing", &tmp))?;
        midway();
        file.write_all(rest).map_err(io_err("writing", &tmp))?;
        file.sync_all().map_err(io_err("syncing", &tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io_err("renaming into place", path))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `dir` (and parents) with mode 0700 where it creates it.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(io_err("creating directory", dir))
}

fn open_private(path: &Path, create_new: bool) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(false);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io_err("opening", path))
}

#[cfg(unix)]
fn check_private(file: &File, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(io_err("inspecting", path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_file: &File, _path: &Path) -> Result<()> {
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing directory", dir))?;
    let _ = dir;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
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
        Store::from_vars(
            var,
            #[cfg(feature = "keyring")]
            || Err("no keyring in this test".to_owned()),
        )
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
            "`JIRA_AUTH_STORE` is `vault`: set it to `file` (the default) or `keyring`"
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
