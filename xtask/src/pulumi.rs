//! The Pulumi CLI as `cargo xtask deploy` and `destroy` drive it: one stack, every call's
//! failure reported with what the CLI said, and a teardown that deletes in order and retries
//! what AWS reports as a conflict.

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use anyhow::{Context, Result, bail};

/// One stack of the project, through a `pulumi` program (the CLI, or a stand-in in tests).
pub struct Pulumi {
    pub program: PathBuf,
    pub root: PathBuf,
    pub stack: String,
}

/// What one CLI call printed.
pub struct Outcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

const INSTALL_HINT: &str = "install it (https://www.pulumi.com/docs/install/) and the Rust \
language plugin (see the README's Deploy section)";

impl Pulumi {
    pub fn new(root: &Path, stack: &str) -> Self {
        Self {
            program: PathBuf::from("pulumi"),
            root: root.to_path_buf(),
            stack: stack.to_string(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .args(["--stack", &self.stack])
            .current_dir(&self.root);
        command
    }

    /// Runs quietly and captures the output.
    pub fn capture(&self, args: &[&str]) -> Result<Outcome> {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("could not run `pulumi`: {INSTALL_HINT}"))?;
        Ok(Outcome {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs with the output shown as it comes, and also kept for inspection.
    pub fn stream(&self, args: &[&str]) -> Result<Outcome> {
        eprintln!("$ pulumi {} --stack {}", args.join(" "), self.stack);
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not run `pulumi`: {INSTALL_HINT}"))?;
        fn echo(pipe: impl Read + Send + 'static, to_stderr: bool) -> thread::JoinHandle<String> {
            thread::spawn(move || {
                let mut kept = String::new();
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if to_stderr {
                        eprintln!("{line}");
                    } else {
                        println!("{line}");
                    }
                    kept.push_str(&line);
                    kept.push('\n');
                }
                kept
            })
        }
        let stdout = echo(child.stdout.take().expect("piped"), false);
        let stderr = echo(child.stderr.take().expect("piped"), true);
        let status = child.wait()?;
        Ok(Outcome {
            success: status.success(),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }

    /// A config value of the stack, `None` when it is not set. Any other failure (no such
    /// stack, not logged in, an invalid Pulumi.yaml, a missing passphrase) stops here with the
    /// CLI's own message, before anything is built.
    pub fn config_get(&self, key: &str) -> Result<Option<String>> {
        config_value(key, &self.capture(&["config", "get", key])?)
    }
}

/// Reads `pulumi config get <key>`'s outcome. The CLI says "configuration key 'k' not found
/// for stack 's'" for a key that is not set (pulumi/pulumi `pkg/cmd/pulumi/config`,
/// `newConfigGetCmd`; exit code 1 since v3.226, 255 before).
pub fn config_value(key: &str, outcome: &Outcome) -> Result<Option<String>> {
    if outcome.success {
        return Ok(Some(outcome.stdout.trim().to_string()));
    }
    let said = outcome.stderr.trim();
    if said.contains(&format!("configuration key '{key}' not found")) {
        return Ok(None);
    }
    bail!(
        "`pulumi config get {key}` failed, so nothing was built or deployed. Pulumi said:\n{}",
        if said.is_empty() {
            outcome.stdout.trim()
        } else {
            said
        }
    )
}

/// Failures AWS reports while something the resource depends on is still going away (or
/// while it is busy): worth the same delete again a little later.
const RETRYABLE: &[&str] = &[
    "ConflictException",
    "DeleteConflict",
    "DependencyViolation",
    "ResourceInUseException",
    "ResourceConflictException",
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling:",
    "try again later",
    "concurrent modification",
];

pub fn is_retryable(outcome: &Outcome) -> bool {
    let said = format!("{}\n{}", outcome.stdout, outcome.stderr);
    RETRYABLE.iter().any(|marker| said.contains(marker))
}

/// How many times one step of a teardown is tried, and the waits between tries.
pub const ATTEMPTS: usize = 5;
pub fn backoff(attempt: usize) -> Duration {
    Duration::from_secs(15 << attempt.min(4))
}

/// The teardown: each tier of the plan as one targeted `pulumi destroy`, then a plain one for
/// whatever is left (the provider, the stack, resources the plan does not know). A step that
/// fails with a retryable AWS error is tried again after `wait(attempt)`.
pub fn destroy(
    pulumi: &Pulumi,
    plan: &infra_plan::Plan,
    wait: impl Fn(usize) -> Duration,
) -> Result<()> {
    let mut steps: Vec<Vec<String>> = plan.tiers.clone();
    steps.push(Vec::new());
    for (index, targets) in steps.iter().enumerate() {
        let mut args = vec!["destroy", "--yes", "--skip-preview"];
        for urn in targets {
            args.extend(["--target", urn.as_str()]);
        }
        let what = if targets.is_empty() {
            "what is left".to_string()
        } else {
            format!(
                "tier {} of {} ({} resources)",
                index + 1,
                plan.tiers.len(),
                targets.len()
            )
        };
        let mut attempt = 0;
        loop {
            eprintln!("Deleting {what}");
            let outcome = pulumi.stream(&args)?;
            if outcome.success {
                break;
            }
            attempt += 1;
            if !is_retryable(&outcome) || attempt >= ATTEMPTS {
                bail!(
                    "`pulumi destroy` failed deleting {what}{}; see its output above. \
                     Run `cargo xtask destroy --stack {}` again once the cause is fixed: \
                     what was deleted stays deleted.",
                    if attempt >= ATTEMPTS {
                        format!(" after {attempt} attempts")
                    } else {
                        String::new()
                    },
                    pulumi.stack
                );
            }
            let pause = wait(attempt);
            eprintln!(
                "AWS reported a conflict (something still in use is going away); trying again in {} s",
                pause.as_secs()
            );
            thread::sleep(pause);
        }
    }
    Ok(())
}

/// The plan `infra destroy-plan` prints (the same shape as `infra::teardown::Plan`, which
/// xtask does not link: the generated AWS bindings would slow every xtask build).
pub mod infra_plan {
    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    pub struct Plan {
        pub tiers: Vec<Vec<String>>,
        pub unknown: Vec<String>,
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, os::unix::fs::PermissionsExt};

    use super::*;

    fn outcome(success: bool, stdout: &str, stderr: &str) -> Outcome {
        Outcome {
            success,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn a_missing_key_is_none_and_any_other_failure_stops() {
        assert_eq!(
            config_value("architecture", &outcome(true, "x86_64\n", "")).unwrap(),
            Some("x86_64".into())
        );
        let not_set = outcome(
            false,
            "",
            "error: configuration key 'architecture' not found for stack 'dev'\n",
        );
        assert_eq!(config_value("architecture", &not_set).unwrap(), None);
        let no_stack = outcome(false, "", "error: no stack named 'prod' found\n");
        let err = config_value("architecture", &no_stack)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no stack named 'prod' found") && err.contains("nothing was built"),
            "{err}"
        );
        let invalid = outcome(false, "", "error: could not validate 'Pulumi.yaml'\n");
        assert!(config_value("architecture", &invalid).is_err());
    }

    #[test]
    fn conflicts_are_retryable_and_other_failures_are_not() {
        assert!(is_retryable(&outcome(
            false,
            "  aws:apigatewayv2:Integration mcp-dev-integration deleting failed: ConflictException: Cannot delete Integration",
            ""
        )));
        assert!(is_retryable(&outcome(
            false,
            "",
            "DeleteConflict: Cannot delete entity"
        )));
        assert!(!is_retryable(&outcome(
            false,
            "",
            "error: AccessDenied: not authorized to perform: lambda:DeleteFunction"
        )));
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert!(backoff(20) <= Duration::from_secs(240));
    }

    /// A stand-in `pulumi` that logs its arguments and fails the first targeted destroy with
    /// the conflict AWS reports for an integration that routes still use.
    ///
    /// Callers hold `SCRIPTS` for the whole test: a script being written while another
    /// test thread forks can fail to exec with ETXTBSY (the fork inherits the write handle).
    fn fake_pulumi(dir: &Path, script_body: &str) -> PathBuf {
        let program = dir.join("pulumi");
        fs::write(
            &program,
            format!(
                "#!/bin/sh\necho \"$@\" >> {}/calls\n{script_body}\n",
                dir.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        program
    }

    static SCRIPTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn plan() -> infra_plan::Plan {
        infra_plan::Plan {
            tiers: vec![
                vec!["urn:a::route-post".into(), "urn:a::route-get".into()],
                vec!["urn:a::integration".into()],
            ],
            unknown: vec![],
        }
    }

    #[test]
    fn destroys_tier_by_tier_and_retries_conflicts() {
        let _scripts = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let program = fake_pulumi(
            dir.path(),
            &format!(
                "case \"$*\" in *integration*) if [ ! -f {d}/failed ]; then touch {d}/failed; echo 'error: deleting API Gateway v2 Integration: ConflictException: Cannot delete Integration' >&2; exit 1; fi;; esac\nexit 0",
                d = dir.path().display()
            ),
        );
        let pulumi = Pulumi {
            program,
            root: dir.path().into(),
            stack: "dev".into(),
        };
        destroy(&pulumi, &plan(), |_| Duration::ZERO).unwrap();
        let calls = fs::read_to_string(dir.path().join("calls")).unwrap();
        let calls: Vec<&str> = calls.lines().collect();
        assert_eq!(
            calls,
            [
                "destroy --yes --skip-preview --target urn:a::route-post --target urn:a::route-get --stack dev",
                "destroy --yes --skip-preview --target urn:a::integration --stack dev",
                "destroy --yes --skip-preview --target urn:a::integration --stack dev",
                "destroy --yes --skip-preview --stack dev",
            ]
        );
    }

    #[test]
    fn stops_at_a_failure_that_is_not_a_conflict() {
        let _scripts = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let program = fake_pulumi(
            dir.path(),
            "echo 'error: AccessDeniedException: not authorized' >&2; exit 1",
        );
        let pulumi = Pulumi {
            program,
            root: dir.path().into(),
            stack: "dev".into(),
        };
        let err = destroy(&pulumi, &plan(), |_| Duration::ZERO)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tier 1 of 2") && err.contains("again once the cause is fixed"),
            "{err}"
        );
        let calls = fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(
            calls.lines().count(),
            1,
            "no retry of a non-conflict, nothing after it"
        );
    }

    #[test]
    fn gives_up_after_the_last_attempt() {
        let _scripts = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let program = fake_pulumi(dir.path(), "echo 'ConflictException' >&2; exit 1");
        let pulumi = Pulumi {
            program,
            root: dir.path().into(),
            stack: "dev".into(),
        };
        let err = destroy(&pulumi, &plan(), |_| Duration::ZERO)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("after {ATTEMPTS} attempts")), "{err}");
    }
}
