//! The filesystem primitives of the store, in one place: private directories and files, atomic
//! replacement, temporary-file naming and sweeping, and space reserved ahead of a write.
//!
//! Temporary files are `.<file>.<12 hex>.tmp` beside the file they will replace, so a process
//! killed mid-write leaves a name that [`sweep_temp_files`] recognises and nothing else matches.

use super::{Result, StoreError};
use crate::fault;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

pub(super) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix,
/// and a crash at any point leaves one of the two. The file is 0600.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, bytes, || {})
}

/// [`write_atomically`], calling `midway` once half the bytes are in the temporary file (crash
/// tests use it to stop the process inside a write).
pub fn write_atomically_with(path: &Path, bytes: &[u8], midway: impl FnOnce()) -> Result<()> {
    Reservation::new(path, 0)?.commit_with(bytes, midway)
}

/// Disk space held for one atomic replacement of a file: a temporary file beside it, already
/// written to its full size and synced, so that writing the real content later needs no new
/// space (on filesystems that overwrite in place: ext4, XFS, tmpfs; copy-on-write filesystems
/// such as btrfs and ZFS may still need some). Dropped without [`Reservation::commit`], the
/// temporary file is removed.
#[derive(Debug)]
pub struct Reservation {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    size: usize,
}

impl Reservation {
    /// Holds `size` bytes for a later replacement of `target` (`0`: just the temporary file).
    pub(super) fn new(target: &Path, size: usize) -> Result<Self> {
        let dir = target.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let tmp = temp_path(target);
        let file = open_private(&tmp, true)?;
        let mut reservation = Self {
            target: target.to_owned(),
            tmp,
            file: Some(file),
            size: 0,
        };
        if size > 0 {
            let filler = vec![b' '; size];
            let file = reservation.file_mut();
            let written = if fault::disk_full() {
                Err(fault::no_space())
            } else {
                file.write_all(&filler).and_then(|()| file.sync_all())
            };
            written.map_err(io_err("reserving space for", target))?;
            reservation.size = size;
        }
        Ok(reservation)
    }

    /// How many bytes are held.
    pub fn size(&self) -> usize {
        self.size
    }

    #[allow(clippy::expect_used)]
    fn file_mut(&mut self) -> &mut File {
        self.file.as_mut().expect("present until commit or drop")
    }

