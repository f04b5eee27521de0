//! `cargo xtask build` (the Lambda zips, with cargo-lambda + zig from PyPI) and
//! `cargo xtask deploy` (build, then `pulumi up` for one stack).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::{cargo, run};

const CARGO_LAMBDA: &str = "cargo-lambda==1.9.2";
const ZIG: &str = "ziglang==0.17.1";
/// The binaries that ship, one zip each: `target/lambda/<binary>/bootstrap.zip`.
pub const BINARIES: &[&str] = &["function", "authorizer"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    Arm64,
    #[value(name = "x86_64", alias = "x86-64")]
    X86_64,
}

impl Arch {
    fn cargo_lambda_flag(self) -> &'static str {
        match self {
            Arch::Arm64 => "--arm64",
            Arch::X86_64 => "--x86-64",
        }
    }

    fn from_config(value: &str) -> Result<Arch> {
        match value.trim() {
            "" | "arm64" => Ok(Arch::Arm64),
            "x86_64" => Ok(Arch::X86_64),
            other => bail!("the stack's architecture is {other:?}; expected arm64 or x86_64"),
        }
    }
}

/// cargo-lambda and zig in their own venv under `.tools/`; returns its `bin` folder.
fn ensure_cargo_lambda(root: &Path) -> Result<PathBuf> {
    let python = crate::tools::python_venv(
        &root.join(".tools/cargo-lambda"),
        &[CARGO_LAMBDA, ZIG],
        &format!("{CARGO_LAMBDA} {ZIG}"),
        "cargo-lambda and zig",
    )?;
    Ok(python.parent().expect("bin folder").to_path_buf())
}

/// Builds both zips for `arch` with the shipping profile.
pub fn build(root: &Path, arch: Arch) -> Result<Vec<PathBuf>> {
    let bin = ensure_cargo_lambda(root)?;
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let mut command = cargo(root);
    command
        .args([
            "lambda",
            "build",
            "--profile",
            "dist",
            "--output-format",
            "zip",
        ])
        .arg(arch.cargo_lambda_flag())
        .env("PATH", path);
    for binary in BINARIES {
        command.args(["--bin", binary]);
    }
    run(&mut command)?;
    let zips: Vec<PathBuf> = BINARIES
        .iter()
        .map(|b| root.join("target/lambda").join(b).join("bootstrap.zip"))
        .collect();
    for zip in &zips {
        let size = std::fs::metadata(zip)
            .with_context(|| format!("cargo lambda did not produce {}", zip.display()))?
            .len();
        eprintln!("{} ({:.2} MB)", zip.display(), size as f64 / 1e6);
    }
    Ok(zips)
}

/// Build for the stack's architecture, compile the Pulumi program, `pulumi up`.
pub fn deploy(root: &Path, stack: &str, yes: bool) -> Result<()> {
    let pulumi = |args: &[&str]| {
        let mut command = Command::new("pulumi");
        command
            .args(args)
            .args(["--stack", stack])
            .current_dir(root);
        command
    };
    let config = pulumi(&["config", "get", "architecture"]).output().context(
        "could not run `pulumi`: install it (https://www.pulumi.com/docs/install/) and the Rust \
         language plugin (see the README's Deploy section)",
    )?;
    let arch = Arch::from_config(&String::from_utf8_lossy(&config.stdout))?;
    build(root, arch)?;
    run(cargo(root).args(["build", "--release", "-p", "infra"]))?;
    let mut up = pulumi(&["up"]);
    if yes {
        up.arg("--yes");
    }
    run(&mut up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_from_stack_config() {
        assert_eq!(Arch::from_config("").unwrap(), Arch::Arm64);
        assert_eq!(Arch::from_config("x86_64\n").unwrap(), Arch::X86_64);
        assert!(Arch::from_config("mips").is_err());
    }
}
