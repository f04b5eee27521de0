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

#[derive(Debug, Error)]
pub enum ArtifactError {
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
    fn reads_the_elf_machine() {
        assert_eq!(elf_architecture(&elf(0xB7)), Ok(Architecture::Arm64));
        assert_eq!(elf_architecture(&elf(0x3E)), Ok(Architecture::X86_64));
        assert!(elf_architecture(&elf(0x28)).is_err());
        assert!(elf_architecture(b"#!/bin/sh\necho hello\n").is_err());
    }
}
