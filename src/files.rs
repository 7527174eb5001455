//! File input and output for the command line: typed errors naming the path, and writes
//! that never leave partial output (all files of one command are written to temporary
//! names first and renamed into place only when every one of them was written).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Read a whole file, naming it in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Read a binary CBOR file; a file holding only hex digits (and white space) is decoded
/// from hex, so published test vectors in `.hex` form can be used directly.
pub(crate) fn read_cbor(path: &Path) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    let text_hex = std::str::from_utf8(&bytes).ok().and_then(|t| {
        let compact: String = t.split_whitespace().collect();
        (!compact.is_empty()
            && compact.len().is_multiple_of(2)
            && compact.chars().all(|c| c.is_ascii_hexdigit()))
        .then_some(compact)
    });
    match text_hex {
        Some(h) => hex::decode(h).with_context(|| format!("{}: bad hex", path.display())),
        None => Ok(bytes),
    }
}

/// A set of files to be written together, all or none.
#[derive(Default)]
pub(crate) struct Output {
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Output {
    /// Queue `bytes` for `path`.
    pub(crate) fn add(&mut self, path: impl Into<PathBuf>, bytes: Vec<u8>) {
        self.files.push((path.into(), bytes));
    }

    /// Write every queued file: first to `NAME.tmp-icsim`, then rename all into place.
    /// On any failure, the temporary files are removed and nothing is left behind.
    pub(crate) fn commit(self) -> Result<Vec<PathBuf>> {
        let mut written: Vec<(PathBuf, PathBuf)> = Vec::new();
        for (path, bytes) in &self.files {
            let tmp = tmp_name(path);
            let result = (|| {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&tmp, bytes)
            })();
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                for (_, t) in &written {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e).with_context(|| format!("cannot write {}", path.display()));
            }
            written.push((path.clone(), tmp));
        }
        for (path, tmp) in &written {
            std::fs::rename(tmp, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(written.into_iter().map(|(p, _)| p).collect())
    }
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp-icsim");
    path.with_file_name(name)
}
