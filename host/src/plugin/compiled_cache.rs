//! Compiled plugin code cached on disk, keyed by the `.wasm` file's SHA-256 and
//! the engine's compatibility hash, so a restart loads plugins in milliseconds
//! instead of compiling them again.
//!
//! Loading a cached entry turns its bytes into native code in the process: the
//! cache directory must be writable by vetpay alone.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a compiled component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeSource {
    Compiled,
    DiskCache,
}

fn engine_key(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn entry(dir: &Path, engine: &Engine, sha256: &str) -> PathBuf {
    dir.join(format!("{sha256}-{}.cwasm", engine_key(engine)))
}

/// Compiles `bytes`, or loads the code compiled earlier for the same file and
/// engine. Blocking: run it off the async executor.
pub fn load_or_compile(
    engine: &Engine,
    dir: Option<&Path>,
    sha256: &str,
    bytes: &[u8],
) -> wasmtime::Result<(Component, CodeSource)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, CodeSource::Compiled));
    };
    let path = entry(dir, engine, sha256);
    // Read into memory rather than mapped: a mapped file truncated by anyone
    // else would crash the whole host with SIGBUS.
    if let Ok(cached) = std::fs::read(&path) {
        // SAFETY: the entry was written by `precompile_component` of an engine
        // with the same compatibility hash (part of its name), into a directory
        // only vetpay writes; wasmtime checks the header and compatibility again.
        match unsafe { Component::deserialize(engine, &cached) } {
            Ok(component) => return Ok((component, CodeSource::DiskCache)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled-code cache entry");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let compiled = engine.precompile_component(bytes)?;
    if let Err(e) = write_atomically(dir, &path, &compiled) {
        tracing::warn!(path = %path.display(), error = %e, "could not write the compiled-code cache");
    }
    // SAFETY: `compiled` was produced just now by this engine.
    let component = unsafe { Component::deserialize(engine, &compiled)? };
    Ok((component, CodeSource::Compiled))
}

fn write_atomically(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    // Unique per writer, so concurrent loads of one plugin never share a file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir)?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}
