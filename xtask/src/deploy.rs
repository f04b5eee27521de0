//! `cargo xtask build` (the Lambda zips, with cargo-lambda + zig from PyPI),
//! `cargo xtask deploy` (build, then `pulumi up` for one stack) and `cargo xtask destroy`
//! (the stack's resources deleted in order, see `infra/src/teardown.rs`).

use std::{
    io::{BufRead, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::{
    cargo,
    pulumi::{self, Pulumi},
    run,
};

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
    build_with_profile(root, arch, "dist")
}

/// Builds both zips for `arch` with a cargo profile (`dist` ships; the test command uses
/// `release`, the same code without whole-program optimization, which takes far longer on 2
/// cores and is measured by the benchmark instead).
pub fn build_with_profile(root: &Path, arch: Arch, profile: &str) -> Result<Vec<PathBuf>> {
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
            profile,
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

/// `Pulumi.yaml` runs `target/release/infra` and the program reads `target/lambda/`: a
/// `CARGO_TARGET_DIR` elsewhere would build where neither looks.
fn check_target_dir(root: &Path) -> Result<()> {
    let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let given = root.join(&dir);
    let ours = root.join("target");
    let same = match (given.canonicalize(), ours.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => given == ours,
    };
    if !same {
        bail!(
            "CARGO_TARGET_DIR is set to {}, but Pulumi.yaml runs target/release/infra and the \
             program reads the zips from target/lambda under the project. Unset it for deploys:\n  \
             env -u CARGO_TARGET_DIR cargo xtask ...",
            Path::new(&dir).display()
        );
    }
    Ok(())
}

/// Build for the stack's architecture, compile the Pulumi program, `pulumi up`.
pub fn deploy(root: &Path, stack: &str, yes: bool) -> Result<()> {
    check_target_dir(root)?;
    let pulumi = Pulumi::new(root, stack);
    // Fails at once, with Pulumi's own message, on anything but an unset key.
    let arch = Arch::from_config(
        &pulumi
            .config_get("architecture")?
            .unwrap_or_else(|| "arm64".into()),
    )?;
    build(root, arch)?;
    run(cargo(root).args(["build", "--release", "-p", "infra"]))?;
    let mut args = vec!["up"];
    if yes {
        args.push("--yes");
    }
    let up = pulumi.stream(&args)?;
    if !up.success {
        bail!("`pulumi up` failed; see its output above");
    }
    Ok(())
}

/// Deletes every resource of the stack, in the order `infra destroy-plan` gives, retrying
/// what AWS reports as a conflict. The stack itself (its config and history) stays; `pulumi
/// stack rm` removes it.
pub fn destroy(root: &Path, stack: &str, yes: bool) -> Result<()> {
    check_target_dir(root)?;
    let pulumi = Pulumi::new(root, stack);
    let export = pulumi.capture(&["stack", "export"])?;
    if !export.success {
        bail!(
            "`pulumi stack export` failed, so nothing was deleted. Pulumi said:\n{}",
            export.stderr.trim()
        );
    }
    run(cargo(root).args(["build", "--release", "-p", "infra"]))?;
    let plan = destroy_plan(root, &export.stdout)?;
    let count: usize = plan.tiers.iter().map(Vec::len).sum();
    if count == 0 && plan.unknown.is_empty() {
        eprintln!("The stack {stack} has no resources.");
    } else {
        eprintln!(
            "The stack {stack} has {count} resources, deleted in {} steps (each one waits for \
             the last){}.",
            plan.tiers.len(),
            if plan.unknown.is_empty() {
                String::new()
            } else {
                format!(
                    ", then {} that this program did not create",
                    plan.unknown.len()
                )
            }
        );
    }
    if !yes && !confirm(stack)? {
        bail!("nothing was deleted");
    }
    pulumi::destroy(&pulumi, &plan, pulumi::backoff)?;
    eprintln!(
        "Every resource of {stack} is deleted. The stack's config and history remain; remove \
         them with:\n  pulumi stack rm {stack}"
    );
    Ok(())
}

fn destroy_plan(root: &Path, export: &str) -> Result<pulumi::infra_plan::Plan> {
    let mut child = Command::new(root.join("target/release/infra"))
        .arg("destroy-plan")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("could not run target/release/infra destroy-plan")?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(export.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("infra destroy-plan could not read the stack export");
    }
    serde_json::from_slice(&output.stdout).context("infra destroy-plan printed no plan")
}

fn confirm(stack: &str) -> Result<bool> {
    eprint!("Type the stack name ({stack}) to delete all of it: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == stack)
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
