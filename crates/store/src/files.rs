//! Files and folders vigie creates hold password hashes, alerts and the
//! audit chain's key: they are owner-only (0600, folders 0700) whatever the
//! process's umask, and files found with wider permissions are narrowed.

use crate::StoreError;
use std::path::Path;

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}

/// Create `dir` (and missing parents) owner-only.
pub fn private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| io(dir, e))?;
    restrict(dir, 0o700)
}

/// Create (or truncate) `path` for writing, owner-only.
pub fn private_file(path: &Path) -> Result<std::fs::File, StoreError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path).map_err(|e| io(path, e))?;
    restrict(path, 0o600)?;
    Ok(f)
}

/// Open `path` for appending (created if need be), owner-only.
pub fn private_append(path: &Path) -> Result<std::fs::File, StoreError> {
    let mut o = std::fs::OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path).map_err(|e| io(path, e))?;
    restrict(path, 0o600)?;
    Ok(f)
}

/// Narrow an existing file's or folder's permissions to `mode` (no-op
/// where it does not exist, and off Unix).
pub fn restrict(path: &Path, mode: u32) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o777 != mode => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| io(path, e))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(path, e)),
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// A SQLite database and its `-wal`, `-shm` and `-journal` files.
pub fn restrict_sqlite(db: &Path) -> Result<(), StoreError> {
    restrict(db, 0o600)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        restrict(Path::new(&p), 0o600)?;
    }
    Ok(())
}
