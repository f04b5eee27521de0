//! The cargo-fuzz targets in `fuzz/` (see docs/fuzzing.md): a bounded run for the test
//! command ([`run_bounded`]) and longer runs (`cargo xtask fuzz`).
//!
//! cargo-fuzz comes from crates.io into `.tools/cargo-fuzz`. Its builds need unstable rustc
//! flags (`-Zsanitizer=address`); `RUSTC_BOOTSTRAP=1` lets the machine's stable toolchain take
//! them, so no nightly is needed.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::run;

const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Every target in `fuzz/fuzz_targets/`.
pub const TARGETS: [&str; 5] = [
    "http_app",
    "lambda_adapters",
    "authorizer_decision",
    "tool_args",
    "oauth_tokens",
];

/// The targets that build without the app (`--no-default-features`): the oauth crate only, a
/// small fraction of the full fuzz build (the app's build is tens of minutes on 2 cores).
pub const LIGHT_TARGETS: [&str; 1] = ["oauth_tokens"];

/// libFuzzer's limits: a run stops at the first input that takes longer than `-timeout`
/// seconds or makes the process grow past `-rss_limit_mb`.
const LIMITS: [&str; 2] = ["-timeout=10", "-rss_limit_mb=2048"];

/// Installs cargo-fuzz if missing, builds every target once, then fuzzes each of `targets`
/// for `seconds` from its committed seeds (`fuzz/corpus/<target>`; new inputs go to the ignored
/// `fuzz/target/corpus/<target>`, kept between runs). Returns one summary line per target;
/// fails at the first crash, naming the file that reproduces it.
pub fn run_bounded(root: &Path, seconds: u64, targets: &[&str]) -> Result<Vec<String>> {
    let cargo_fuzz = ensure_cargo_fuzz(root)?;
    let fuzz_dir = root.join("fuzz");
    // cargo-fuzz's defaults otherwise: AddressSanitizer, debug assertions, overflow checks.
    let features: &[&str] = if targets.iter().all(|t| LIGHT_TARGETS.contains(t)) {
        &["--no-default-features"]
    } else {
        &[]
    };
    run(fuzz_command(&cargo_fuzz, &fuzz_dir)
        .arg("build")
        .args(features))?;
    let mut summaries = Vec::new();
    for target in targets {
        summaries.push(run_target(
            &cargo_fuzz,
            &fuzz_dir,
            target,
            seconds,
            features,
        )?);
        eprintln!("{}", summaries.last().expect("just pushed"));
    }
    Ok(summaries)
}

/// `.tools/cargo-fuzz/bin/cargo-fuzz`, installed from crates.io when missing or another version.
fn ensure_cargo_fuzz(root: &Path) -> Result<PathBuf> {
    let install_root = root.join(".tools/cargo-fuzz");
    let binary = install_root.join("bin/cargo-fuzz");
    let installed = Command::new(&binary)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ_VERSION));
    if !installed {
        crate::tools::cargo_install(root, "cargo-fuzz", CARGO_FUZZ_VERSION, &install_root, &[])?;
    }
    Ok(binary)
}

fn fuzz_command(cargo_fuzz: &Path, fuzz_dir: &Path) -> Command {
    let mut command = Command::new(cargo_fuzz);
    command
        .arg("fuzz")
        .current_dir(fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        // fuzz/ is its own workspace with its own target dir: a CARGO_TARGET_DIR meant for the
        // main workspace would mix instrumented and plain builds.
        .env_remove("CARGO_TARGET_DIR");
    command
}

fn run_target(
    cargo_fuzz: &Path,
    fuzz_dir: &Path,
    target: &str,
    seconds: u64,
    features: &[&str],
) -> Result<String> {
    let scratch = fuzz_dir.join("target/corpus").join(target);
    let seeds = fuzz_dir.join("corpus").join(target);
    let logs = fuzz_dir.join("target/logs");
    std::fs::create_dir_all(&scratch)?;
    std::fs::create_dir_all(&logs)?;
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path)?;
    let mut command = fuzz_command(cargo_fuzz, fuzz_dir);
    command
        .args(["run", target])
        // The same flags as the build above, so `run` finds it up to date.
        .args(features)
        // libFuzzer adds new inputs to the first directory: the committed seeds stay as they are.
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(LIMITS)
        .arg("-print_final_stats=1")
        .stdout(log.try_clone()?)
        .stderr(log);
    eprintln!(
        "$ cargo fuzz run {target} ({seconds} s; log: {})",
        log_path.display()
    );
    let status = command
        .status()
        .with_context(|| format!("could not start {}", cargo_fuzz.display()))?;
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = output.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "fuzz target {target} failed ({status}); reproduce with the input {}\n\
             (`cargo xtask fuzz --target {target}` after a fix; keep the input in fuzz/corpus/{target}/)\n{}",
            crash_file(&output).unwrap_or("(no input written; see the log)"),
            tail.join("\n")
        );
    }
    Ok(summary(target, seconds, &output))
}

/// Where libFuzzer wrote the input that crashed: `Test unit written to <path>`.
fn crash_file(output: &str) -> Option<&str> {
    output.lines().find_map(|line| {
        line.split_once("Test unit written to ")
            .map(|(_, p)| p.trim())
    })
}

/// One line from libFuzzer's final stats (`stat::name: value`) and its last status line
/// (`#N DONE cov: C ft: F corp: ...`).
fn summary(target: &str, seconds: u64, output: &str) -> String {
    let stat = |name: &str| {
        output.lines().find_map(|line| {
            line.strip_prefix(&format!("stat::{name}:"))
                .map(|v| v.trim().to_owned())
        })
    };
    let coverage = output
        .lines()
        .rev()
        .find(|line| line.starts_with('#') && line.contains(" cov: "))
        .and_then(|line| line.split_once(" cov: "))
        .map(|(_, rest)| format!("cov: {}", rest.trim()))
        .unwrap_or_default();
    format!(
        "fuzz {target}: {} executions in {seconds} s ({}/s), {coverage}",
        stat("number_of_executed_units").as_deref().unwrap_or("?"),
        stat("average_exec_per_sec").as_deref().unwrap_or("?"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
#2\tINITED cov: 10 ft: 12 corp: 1/1b exec/s: 0 rss: 30Mb
#1048\tDONE   cov: 812 ft: 2301 corp: 95/4120b lim: 4 exec/s: 34 rss: 60Mb
Done 1048 runs in 31 second(s)
stat::number_of_executed_units: 1048
stat::average_exec_per_sec:     33
stat::new_units_added:          94
";

    #[test]
    fn summarizes_the_final_stats() {
        assert_eq!(
            summary("http_app", 30, OUTPUT),
            "fuzz http_app: 1048 executions in 30 s (33/s), \
             cov: 812 ft: 2301 corp: 95/4120b lim: 4 exec/s: 34 rss: 60Mb"
        );
    }

    #[test]
    fn finds_the_crash_input() {
        let output = "==1== ERROR: libFuzzer: deadly signal\n\
                      artifact_prefix='/r/fuzz/artifacts/tool_args/'; \
                      Test unit written to /r/fuzz/artifacts/tool_args/crash-abc\n";
        assert_eq!(
            crash_file(output),
            Some("/r/fuzz/artifacts/tool_args/crash-abc")
        );
        assert_eq!(crash_file(OUTPUT), None);
    }
}
