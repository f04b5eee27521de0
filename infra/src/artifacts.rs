//! The Lambda zips `cargo xtask build` leaves in `target/lambda/<binary>/bootstrap.zip`: found,
//! checked for freshness against their sources and for the configured CPU architecture, so a
//! deploy never ships a stale or wrong-architecture binary.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    time::SystemTime,
};

use thiserror::Error;

use crate::settings::Architecture;

/// A checked zip, ready to become a Lambda's code.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaZip {
    pub path: PathBuf,
}

/// Pulumi's wire form of a file archive: the signature key, the archive signature and the
/// file's path (`sdk/go/common/resource/sig/sig.go`, `archive.go` in pulumi/pulumi). The
/// path is absolute: the engine resolves relative ones against its own working directory.
const ARCHIVE_SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
const ARCHIVE_SIG: &str = "0def7320c3a5731c473e5ecbe6d01bc7";

impl LambdaZip {
    /// The zip as a Lambda's `code` input.
    pub fn archive(&self) -> std::collections::HashMap<String, String> {
        std::collections::HashMap::from([
            (ARCHIVE_SIG_KEY.to_string(), ARCHIVE_SIG.to_string()),
            ("path".to_string(), self.path.display().to_string()),
        ])
    }
}

#[derive(Debug, Error)]
pub enum ArtifactError {
    #[error(
        "this Pulumi program ({program}) is older than {source_file}: `pulumi` would deploy what \
         an earlier build describes. Rebuild it:\n  cargo build --release -p infra\n\
         (`cargo xtask deploy` does this for you)"
    )]
    StaleProgram {
        program: String,
        source_file: String,
    },
    #[error(
        "CARGO_TARGET_DIR is set to {target_dir}, but Pulumi.yaml runs target/release/infra and \
         the zips are read from target/lambda under the project: builds would land elsewhere \
         and this run could use stale ones. Unset it for deploys:\n  \
         env -u CARGO_TARGET_DIR cargo xtask deploy --stack <stack>"
    )]
    ForeignTargetDir { target_dir: String },
    #[error("{zip} is missing. Build the Lambda zips first:\n  {command}")]
    Missing { zip: String, command: String },
    #[error("{zip} is older than {source_file}. Rebuild the Lambda zips:\n  {command}")]
    Stale {
        zip: String,
        source_file: String,
        command: String,
    },
    #[error("{zip} is not a Lambda zip ({why}). Rebuild it:\n  {command}")]
    Invalid {
        zip: String,
        why: String,
        command: String,
    },
    #[error(
        "{zip} holds an {found} binary but the stack deploys {wanted}. Rebuild for {wanted}:\n  \
         {command}\nor change the stack: pulumi config set architecture {found}"
    )]
    WrongArchitecture {
        zip: String,
        found: &'static str,
        wanted: &'static str,
        command: String,
    },
}

/// The Pulumi program's own sources (relative to the project root). Not `Cargo.lock`: cargo
/// does not relink the program when the lock file changes only for other crates.
pub const PROGRAM_SOURCES: &[&str] = &[
    "infra/src",
    "infra/build.rs",
    "infra/Cargo.toml",
    "infra/schema",
];

/// Refuses to run a program binary older than its sources. A bare `pulumi up` runs whatever
/// `target/release/infra` exists; after a `git pull` that would be the previous version.
/// Where the sources are absent (a copy of the binary elsewhere), there is nothing to compare.
pub fn check_program(root: &Path, program: &Path) -> Result<(), ArtifactError> {
    let Ok(built) = fs::metadata(program).and_then(|m| m.modified()) else {
        return Ok(());
    };
    for source in PROGRAM_SOURCES {
        if let Some((newest, file)) = newest_file(&root.join(source))
            && newest > built
        {
            return Err(ArtifactError::StaleProgram {
                program: program.display().to_string(),
                source_file: file.display().to_string(),
            });
        }
    }
    Ok(())
}

/// Refuses a `CARGO_TARGET_DIR` other than the project's own `target/`.
pub fn check_target_dir(root: &Path, target_dir: Option<&str>) -> Result<(), ArtifactError> {
    let Some(dir) = target_dir.filter(|d| !d.trim().is_empty()) else {
        return Ok(());
    };
    let ours = root.join("target");
    let same = |a: &Path, b: &Path| match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    let given = Path::new(dir);
    let given = if given.is_absolute() {
        given.to_path_buf()
    } else {
        root.join(given)
    };
    if same(&given, &ours) {
        Ok(())
    } else {
        Err(ArtifactError::ForeignTargetDir {
            target_dir: dir.to_string(),
        })
    }
}

/// The command that builds the zips for `arch`.
pub fn build_command(arch: Architecture) -> String {
    format!("cargo xtask build --arch {}", arch.lambda_name())
}

