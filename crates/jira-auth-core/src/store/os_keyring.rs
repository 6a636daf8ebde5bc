//! The OS keyring as the home of profile documents (cargo feature `keyring`).
//!
//! With `JIRA_AUTH_STORE=keyring` the whole profile JSON document is the secret of the keyring
//! entry (service [`SERVICE`], user `<profile name>`), and a write-ahead record of a token
//! rotation is the secret of the entry of service [`WRITE_AHEAD_SERVICE`], same user. The
//! keyrings: the Secret Service over D-Bus (zbus, no C library) on Linux and the BSDs, the
//! Keychain on macOS, the Credential Manager on Windows.
//!
//! What stays on disk, none of it secret:
//! - `profiles/<name>.lock`, the advisory lock: read-modify-write is serialised exactly as with
//!   files;
//! - `profiles/<name>.keyring`, a 0600 marker that says the profile lives in the keyring, so that
//!   [`Store::list`](super::Store::list) still finds it (keyrings cannot be listed portably).
//!
//! A `profiles/<name>.json` left by the file backend is still read until the next save, which
//! moves it into the keyring and removes the file. A save by the file backend removes the marker,
//! so the newest document always wins whichever backend wrote it.

use super::backend::{self, Backend, Place};
use super::fs::{self, Reservation};
use super::{Profile, ProfileName, Result, StoreError, WRITE_AHEAD_SERVICE};
use keyring_core::{CredentialStore, Entry, Error};
use std::sync::Arc;

/// The keyring service name of every jira-auth profile entry.
pub const SERVICE: &str = super::KEYRING_SERVICE;

/// A handle on a keyring-core credential store (the platform's, or a test double).
#[derive(Clone)]
pub(super) struct Keyring {
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("service", &SERVICE)
            .field("vendor", &self.store.vendor())
            .finish()
    }
}

impl Keyring {
    pub(super) fn new(store: Arc<CredentialStore>) -> Self {
        Self { store }
    }

    fn entry(&self, service: &str, name: &ProfileName) -> Result<Entry> {
        Entry::new_in_store(&self.store, service, name.as_str())
            .map_err(|e| keyring_err("opening", name, &e))
    }

    /// The stored secret, `None` when the keyring has no entry for `name`.
    fn read_entry(&self, service: &str, name: &ProfileName) -> Result<Option<Vec<u8>>> {
        match self.entry(service, name)?.get_secret() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_err("reading", name, &e)),
        }
    }

    fn write_entry(&self, service: &str, name: &ProfileName, bytes: &[u8]) -> Result<()> {
        self.entry(service, name)?
            .set_secret(bytes)
            .map_err(|e| keyring_err("writing", name, &e))
    }

    /// Removes the entry. Returns whether there was one.
    fn remove_entry(&self, service: &str, name: &ProfileName) -> Result<bool> {
        match self.entry(service, name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_err("removing", name, &e)),
        }
    }

    /// Parses a document read from the keyring with the same checks as a profile file.
    fn parse(name: &ProfileName, bytes: &[u8]) -> Result<Profile> {
        let text = std::str::from_utf8(bytes).map_err(|_| StoreError::KeyringCorrupt {
            profile: name.to_string(),
            message: "not UTF-8".to_owned(),
        })?;
        super::parse_profile(text).map_err(|problem| match problem {
            super::Problem::TooNew(found) => StoreError::KeyringTooNew {
                profile: name.to_string(),
                found,
            },
            super::Problem::Invalid(message) => StoreError::KeyringCorrupt {
                profile: name.to_string(),
                message,
            },
        })
    }
}

impl Backend for Keyring {
    fn is_keyring(&self) -> bool {
        true
    }

