//! The state file on disk: the lock that keeps two runs off one file, and the atomic replace
//! that keeps the previous file whole whatever happens to the write.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;

/// Why a run cannot use its `--state` file: it ends the run before anything is watched.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another run holds the file.
    #[error(
        "the state file {path} is in use by another kreflect run{pid}; stop it, or give this \
         run another --state file",
        pid = .pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    InUse {
        /// The state file.
        path: String,
        /// The other run's process, as it wrote it in the lock file.
        pid: Option<u32>,
    },
    /// The lock file cannot be created or locked (a directory that does not exist, say).
    #[error(
        "cannot lock the state file {path} (with {lock}): {error}; check the directory exists and is writable"
    )]
    Lock {
        /// The state file.
        path: String,
        /// The lock file.
        lock: String,
        /// What failed.
        error: io::Error,
    },
    /// The path names something other than a regular file (a directory, a device such as
    /// `/dev/null`, a FIFO, a socket): it is not read, nor replaced.
    #[error(
        "{path} is {what}, not a file; give --state the path of a regular file (one that does \
         not exist yet is created)"
    )]
    NotAFile {
        /// The path.
        path: String,
        /// What it is.
        what: &'static str,
    },
    /// The path cannot be looked at.
    #[error("cannot use {path} as the state file: {error}")]
    Unusable {
        /// The path.
        path: String,
        /// What failed.
        error: io::Error,
    },
    /// The path names a file that is not a kreflect state file: it is not read, nor replaced.
    #[error(
        "{path} is not a kreflect state file; not using or replacing it: give --state a new \
         path, or remove the file"
    )]
    NotOurs {
        /// The file.
        path: String,
    },
}

/// An exclusive lock on `FILE.lock` (not on the state file itself, which each save replaces),
/// held while this value lives. The lock file keeps the holder's pid, for the message a second
/// run gets; it is left in place, so that a run starting as another ends never locks a file
/// about to be removed.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock for the state file `path`, or says who holds it.
    pub fn take(path: &Path) -> Result<Lock, super::StateError> {
        let lock_path = lock_path_of(path);
        let failed = |error: io::Error| StateError::Lock {
            path: path.display().to_string(),
            lock: lock_path.display().to_string(),
            error,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(failed)?;
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(err) if err == rustix::io::Errno::WOULDBLOCK => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StateError::InUse {
                    path: path.display().to_string(),
                    pid: holder.trim().parse().ok(),
                });
            }
            Err(err) => return Err(failed(err.into())),
        }
        // Ours now: say who holds it.
        file.set_len(0).map_err(failed)?;
        file.rewind().map_err(failed)?;
        writeln!(file, "{}", std::process::id()).map_err(failed)?;
        Ok(Lock { _file: file })
    }
}

/// The path to read and replace for `path`: itself, or the file a symbolic link at `path`
/// points to (replacing the link itself would leave its target stale). What is there must be
/// a regular file, or nothing yet; a device (`/dev/null`), a FIFO (opening it would wait for a
/// writer), a directory or a socket is refused.
pub fn regular_file(path: &Path) -> Result<PathBuf, StateError> {
    let unusable = |error: io::Error| StateError::Unusable {
        path: path.display().to_string(),
        error,
    };
    let path = match std::fs::symlink_metadata(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(path.to_owned()),
        Err(err) => return Err(unusable(err)),
        Ok(metadata) if metadata.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(unusable)?
        }
        Ok(_) => path.to_owned(),
    };
    let file_type = std::fs::metadata(&path).map_err(unusable)?.file_type();
    let what = if file_type.is_file() {
        return Ok(path);
    } else if file_type.is_dir() {
        "a directory"
    } else {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_char_device() || file_type.is_block_device() {
            "a device"
        } else if file_type.is_fifo() {
            "a FIFO"
        } else if file_type.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        }
    };
    Err(StateError::NotAFile {
        path: path.display().to_string(),
        what,
    })
}

/// Whether the regular file at `path` (or nothing there) can be a kreflect state file: it is
/// empty, or begins as `magic` does once whitespace is set aside (a file reformatted by a JSON
/// tool still is), or is a prefix of it (one cut short).
pub fn begins_as_ours(path: &Path, magic: &[u8]) -> Result<bool, StateError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(error) => {
            return Err(StateError::Unusable {
                path: path.display().to_string(),
                error,
            });
        }
    };
    let mut head = Vec::with_capacity(256);
    let _ = Read::by_ref(&mut file).take(256).read_to_end(&mut head);
    let significant: Vec<u8> = head
        .into_iter()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    Ok(significant.starts_with(magic) || magic.starts_with(&significant))
}

/// Removes the temporary files a run killed during a save left beside `path`
/// (`.NAME.PID.tmp`): the caller holds the lock, so no other run is writing one.
pub fn remove_stale_temporaries(path: &Path) {
    let (Some(directory), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let directory = if directory.as_os_str().is_empty() {
        Path::new(".")
    } else {
        directory
    };
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let stale = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `FILE.lock`, beside the state file.
fn lock_path_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Replaces `path` with `bytes` atomically: written to a temporary file in the same directory
/// (so the rename stays on one file system), flushed to disk, renamed over `path`, and the
/// directory flushed so the rename itself survives a crash. Any failure removes the temporary
/// file and leaves `path` as it was.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = directory.join(temporary_name);
    let written = write_synced(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    // The rename is durable once the directory is; a failure here leaves a good file.
    if let Ok(directory) = File::open(&directory) {
        let _ = directory.sync_all();
    }
    Ok(())
}

/// Creates `path` (readable by its owner only: keys name what runs where) with `bytes`, and
/// flushes it to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
