//! The real infra binary against a mock Pulumi engine: the resource graph it registers.

mod engine;

use std::{fs, io::Write, path::Path};

use engine::run_program;

const KEY: &str = "test-key-0123456789abcdef";

/// A repo-like root with Lambda zips holding an ELF header for `machine`.
fn root_with_zips(machine: u16) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for binary in ["function", "authorizer"] {
        let dir = root.path().join("target/lambda").join(binary);
        fs::create_dir_all(&dir).unwrap();
        write_zip(&dir.join("bootstrap.zip"), &[("bootstrap", &elf(machine))]);
    }
    root
}

fn elf(machine: u16) -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec();
    bytes.extend_from_slice(&machine.to_le_bytes());
    bytes.extend_from_slice(&[0; 44]);
    bytes
}

fn write_zip(path: &Path, files: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, bytes) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored))
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

fn base_config() -> Vec<(&'static str, &'static str)> {
    vec![("aws:region", "eu-west-1"), ("serverless-mcp:apiKey", KEY)]
}

#[test]
fn dump() {
    let root = root_with_zips(0xB7);
    let run = run_program(root.path(), false, &base_config(), &["serverless-mcp:apiKey"]);
    eprintln!("{}", run.stderr);
    for r in &run.resources {
        eprintln!("{} {} {}", r.type_, r.name, r.inputs);
    }
    eprintln!("{:#?}", run.outputs);
    assert!(run.status.success());
}
