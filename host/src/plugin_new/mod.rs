//! `vetpay plugin new NAME`: writes a standalone plugin project (docs/TUTORIAL.md)
//! with a skeleton plugin, its native tests, a simulator of its fictional
//! provider that speaks the card-holder control protocol, and the SDK's own
//! sources, so that it builds from the folder and crates.io alone.

mod lock;
mod name;
mod templates;
mod vendor;

/// The files `build.rs` lists: the SDK's, vetpay-money's and the skeleton's.
mod sources {
    include!(concat!(env!("OUT_DIR"), "/vendored.rs"));
}

use std::path::{Path, PathBuf};

pub use name::{NameError, PluginName};

/// What the skeleton implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Card-present payments on a cloud terminal: process, abort, status, list-terminals.
    Terminal,
    /// The terminal's calls, and saved cards: save-card on the terminal,
    /// charge-token and refund-token.
    CardOnFile,
}

impl Kind {
    /// The skeleton's marker of this kind's own lines.
    fn marker(self) -> &'static str {
        match self {
            Kind::Terminal => "terminal",
            Kind::CardOnFile => "card-on-file",
        }
    }
}

/// `vetpay plugin new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The plugin's id and crate name: 2 to 63 characters of a-z, 0-9 and '-',
    /// starting with a letter.
    pub name: String,
    /// Where to write the project; ./NAME by default. It must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// What the skeleton implements.
    #[arg(long, value_enum, default_value_t = Kind::Terminal)]
    pub kind: Kind,
}

/// Why no project was written.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("{0} exists and is not empty: choose another --dir, or remove it")]
    NotEmpty(PathBuf),
    #[error("{0} exists and is not a directory")]
    NotADirectory(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// vetpay's own embedded manifests or lock file did not read as expected:
    /// a bug of this binary's build, not of the caller's input.
    #[error("this vetpay binary's embedded {what} is unreadable: {message}")]
    Embedded { what: &'static str, message: String },
}

/// Writes the project; returns where.
pub fn run(args: &NewArgs) -> Result<PathBuf, NewError> {
    let name = PluginName::parse(&args.name)?;
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&name.id));
    ensure_empty(&dir)?;
    let mut files = templates::project(&name, args.kind);
    files.extend(vendor::files()?);
    files.push(("Cargo.lock".into(), lock::for_project()?));
    for (path, contents) in &files {
        write(&dir.join(path), contents)?;
    }
    Ok(dir)
}

fn ensure_empty(dir: &Path) -> Result<(), NewError> {
    if dir.exists() && !dir.is_dir() {
        return Err(NewError::NotADirectory(dir.to_owned()));
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(NewError::NotEmpty(dir.to_owned())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NewError::Write {
            path: dir.to_owned(),
            source,
        }),
    }
}

fn write(path: &Path, contents: &str) -> Result<(), NewError> {
    let failed = |source| NewError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    std::fs::write(path, contents).map_err(failed)
}

/// What to tell the author once the project is written.
pub fn next_steps(dir: &Path, name: &str) -> String {
    let lib = name.replace('-', "_");
    format!(
        "wrote {dir}: a plugin for the fictional Polderpay Cloud, its simulator and tests\n\
         next, in {dir}:\n  \
         cargo test\n  \
         cargo build --release --target wasm32-wasip2\n  \
         vetpay plugin inspect target/wasm32-wasip2/release/{lib}.wasm\n  \
         cargo run -p {name}-simulator   (prints the conform command)\n\
         README.md says what each file holds; vetpay's docs/TUTORIAL.md walks through it",
        dir = dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vetpay-new-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_non_empty_directory_is_refused_and_left_alone() {
        let dir = temp("busy");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keep.txt"), "mine").unwrap();
        let args = NewArgs {
            name: "acme".into(),
            dir: Some(dir.clone()),
            kind: Kind::Terminal,
        };
        assert!(matches!(run(&args), Err(NewError::NotEmpty(d)) if d == dir));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_empty_directory_is_filled() {
        let dir = temp("empty");
        std::fs::create_dir_all(&dir).unwrap();
        let args = NewArgs {
            name: "acme-cloud".into(),
            dir: Some(dir.clone()),
            kind: Kind::Terminal,
        };
        assert_eq!(run(&args).unwrap(), dir);
        for file in [
            "Cargo.toml",
            "Cargo.lock",
            "plugin.toml",
            ".gitignore",
            "rust-toolchain.toml",
            "conform.toml",
            "README.md",
            "src/lib.rs",
            "src/provider.rs",
            "src/tests.rs",
            "simulator/Cargo.toml",
            "simulator/src/lib.rs",
            "simulator/src/main.rs",
            "vendor/vetpay-sdk/src/lib.rs",
            "vendor/vetpay-sdk/wit/since_v0.2.0/types.wit",
            "vendor/vetpay-money/src/lib.rs",
        ] {
            assert!(dir.join(file).is_file(), "{file}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_in_the_way_is_refused() {
        let dir = temp("file");
        std::fs::write(&dir, "a file").unwrap();
        let args = NewArgs {
            name: "acme".into(),
            dir: Some(dir.clone()),
            kind: Kind::Terminal,
        };
        assert!(matches!(run(&args), Err(NewError::NotADirectory(_))));
        std::fs::remove_file(&dir).unwrap();
    }
}