/// Finds and checks `target/lambda/<binary>/bootstrap.zip` under `root`. `sources` are the
/// files and folders (relative to `root`) the binary is built from.
pub fn lambda_zip(
    root: &Path,
    binary: &str,
    sources: &[&str],
    arch: Architecture,
) -> Result<LambdaZip, ArtifactError> {
    let command = build_command(arch);
    let path = root
        .join("target/lambda")
        .join(binary)
        .join("bootstrap.zip");
    let zip = path.display().to_string();
    let built = fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_err(|_| ArtifactError::Missing {
            zip: zip.clone(),
            command: command.clone(),
        })?;
    for source in sources {
        if let Some((newest, file)) = newest_file(&root.join(source))
            && newest > built
        {
            return Err(ArtifactError::Stale {
                zip,
                source_file: file.display().to_string(),
                command,
            });
        }
    }
    let found = bootstrap_architecture(&path).map_err(|why| ArtifactError::Invalid {
        zip: zip.clone(),
        why,
        command: command.clone(),
    })?;
    if found != arch {
        return Err(ArtifactError::WrongArchitecture {
            zip,
            found: found.lambda_name(),
            wanted: arch.lambda_name(),
            command,
        });
    }
    Ok(LambdaZip { path })
}

/// The newest modification time under `path` (a file or a folder, recursively).
fn newest_file(path: &Path) -> Option<(SystemTime, PathBuf)> {
    let meta = fs::metadata(path).ok()?;
    if meta.is_file() {
        return Some((meta.modified().ok()?, path.to_path_buf()));
    }
    fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|entry| newest_file(&entry.path()))
        .max_by_key(|(time, _)| *time)
}

/// Reads the zip: exactly one entry, `bootstrap`, an executable ELF for Lambda's CPUs.
pub fn bootstrap_architecture(path: &Path) -> Result<Architecture, String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    if names != ["bootstrap"] {
        return Err(format!(
            "expected one file named bootstrap, found {names:?}"
        ));
    }
    let mut header = [0u8; 20];
    archive
        .by_name("bootstrap")
        .map_err(|e| e.to_string())?
        .read_exact(&mut header)
        .map_err(|_| "bootstrap is too short to be a program".to_string())?;
    elf_architecture(&header)
}

/// The CPU of a 64-bit little-endian ELF executable, from its header.
pub fn elf_architecture(header: &[u8]) -> Result<Architecture, String> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return Err("bootstrap is not an ELF program".into());
    }
    match u16::from_le_bytes([header[18], header[19]]) {
        0xB7 => Ok(Architecture::Arm64),
        0x3E => Ok(Architecture::X86_64),
        other => Err(format!("bootstrap is built for ELF machine {other:#x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(machine: u16) -> Vec<u8> {
        let mut header = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec();
        header.extend_from_slice(&machine.to_le_bytes());
        header
    }

    #[test]
    fn a_program_older_than_its_sources_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let program = root.path().join("target/release/infra");
        fs::create_dir_all(program.parent().unwrap()).unwrap();
        fs::write(&program, b"binary").unwrap();
        // No sources here: nothing to compare.
        check_program(root.path(), &program).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let source = root.path().join("infra/src/stack/mod.rs");
        fs::create_dir_all(source.parent().unwrap()).unwrap();
        fs::write(&source, "// edited after the build\n").unwrap();
        let err = check_program(root.path(), &program).unwrap_err();
        assert!(
            err.to_string().contains("stack/mod.rs")
                && err.to_string().contains("cargo build --release -p infra"),
            "{err}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&program, b"rebuilt").unwrap();
        check_program(root.path(), &program).unwrap();
    }

    #[test]
    fn only_the_projects_own_target_dir_is_accepted() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("target")).unwrap();
        check_target_dir(root.path(), None).unwrap();
        check_target_dir(root.path(), Some("")).unwrap();
        check_target_dir(root.path(), Some("target")).unwrap();
        let own = root.path().join("target").display().to_string();
        check_target_dir(root.path(), Some(&own)).unwrap();
        let err = check_target_dir(root.path(), Some("/tmp/elsewhere")).unwrap_err();
        assert!(err.to_string().contains("env -u CARGO_TARGET_DIR"), "{err}");
    }

    #[test]
    fn reads_the_elf_machine() {
        assert_eq!(elf_architecture(&elf(0xB7)), Ok(Architecture::Arm64));
        assert_eq!(elf_architecture(&elf(0x3E)), Ok(Architecture::X86_64));
        assert!(elf_architecture(&elf(0x28)).is_err());
        assert!(elf_architecture(b"#!/bin/sh\necho hello\n").is_err());
    }
}