    fn listed_suffixes(&self) -> &'static [&'static str] {
        &[".json", ".keyring"]
    }

    fn load(&self, at: &Place) -> Result<Option<Profile>> {
        if at.marker().exists()
            && let Some(bytes) = self.read_entry(SERVICE, &at.name)?
        {
            return Self::parse(&at.name, &bytes).map(Some);
        }
        backend::read_profile(&at.json)
    }

    fn save(&self, at: &Place, bytes: &[u8], _slot: Option<Reservation>) -> Result<()> {
        let marker = at.marker();
        if !marker.exists() {
            // A leftover entry is older than the file (a file save removes the marker).
            self.remove_entry(SERVICE, &at.name)?;
            fs::write_atomically(&marker, &marker_document(&at.name))?;
        }
        // A crash from here on leaves the marker and the old entry or none: readers then fall
        // back to the old file, if any. Never a mix.
        self.write_entry(SERVICE, &at.name, bytes)?;
        fs::remove_if_present(&at.json)?;
        Ok(())
    }

    fn delete(&self, at: &Place) -> Result<bool> {
        let entry = self.remove_entry(SERVICE, &at.name)?;
        let marker = fs::remove_if_present(&at.marker())?;
        let file = fs::remove_if_present(&at.json)?;
        Ok(entry || marker || file)
    }

    fn writes_documents_to_disk(&self) -> bool {
        false
    }

    /// The keyring's record, else one a file-backed run left on disk.
    fn read_write_ahead(&self, at: &Place) -> Result<Option<Vec<u8>>> {
        match self.read_entry(WRITE_AHEAD_SERVICE, &at.name)? {
            Some(bytes) => Ok(Some(bytes)),
            None => fs::read_private(&at.pending()),
        }
    }

    fn write_write_ahead(
        &self,
        at: &Place,
        bytes: &[u8],
        _slot: Option<Reservation>,
        midway: &mut dyn FnMut(),
    ) -> Result<()> {
        midway();
        self.write_entry(WRITE_AHEAD_SERVICE, &at.name, bytes)
    }

    fn remove_write_ahead(&self, at: &Place) -> Result<bool> {
        let entry = self.remove_entry(WRITE_AHEAD_SERVICE, &at.name)?;
        let file = fs::remove_if_present(&at.pending())?;
        Ok(entry || file)
    }

    fn write_ahead_location(&self, at: &Place) -> String {
        format!(
            "the OS keyring, service `{WRITE_AHEAD_SERVICE}`, user `{}`",
            at.name
        )
    }
}

/// The content of `profiles/<name>.keyring`: where the document is, never the document.
pub(super) fn marker_document(name: &ProfileName) -> Vec<u8> {
    format!(
        "{{\"version\":1,\"store\":\"keyring\",\"service\":\"{SERVICE}\",\"user\":\"{name}\"}}\n"
    )
    .into_bytes()
}

/// Only the error's `Display` is kept: its `Debug` may hold the secret's bytes, and so may the
/// entries that `Ambiguous` shows.
fn keyring_err(action: &'static str, name: &ProfileName, e: &Error) -> StoreError {
    let (message, hint) = match e {
        Error::Ambiguous(entries) => (
            format!(
                "{} entries match service `{SERVICE}`, user `{name}`",
                entries.len()
            ),
            "remove all but one with your keyring manager",
        ),
        e => (
            e.to_string(),
            "unlock the keyring and retry, or set `JIRA_AUTH_STORE=file`",
        ),
    };
    StoreError::Keyring {
        action,
        profile: name.to_string(),
        message,
        hint,
    }
}

