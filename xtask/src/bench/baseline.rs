//! `--baseline <rev>`: the product (`function`) built at another git revision, so a change can
//! be measured against what it replaces, in the same run and in turn with it.
//!
//! The revision is checked out into a detached git worktree (`target/bench/baseline-src`,
//! removed again afterwards, on error too) and built there with the `dist` profile into the
//! project's own `target/`, so the dependencies already built are reused and only the
//! workspace crates compile. The binary is copied to `target/bench/baseline/function` before
//! the current build overwrites `target/dist/function`.
//!
//! One trap: cargo hashes a path package relative to its workspace root, so the worktree's
//! `function` (and `authorizer`, ...) get the same artifact names and fingerprints as the
//! current ones. Without a rebuild forced, the current build would find "its" fingerprint
//! fresh (its sources older than the baseline's build) and ship the baseline's binary as ours.
//! So every workspace crate of the baseline is cleaned from the `dist` profile before the
//! baseline build and after it (`cargo clean -p`, which matches by name).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};

use crate::{cargo, run};

/// The baseline's `function` binary and where it came from.
pub struct Built {
    /// The revision as given.
    pub rev: String,
    /// The commit it resolved to.
    pub commit: String,
    pub function: PathBuf,
}

/// Builds `function` at `rev` (see the module doc); the binary lands in
/// `target/bench/baseline/function`.
pub fn build(root: &Path, rev: &str) -> Result<Built> {
    if rev.starts_with('-') {
        bail!("--baseline {rev}: a git revision cannot start with '-'");
    }
    let commit = git_output(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .with_context(|| format!("--baseline {rev}: not a commit in this repository"))?;
    let target = root.join("target");
    let worktree = Worktree::add(root, &target.join("bench/baseline-src"), &commit)?;
    let src = &worktree.path;
    let members = workspace_members(src)?;
    eprintln!(
        "bench: baseline {rev} ({commit}) in {}; cleaning its workspace crates ({}) from \
         target/dist so neither build takes the other's",
        src.display(),
        members.join(", ")
    );
    clean(src, &target, &members)?;
    run(cargo(src)
        .args(["build", "--profile", "dist", "-p", "function"])
        .env("CARGO_TARGET_DIR", &target))?;
    let function = target.join("bench/baseline/function");
    std::fs::create_dir_all(function.parent().expect("a parent"))?;
    std::fs::copy(target.join("dist/function"), &function).with_context(|| {
        format!(
            "the baseline build did not produce {}",
            target.join("dist/function").display()
        )
    })?;
    clean(src, &target, &members)?;
    drop(worktree);
    Ok(Built {
        rev: rev.to_owned(),
        commit,
        function,
    })
}

/// A detached worktree, removed when dropped (on error too).
struct Worktree<'a> {
    root: &'a Path,
    path: PathBuf,
}

impl<'a> Worktree<'a> {
    fn add(root: &'a Path, path: &Path, commit: &str) -> Result<Self> {
        // A stale one from an interrupted run goes first; `--force` also takes over a path
        // still registered whose folder is gone (e.g. after `cargo clean`).
        remove_worktree(root, path);
        std::fs::create_dir_all(path.parent().expect("a parent"))?;
        run(Command::new("git")
            .current_dir(root)
            .args(["worktree", "add", "--force", "--detach"])
            .arg(path)
            .arg(commit))?;
        Ok(Self {
            root,
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        remove_worktree(self.root, &self.path);
    }
}

fn remove_worktree(root: &Path, path: &Path) {
    let _ = Command::new("git")
        .current_dir(root)
        .args(["worktree", "remove", "--force"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if path.exists() {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// The names of the workspace's own packages (`cargo metadata --no-deps`).
fn workspace_members(workspace: &Path) -> Result<Vec<String>> {
    let output = cargo(workspace)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .stderr(Stdio::inherit())
        .output()
        .context("could not run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed in {} with {}",
            workspace.display(),
            output.status
        );
    }
    member_names(&String::from_utf8_lossy(&output.stdout))
}

fn member_names(metadata: &str) -> Result<Vec<String>> {
    let metadata: serde_json::Value =
        serde_json::from_str(metadata).context("cargo metadata's output is not JSON")?;
    let names: Vec<String> = metadata["packages"]
        .as_array()
        .context("no packages in cargo metadata's output")?
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    if names.is_empty() {
        bail!("no packages in cargo metadata's output");
    }
    Ok(names)
}

/// Removes the packages' `dist` artifacts and fingerprints (every hash: cargo matches by name).
fn clean(workspace: &Path, target: &Path, packages: &[String]) -> Result<()> {
    let mut command = cargo(workspace);
    command
        .args(["clean", "--profile", "dist"])
        .env("CARGO_TARGET_DIR", target);
    for package in packages {
        command.args(["-p", package]);
    }
    run(&mut command)
}

/// A git command's trimmed stdout; an error when it fails.
fn git_output(root: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .context("could not run git")?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || stdout.is_empty() {
        bail!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_come_from_cargo_metadata() {
        let metadata = r#"{"packages": [{"name": "function", "id": "path+file:///x/function#0.1.0"},
            {"name": "authorizer"}], "workspace_members": []}"#;
        assert_eq!(member_names(metadata).unwrap(), ["function", "authorizer"]);
        assert!(member_names(r#"{"packages": []}"#).is_err());
        assert!(member_names("warning: not json").is_err());
    }

    #[test]
    fn a_revision_is_resolved_to_its_commit_or_refused() {
        let root = crate::repo_root();
        let head = git_output(
            &root,
            &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        )
        .unwrap();
        assert_eq!(head.len(), 40, "{head}");
        assert!(
            git_output(
                &root,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "no-such-rev-xyz^{commit}"
                ]
            )
            .is_err()
        );
        let error = build(&root, "--help").err().unwrap();
        assert!(
            error.to_string().contains("cannot start with '-'"),
            "{error}"
        );
    }
}