    /// Writes `bytes` into the held space, syncs, renames over the target, syncs the directory.
    /// Calls `midway` once half the bytes are written.
    pub(super) fn commit_with(mut self, bytes: &[u8], midway: impl FnOnce()) -> Result<()> {
        let tmp = self.tmp.clone();
        let target = self.target.clone();
        let size = self.size;
        let file = self.file_mut();
        let (first, rest) = bytes.split_at(bytes.len() / 2);
        file.rewind().map_err(io_err("writing", &tmp))?;
        file.write_all(first).map_err(io_err("writing", &tmp))?;
        file.flush().map_err(io_err("writing", &tmp))?;
        midway();
        if bytes.len() > size && fault::disk_full() {
            return Err(io_err("writing", &tmp)(fault::no_space()));
        }
        file.write_all(rest).map_err(io_err("writing", &tmp))?;
        file.set_len(bytes.len() as u64)
            .map_err(io_err("writing", &tmp))?;
        file.sync_all().map_err(io_err("syncing", &tmp))?;
        self.file = None;
        fs::rename(&tmp, &target).map_err(io_err("renaming into place", &target))?;
        sync_dir(target.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// `.<file>.<12 hex>.tmp` beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    dir.join(format!(".{file_name}.{}.tmp", crate::random::hex_token(6)))
}

/// Whether `name` is `.{file}.{12 hex}.tmp`, a temporary file of `file`.
pub fn is_temp_of(name: &str, file: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_prefix(file))
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(".tmp"))
        .is_some_and(|hex| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the temporary files of `files` (names in `dir`). Call only while nobody can be
/// writing them (under the profile lock): any that exist were left by a killed process.
pub(super) fn sweep_temp_files(dir: &Path, files: &[&Path]) {
    let names: Vec<&str> = files
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
        .collect();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(std::result::Result::ok) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if names.iter().any(|file| is_temp_of(name, file)) {
            match fs::remove_file(entry.path()) {
                Ok(()) => tracing::debug!("removed the stray temporary file `{name}`"),
                Err(e) => tracing::debug!("cannot remove `{name}`: {e}"),
            }
        }
    }
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

pub(super) fn open_private(path: &Path, create_new: bool) -> Result<File> {
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

/// Reads `path` if it exists, refusing a file readable by group or others.
pub(super) fn read_private(path: &Path) -> Result<Option<Vec<u8>>> {
    match read_private_file(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(PrivateFileError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(PrivateFileError::Io(e)) => Err(io_err("reading", path)(e)),
        Err(PrivateFileError::Exposed { mode }) => Err(StoreError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        }),
    }
}

/// Why a file that must stay private (a profile, a private key) cannot be used. Each caller
/// words its own message around it.
#[derive(Debug, thiserror::Error)]
pub enum PrivateFileError {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Group or others may access the file (any bit of `0o077`); `mode` is its `0o777` part.
    #[error("it is accessible to group or others (mode {mode:o})")]
    Exposed { mode: u32 },
}

/// Reads a file that must stay private, refusing it (on Unix) when group or others may access
/// it, as ssh refuses such a key. The mode checked is that of the file opened, not of a path
/// that could be swapped after the check, and it is checked before a byte is read.
pub fn read_private_file(path: &Path) -> std::result::Result<Vec<u8>, PrivateFileError> {
    let mut file = File::open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(PrivateFileError::Exposed { mode });
        }
    }
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

/// Removes `path` and syncs its directory. Returns whether there was a file.
pub(super) fn remove_if_present(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            sync_dir(path.parent().unwrap_or(Path::new(".")))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("removing", path)(e)),
    }
}

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing directory", dir))?;
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_reservation_holds_its_size_on_disk_and_commits_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.pending");
        let r = Reservation::new(&target, 4096).unwrap();
        assert_eq!(r.size(), 4096);
        let tmp = names(dir.path());
        assert_eq!(tmp.len(), 1);
        assert!(is_temp_of(&tmp[0], "a.pending"), "{tmp:?}");
        assert_eq!(fs::metadata(dir.path().join(&tmp[0])).unwrap().len(), 4096);
        r.commit_with(b"{\"x\":1}\n", || {}).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{\"x\":1}\n");
        assert_eq!(names(dir.path()), ["a.pending"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_open_to_group_or_others_is_refused_before_it_is_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        fs::write(&key, "-----BEGIN PRIVATE KEY-----\n").unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620, 0o660, 0o602, 0o601, 0o610] {
            fs::set_permissions(&key, fs::Permissions::from_mode(mode)).unwrap();
            let err = read_private_file(&key).unwrap_err();
            assert!(
                matches!(err, PrivateFileError::Exposed { mode: m } if m == mode),
                "{mode:o}: {err}"
            );
            assert_eq!(
                err.to_string(),
                format!("it is accessible to group or others (mode {mode:o})")
            );
        }
        for mode in [0o600, 0o400] {
            fs::set_permissions(&key, fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(
                read_private_file(&key).unwrap(),
                b"-----BEGIN PRIVATE KEY-----\n",
                "{mode:o}"
            );
        }
        assert!(matches!(
            read_private_file(&dir.path().join("missing.pem")),
            Err(PrivateFileError::Io(e)) if e.kind() == io::ErrorKind::NotFound
        ));
    }

    #[test]
    fn a_dropped_reservation_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        drop(Reservation::new(&dir.path().join("a.json"), 100).unwrap());
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn temp_names_are_matched_exactly_and_swept_for_the_named_files_only() {
        assert!(is_temp_of(".a.json.0123456789ab.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.json.0123456789ab.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.0123456789a.tmp", "a.json"));
        assert!(!is_temp_of("a.json.0123456789ab.tmp", "a.json"));
        assert!(!is_temp_of(".a.json.0123456789ag.tmp", "a.json"));
        let dir = tempfile::tempdir().unwrap();
        for n in [
            ".a.json.0123456789ab.tmp",
            ".a.pending.abcdef012345.tmp",
            ".b.json.0123456789ab.tmp",
            "a.json",
        ] {
            fs::write(dir.path().join(n), "x").unwrap();
        }
        sweep_temp_files(
            dir.path(),
            &[&dir.path().join("a.json"), &dir.path().join("a.pending")],
        );
        assert_eq!(names(dir.path()), [".b.json.0123456789ab.tmp", "a.json"]);
    }
}