/// The platform's keyring (initialised once per process), or why there is none.
pub(super) fn open_platform() -> std::result::Result<Keyring, String> {
    if let Err(e) = ::keyring::Entry::store_status() {
        return Err(e.to_string());
    }
    keyring_core::get_default_store()
        .map(Keyring::new)
        .ok_or_else(|| Error::NoDefaultStore.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreError};
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::sync::Mutex;

    const SECRET: &str = "rt-SECRET-refresh-0123456789";

    fn name(n: &str) -> ProfileName {
        ProfileName::new(n).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn profile_with_secret() -> Profile {
        let mut p = Profile::new();
        p.set_section("cloud", &serde_json::json!({ "refresh_token": SECRET }))
            .unwrap();
        p
    }

    const DOCUMENT: &str = "{\n  \"version\": 1,\n  \"cloud\": {\n    \"refresh_token\": \"rt-SECRET-refresh-0123456789\"\n  }\n}\n";

    /// Every file under `dir` with its bytes, sorted by path.
    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(dir).unwrap().display().to_string();
                    out.push((rel, fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    fn mock_store() -> Arc<CredentialStore> {
        keyring_core::mock::Store::new().unwrap()
    }

    fn secret_in(keyring: &Arc<CredentialStore>, user: &str) -> keyring_core::Result<Vec<u8>> {
        Entry::new_in_store(keyring, SERVICE, user)
            .unwrap()
            .get_secret()
    }

    #[test]
    fn round_trip_goes_to_the_keyring_and_writes_no_secret_to_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let keyring = mock_store();
        let store = Store::at(tmp.path().join("cfg")).with_keyring(keyring.clone());
        assert!(store.uses_keyring());
        let n = name("default");

        let guard = store.lock(&n).unwrap();
        assert_eq!(guard.load().unwrap(), None);
        guard.save(&profile_with_secret()).unwrap();
        drop(guard);

        // The whole document is the entry's secret, byte for byte what the file would hold.
        assert_eq!(secret_in(&keyring, "default").unwrap(), DOCUMENT.as_bytes());
        // On disk: the lock and the marker, nothing else, no secret.
        let on_disk = files(tmp.path());
        let names: Vec<&str> = on_disk.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            ["cfg/profiles/default.keyring", "cfg/profiles/default.lock"]
        );
        assert_eq!(
            String::from_utf8(on_disk[0].1.clone()).unwrap(),
            "{\"version\":1,\"store\":\"keyring\",\"service\":\"jira-auth\",\"user\":\"default\"}\n"
        );
        assert!(
            on_disk
                .iter()
                .all(|(_, bytes)| { !String::from_utf8_lossy(bytes).contains("SECRET") })
        );
        assert_eq!(
            mode(&tmp.path().join("cfg/profiles/default.keyring")),
            0o600
        );
        assert!(!store.profile_path(&n).exists());

        // Both readers see it; list finds it through the marker.
        assert_eq!(store.load(&n).unwrap(), Some(profile_with_secret()));
        assert_eq!(
            store.lock(&n).unwrap().load().unwrap(),
            Some(profile_with_secret())
        );
        store
            .lock(&name("b"))
            .unwrap()
            .save(&Profile::new())
            .unwrap();
        assert_eq!(store.list().unwrap(), vec![name("b"), n.clone()]);

        // Delete removes the entry and the marker.
        assert!(store.lock(&n).unwrap().delete().unwrap());
        assert!(matches!(
            secret_in(&keyring, "default"),
            Err(Error::NoEntry)
        ));
        assert!(!tmp.path().join("cfg/profiles/default.keyring").exists());
        assert_eq!(store.load(&n).unwrap(), None);
        assert!(!store.lock(&n).unwrap().delete().unwrap());
        assert_eq!(store.list().unwrap(), vec![name("b")]);
    }

    #[test]
    fn a_profile_file_moves_into_the_keyring_and_the_newest_document_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let files_store = Store::at(tmp.path());
        let keyring = mock_store();
        let keyring_store = Store::at(tmp.path()).with_keyring(keyring.clone());
        let n = name("default");
        let with = |v: u32| {
            let mut p = Profile::new();
            p.set_section("cloud", &v).unwrap();
            p
        };

        // A file written before the switch is read, listed, then moved by the next save.
        files_store.lock(&n).unwrap().save(&with(1)).unwrap();
        assert_eq!(keyring_store.load(&n).unwrap(), Some(with(1)));
        assert_eq!(keyring_store.list().unwrap(), vec![n.clone()]);
        keyring_store.lock(&n).unwrap().save(&with(2)).unwrap();
        assert!(!files_store.profile_path(&n).exists());
        assert_eq!(keyring_store.load(&n).unwrap(), Some(with(2)));
        // The file backend does not see the keyring.
        assert_eq!(files_store.load(&n).unwrap(), None);

        // A save through the file backend is newer than the entry: it wins, and the next
        // keyring save replaces the stale entry.
        files_store.lock(&n).unwrap().save(&with(3)).unwrap();
        assert!(!tmp.path().join("profiles/default.keyring").exists());
        assert_eq!(keyring_store.load(&n).unwrap(), Some(with(3)));
        keyring_store.lock(&n).unwrap().save(&with(4)).unwrap();
        assert_eq!(keyring_store.load(&n).unwrap(), Some(with(4)));
        assert!(!files_store.profile_path(&n).exists());
    }

    #[test]
    fn lock_still_serialises_read_modify_write() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path()).with_keyring(mock_store());
        crate::store::tests::assert_lock_serialises_read_modify_write(&store);
    }

    #[test]
    fn keyring_failures_and_bad_entries_are_reported_without_the_secret() {
        let tmp = tempfile::tempdir().unwrap();
        let keyring = mock_store();
        let store = Store::at(tmp.path()).with_keyring(keyring.clone());
        let n = name("default");
        store
            .lock(&n)
            .unwrap()
            .save(&profile_with_secret())
            .unwrap();

        let entry = Entry::new_in_store(&keyring, SERVICE, "default").unwrap();
        let mock: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        mock.set_error(Error::NoStorageAccess("the collection is locked".into()));
        let err = store.load(&n).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reading profile `default` in the OS keyring failed: Couldn't access platform storage: the collection is locked: unlock the keyring and retry, or set `JIRA_AUTH_STORE=file`"
        );

        let twin = mock_store();
        let twins = vec![
            Entry::new_in_store(&keyring, SERVICE, "default").unwrap(),
            Entry::new_in_store(&twin, SERVICE, "default").unwrap(),
        ];
        twins[1].set_secret(SECRET.as_bytes()).unwrap();
        mock.set_error(Error::Ambiguous(twins));
        let err = store.load(&n).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reading profile `default` in the OS keyring failed: 2 entries match service `jira-auth`, user `default`: remove all but one with your keyring manager"
        );
        assert!(!format!("{err:?}").contains("SECRET"), "{err:?}");

        mock.set_error(Error::PlatformFailure("prompt dismissed".into()));
        let err = store.lock(&n).unwrap().save(&Profile::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "writing profile `default` in the OS keyring failed: Platform failure: prompt dismissed: unlock the keyring and retry, or set `JIRA_AUTH_STORE=file`"
        );
        // The failed write left the stored document as it was.
        assert_eq!(store.load(&n).unwrap(), Some(profile_with_secret()));

        entry
            .set_secret(b"{\"version\": 1, \"cloud\": {tru")
            .unwrap();
        let err = store.load(&n).unwrap_err();
        assert!(matches!(err, StoreError::KeyringCorrupt { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "the OS keyring entry of profile `default` (service `jira-auth`) is not a valid jira-auth profile (key must be a string at line 1 column 26); it was left untouched: remove it with your keyring manager, then log in again"
        );
        assert_eq!(
            entry.get_secret().unwrap(),
            b"{\"version\": 1, \"cloud\": {tru"
        );

        entry.set_secret(b"{\"version\": 99}").unwrap();
        assert_eq!(
            store.load(&n).unwrap_err().to_string(),
            "profile `default` in the OS keyring was written by a newer jira-auth (format 99, this build reads 1); upgrade jira-auth"
        );
    }

    /// Collects what `tracing` logs, as the CLI's plain format prints it.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
        type Writer = Logs;
        fn make_writer(&'a self) -> Logs {
            self.clone()
        }
    }

    impl Logs {
        fn capture<T>(&self, f: impl FnOnce() -> T) -> T {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(self.clone())
                .with_ansi(false)
                .with_target(false)
                .without_time()
                .finish();
            tracing::subscriber::with_default(subscriber, f)
        }

        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn platform(keyring: Arc<CredentialStore>) -> std::result::Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(Keyring::new(keyring)))
    }

    fn no_platform(reason: &str) -> std::result::Result<Arc<dyn Backend>, String> {
        Err(reason.to_owned())
    }

    #[test]
    fn an_unreachable_keyring_asked_for_is_an_error_and_auto_falls_back_with_one_warning() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("cfg");
        let vars = |backend: &'static str| {
            let cfg = cfg.clone();
            move |k: &str| match k {
                "JIRA_AUTH_CONFIG_DIR" => Some(cfg.clone().into_os_string()),
                "JIRA_AUTH_STORE" => Some(backend.into()),
                _ => None,
            }
        };
        let logs = Logs::default();
        let err = logs
            .capture(|| {
                Store::from_vars(vars("keyring"), || {
                    no_platform("Platform failure: no D-Bus session bus")
                })
            })
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`JIRA_AUTH_STORE=keyring` asks for the OS keyring, but none is reachable (Platform failure: no D-Bus session bus): start a Secret Service (GNOME Keyring, KeePassXC) and a D-Bus session, or set `JIRA_AUTH_STORE=auto` to keep profiles in files under `{}/profiles` when there is no keyring",
                cfg.display()
            )
        );
        assert_eq!(
            crate::Categorize::category(&err),
            crate::Category::Usage,
            "exit 2"
        );
        assert_eq!(logs.text(), "", "an error, not a warning");
        assert!(!cfg.exists(), "nothing written");

        let store = logs
            .capture(|| {
                Store::from_vars(vars("auto"), || {
                    no_platform("Platform failure: no D-Bus session bus")
                })
            })
            .unwrap();
        assert_eq!(
            logs.text(),
            format!(
                " WARN `JIRA_AUTH_STORE=auto` found no OS keyring (Platform failure: no D-Bus session bus); keeping profiles in files under `{}/profiles`: start a Secret Service (GNOME Keyring, KeePassXC) and a D-Bus session, or set `JIRA_AUTH_STORE=file` to silence this\n",
                cfg.display()
            )
        );
        assert!(!store.uses_keyring());
        // Opening the store again (as `cloud serve` does) does not repeat the warning.
        let again = logs
            .capture(|| Store::from_vars(vars("auto"), || no_platform("still none")))
            .unwrap();
        assert!(!again.uses_keyring());
        let n = name("default");
        logs.capture(|| store.lock(&n).unwrap().save(&profile_with_secret()))
            .unwrap();
        let path = cfg.join("profiles/default.json");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read_to_string(&path).unwrap(), DOCUMENT);
        assert!(!cfg.join("profiles/default.keyring").exists());
        // One warning per process; using the store logs nothing more.
        assert_eq!(logs.text().lines().count(), 1);
    }

    #[test]
    fn a_reachable_keyring_is_selected_by_keyring_and_by_auto() {
        let tmp = tempfile::tempdir().unwrap();
        for backend in ["keyring", "auto"] {
            let vars = |k: &str| match k {
                "JIRA_AUTH_CONFIG_DIR" => Some(tmp.path().as_os_str().to_owned()),
                "JIRA_AUTH_STORE" => Some(backend.into()),
                _ => None,
            };
            let logs = Logs::default();
            let store = logs
                .capture(|| Store::from_vars(vars, || platform(mock_store())))
                .unwrap();
            assert!(store.uses_keyring(), "{backend}");
            assert_eq!(store.dir(), tmp.path());
            assert_eq!(logs.text(), "");
        }
    }

    #[test]
    fn the_write_ahead_record_lives_in_the_keyring_and_nothing_of_it_on_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let keyring = mock_store();
        let store = Store::at(tmp.path()).with_keyring(keyring.clone());
        let n = name("default");
        let guard = store.lock(&n).unwrap();
        guard.save(&profile_with_secret()).unwrap();
        let mut reserved = guard.reserve(10_000, 10_000).unwrap();
        let record = format!("{{\"replaces\":\"{SECRET}\"}}\n");
        let mut midway = 0;
        guard
            .write_ahead(record.as_bytes(), &mut reserved, || midway += 1)
            .unwrap();
        assert_eq!(midway, 1);
        assert_eq!(
            Entry::new_in_store(&keyring, WRITE_AHEAD_SERVICE, "default")
                .unwrap()
                .get_secret()
                .unwrap(),
            record.as_bytes()
        );
        assert!(store.has_write_ahead(&n).unwrap());
        assert_eq!(
            guard.read_write_ahead().unwrap().as_deref(),
            Some(record.as_bytes())
        );
        assert_eq!(
            guard.write_ahead_location(),
            "the OS keyring, service `jira-auth.write-ahead`, user `default`"
        );
        guard.save_reserved(&Profile::new(), &mut reserved).unwrap();
        let names: Vec<String> = files(tmp.path()).into_iter().map(|(p, _)| p).collect();
        assert_eq!(names, ["profiles/default.keyring", "profiles/default.lock"]);
        assert!(guard.remove_write_ahead().unwrap());
        assert!(!guard.remove_write_ahead().unwrap());
        assert!(!store.has_write_ahead(&n).unwrap());
    }

    fn open_keyring_for_test() -> std::result::Result<Arc<dyn Backend>, String> {
        open_platform().map(|k| Arc::new(k) as Arc<dyn Backend>)
    }

    /// Set in the child process of the test below.
    const CHILD_ENV: &str = "JIRA_AUTH_TEST_KEYRING_CHILD";

    /// The real platform store (zbus Secret Service) with `DBUS_SESSION_BUS_ADDRESS` pointing at
    /// a socket that does not exist: run in a child process, as the keyring is chosen once per
    /// process and this crate may not change its own environment.
    #[cfg(target_os = "linux")]
    #[test]
    fn without_a_session_bus_the_platform_keyring_is_an_error_and_auto_falls_back_to_files() {
        if let Some(cfg) = std::env::var_os(CHILD_ENV) {
            assert!(matches!(
                Store::from_vars(
                    |k| (k == "JIRA_AUTH_STORE")
                        .then(|| "keyring".into())
                        .or_else(|| std::env::var_os(k)),
                    open_keyring_for_test
                ),
                Err(StoreError::KeyringUnavailable { .. })
            ));
            let logs = Logs::default();
            let store = logs.capture(Store::from_env).unwrap();
            assert!(!store.uses_keyring());
            assert_eq!(store.dir(), Path::new(&cfg));
            store
                .lock(&name("default"))
                .unwrap()
                .save(&profile_with_secret())
                .unwrap();
            // One warning, nothing else logged.
            assert_eq!(logs.text().lines().count(), 1);
            println!("child log: {}", logs.text());
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("cfg");
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::os_keyring::tests::without_a_session_bus_the_platform_keyring_is_an_error_and_auto_falls_back_to_files",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &cfg)
            .env("JIRA_AUTH_CONFIG_DIR", &cfg)
            .env("JIRA_AUTH_STORE", "auto")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}/no-bus", tmp.path().display()),
            )
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
        // libtest may print the test's name on the same line first.
        let log = stdout
            .lines()
            .find_map(|l| l.split_once("child log: ").map(|(_, log)| log))
            .unwrap_or_default();
        let tmp = tmp.path().display();
        assert_eq!(
            log,
            format!(
                " WARN `JIRA_AUTH_STORE=auto` found no OS keyring (Platform failure: zbus error: Failed to connect to address `unix:path={tmp}/no-bus`: No such file or directory (os error 2)); keeping profiles in files under `{tmp}/cfg/profiles`: start a Secret Service (GNOME Keyring, KeePassXC) and a D-Bus session, or set `JIRA_AUTH_STORE=file` to silence this"
            )
        );
        let path = cfg.join("profiles/default.json");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read_to_string(&path).unwrap(), DOCUMENT);
    }
}
