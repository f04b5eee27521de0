//! `cargo xtask bench`: serverless-mcp against the Node/TypeScript-SDK reference behind the AWS
//! Lambda Web Adapter, the floor (bare lambda_http / axum) and a stock rmcp server, measured side
//! by side in one run on this machine. Everything runs on 127.0.0.1 and is stopped afterwards.
//!
//! - `baseline.rs`: `--baseline <rev>`, the product built at another git revision; it joins
//!   the run as one more Lambda and local subject ("baseline", set up as ours).
//! - `emulator.rs`: the Lambda subjects under the Runtime Interface Emulator (cold, warm, RSS).
//! - `load.rs`: the local servers (start time, wrk load rounds).
//! - `report.rs`: the typed report, the cost estimate, the JSON and the Markdown table.
//!
//! Processes, ports, HTTP and percentiles come from `devkit` (shared with the tests).

mod baseline;
mod emulator;
mod load;
pub mod report;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::{cargo, run, tools};
use emulator::{Events, LambdaSubject};
use load::LocalSubject;
use report::{
    Artifact, Baseline, Cost, Costs, LambdaSubjects, LocalSubjects, Machine, Report, Samples,
};

const LWA_VERSION: &str = "1.0.0-rc1";

fn ensure_bench_tools(root: &Path) -> Result<(PathBuf, PathBuf)> {
    // The reference's npm dependencies, pinned by bench/node/package-lock.json.
    let node_dir = root.join("bench/node");
    let lock = std::fs::read_to_string(node_dir.join("package-lock.json"))?;
    let stamp = node_dir.join("node_modules/.installed-lock");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(lock.as_str()) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&node_dir))?;
        std::fs::write(&stamp, &lock)?;
    }
    // The AWS Lambda Web Adapter, built from crates.io.
    let lwa_root = root.join(".tools/lwa");
    let lwa = lwa_root.join("bin/lambda-adapter");
    if !lwa.exists() {
        run(cargo(root)
            .args([
                "install",
                "lambda_web_adapter",
                "--version",
                LWA_VERSION,
                "--locked",
                "--root",
            ])
            .arg(&lwa_root))?;
    }
    // wrk, the load generator (Debian package).
    let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let wrk = match wrk {
        Some(wrk) => wrk,
        None => {
            run(Command::new("apt-get").args(["update", "-qq"]))?;
            run(Command::new("apt-get")
                .args(["install", "-y", "-qq", "wrk"])
                .env("DEBIAN_FRONTEND", "noninteractive"))?;
            PathBuf::from("/usr/bin/wrk")
        }
    };
    Ok((lwa, wrk))
}

fn write_reference_bootstrap(root: &Path, node: &Path, lwa: &Path) -> Result<PathBuf> {
    // How users run it: the adapter in front of a plain Node HTTP server.
    let path = root.join("target/bench/reference-bootstrap");
    std::fs::create_dir_all(path.parent().unwrap())?;
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\ncd {dir}\n{node} server.mjs &\nexec {lwa}\n",
            dir = root.join("bench/node").display(),
            node = node.display(),
            lwa = lwa.display()
        ),
    )?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// `baseline`: a git revision whose `function` is built first and measured beside ours.
pub fn bench(root: &Path, quick: bool, baseline: Option<&str>) -> Result<()> {
    let samples = if quick {
        Samples {
            cold: 3,
            warm: 30,
            load_seconds: 3,
            load_rounds: 1,
        }
    } else {
        Samples {
            cold: 15,
            warm: 300,
            load_seconds: 10,
            load_rounds: 3,
        }
    };
    let installed = tools::ensure(root)?;
    let (lwa, wrk) = ensure_bench_tools(root)?;
    // The baseline first: its build goes through target/dist/function too, which the build of
    // the current subjects then overwrites.
    let baseline = baseline.map(|rev| baseline::build(root, rev)).transpose()?;
    // The shipping profile for every Rust subject, so ours and the floors are built alike.
    // Always into the project's target/ (read below), whatever CARGO_TARGET_DIR says.
    run(cargo(root)
        .args([
            "build",
            "--profile",
            "dist",
            "-p",
            "function",
            "-p",
            "bench",
        ])
        .env("CARGO_TARGET_DIR", root.join("target")))?;
    let release = root.join("target/dist");
    let logs = root.join("target/bench/logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs)?;
    let key = "bench-key-0001".to_string();
    let reference_bootstrap = write_reference_bootstrap(root, &installed.node, &lwa)?;

    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}});
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "calculate", "arguments": {"operation": "multiply", "a": 6, "b": 7}}});
    let messages = [&initialize, &list, &call];
    let keyed = Events::new(root, messages, ("x-api-key", &key))?;
    let ours_env = vec![
        ("MCP_API_KEY", key.clone()),
        ("MCP_LAMBDA_MODE", "api-gateway".into()),
        ("AWS_REGION", "us-east-1".into()),
    ];

    // In the order the report takes them: ours, reference, floor, ours in OAuth mode, then
    // the baseline if any.
    let mut lambda_subjects = vec![
        LambdaSubject {
            name: "ours",
            bootstrap: release.join("function"),
            env: ours_env.clone(),
            events: keyed.clone(),
        },
        LambdaSubject {
            name: "reference",
            bootstrap: reference_bootstrap,
            env: vec![
                ("MCP_API_KEY", key.clone()),
                ("AWS_LWA_READINESS_CHECK_PATH", "/health".into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
            events: keyed.clone(),
        },
        LambdaSubject {
            name: "floor",
            bootstrap: release.join("floor-lambda"),
            env: vec![],
            events: keyed.clone(),
        },
        oauth_subject(root, &release, messages)?,
    ];
    if let Some(built) = &baseline {
        lambda_subjects.push(LambdaSubject {
            name: "baseline",
            bootstrap: built.function.clone(),
            env: ours_env,
            events: keyed,
        });
    }

    let (mut lambda, baseline_lambda) = split_baseline(
        emulator::measure(&installed.rie, &lambda_subjects, &samples, &logs)?,
        baseline.is_some(),
    );
    let oauth = lambda.pop().context("no Lambda figures for OAuth mode")?;
    let lambda = LambdaSubjects::from_ordered(lambda)?;

    // Local servers: start-to-first-response, then a fixed-concurrency load of tools/call.
    // In the order the report takes them: ours, reference, floor, stock rmcp, then the
    // baseline if any.
    let mut local_subjects = vec![
        LocalSubject {
            name: "ours",
            argv: vec![
                release.join("function").display().to_string(),
                "--port".into(),
            ],
            env: vec![("MCP_API_KEY", key.clone())],
        },
        LocalSubject {
            name: "reference",
            argv: vec![
                installed.node.display().to_string(),
                root.join("bench/node/server.mjs").display().to_string(),
            ],
            env: vec![("MCP_API_KEY", key.clone())],
        },
        LocalSubject {
            name: "floor",
            argv: vec![release.join("floor-http").display().to_string()],
            env: vec![],
        },
        LocalSubject {
            name: "stock-rmcp",
            argv: vec![release.join("stock-rmcp").display().to_string()],
            env: vec![],
        },
    ];
    if let Some(built) = &baseline {
        local_subjects.push(LocalSubject {
            name: "baseline",
            argv: vec![built.function.display().to_string(), "--port".into()],
            env: local_subjects[0].env.clone(),
        });
    }
    let lua = root.join("target/bench/tools-call.lua");
    std::fs::write(
        &lua,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{}'\nwrk.headers[\"content-type\"] = \"application/json\"\n\
             wrk.headers[\"accept\"] = \"application/json, text/event-stream\"\nwrk.headers[\"x-api-key\"] = \"{key}\"\n\
             wrk.headers[\"mcp-protocol-version\"] = \"2025-11-25\"\n",
            call
        ),
    )?;
    let (local, baseline_local) = split_baseline(
        load::measure(
            &wrk,
            &lua,
            &local_subjects,
            &call.to_string(),
            &key,
            &samples,
        )?,
        baseline.is_some(),
    );
    let [ours, reference, floor, stock_rmcp]: [_; 4] = local
        .try_into()
        .map_err(|_| anyhow::anyhow!("4 local subjects expected"))?;
    let local = LocalSubjects {
        ours,
        reference,
        floor,
        stock_rmcp,
    };

    let artifact = artifacts(root, &installed.python, &installed.node, &lwa, &release)?;
    let baseline = match baseline {
        Some(built) => {
            let lambda = baseline_lambda.context("no Lambda figures for the baseline")?;
            Some(Baseline {
                x86_64_zip_bytes: zip_size(
                    &installed.python,
                    &[(built.function.clone(), "bootstrap".into())],
                )?,
                cost: Cost::of(&lambda),
                lambda,
                local: baseline_local.context("no local figures for the baseline")?,
                rev: built.rev,
                commit: built.commit,
            })
        }
        None => None,
    };
    let report = Report {
        machine: machine(),
        samples,
        cost: Costs::estimate(&lambda),
        lambda,
        local,
        artifact,
        baseline,
        oauth: Some(oauth),
    };

    let table = report.markdown();
    println!("{table}");
    let results = root.join("bench/results");
    std::fs::create_dir_all(&results)?;
    // A baseline run has its own files, so the committed latest/quick results stay as they are.
    let name = results_name(quick, report.baseline.is_some());
    std::fs::write(results.join(format!("{name}.json")), report.to_json()?)?;
    std::fs::write(results.join(format!("{name}.md")), &table)?;
    if report.baseline.is_some() {
        // The chart shows ours against the reference on a log scale, where a few percent
        // against the baseline would not show; the table has the comparison.
        eprintln!(
            "bench: wrote bench/results/{name}.json and .md (no chart for a baseline run: \
             ours vs baseline is in the table's two baseline columns)"
        );
    } else {
        crate::chart::draw(&report, &results.join(format!("{name}.png")))?;
        eprintln!("bench: wrote bench/results/{name}.json, .md and .png");
    }
    Ok(())
}

/// Ours in `MCP_AUTH_MODE=oauth` (Cognito is never called on this path), sent an access token
/// the facade would have minted: signed with the subject's key, for the events' host.
fn oauth_subject(root: &Path, release: &Path, messages: [&Value; 3]) -> Result<LambdaSubject> {
    let signing_key = [7u8; 32];
    let keyring = oauth::Keyring::from_signing_key(&signing_key)?;
    let issuer = format!("https://{}", emulator::EVENT_HOST);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let token = keyring.sign_access_token(&oauth::AccessClaims {
        aud: format!("{issuer}/mcp"),
        iss: issuer,
        sub: "bench-user".into(),
        client_id: "bench".into(),
        scope: "mcp:tools".into(),
        iat: now,
        nbf: now,
        exp: now + 24 * 3600,
        jti: "bench".into(),
        username: None,
    });
    Ok(LambdaSubject {
        name: "ours-oauth",
        bootstrap: release.join("function"),
        env: vec![
            ("MCP_LAMBDA_MODE", "api-gateway".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("MCP_AUTH_MODE", "oauth".into()),
            // The same 32 bytes, base64 as the setting takes them.
            (
                "MCP_OAUTH_SIGNING_KEY",
                "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".into(),
            ),
            (
                "MCP_OAUTH_COGNITO_URL",
                "https://bench.auth.us-east-1.amazoncognito.com".into(),
            ),
            ("MCP_OAUTH_COGNITO_CLIENT_ID", "bench".into()),
            ("MCP_OAUTH_COGNITO_CLIENT_SECRET", "bench".into()),
        ],
        events: Events::new(
            root,
            messages,
            ("authorization", &format!("Bearer {token}")),
        )?,
    })
}

/// The results files' name: `baseline` for a `--baseline` run, whatever the sample size.
fn results_name(quick: bool, baseline: bool) -> &'static str {
    match (baseline, quick) {
        (true, _) => "baseline",
        (false, true) => "quick",
        (false, false) => "latest",
    }
}

/// The baseline's subject is appended after the others: its figures come last.
fn split_baseline<T>(mut figures: Vec<T>, with_baseline: bool) -> (Vec<T>, Option<T>) {
    let baseline = if with_baseline { figures.pop() } else { None };
    (figures, baseline)
}

/// The zip we ship (`cargo xtask build`: arm64, cargo-lambda, dist profile) vs the reference's
/// deployable tree (server + node_modules + adapter). The x86_64 binary measured here, zipped
/// the same way, is kept for comparison.
fn artifacts(
    root: &Path,
    python: &Path,
    node: &Path,
    lwa: &Path,
    release: &Path,
) -> Result<Artifact> {
    let shipped = crate::deploy::build(root, crate::deploy::Arch::Arm64)?;
    let ours_zip_bytes = std::fs::metadata(&shipped[0])?.len();
    let ours_x86_64_zip_bytes =
        zip_size(python, &[(release.join("function"), "bootstrap".into())])?;
    let reference_zip_bytes = zip_size(
        python,
        &[
            (lwa.to_path_buf(), "extensions/lambda-adapter".into()),
            (root.join("bench/node/server.mjs"), "server.mjs".into()),
            (root.join("bench/node/node_modules"), "node_modules".into()),
            (root.join("bench/node/package.json"), "package.json".into()),
        ],
    )?;
    let node_runtime = std::fs::metadata(node)?.len();
    Ok(Artifact {
        ours_zip_bytes,
        ours_zip: "target/lambda/function/bootstrap.zip (arm64, cargo-lambda, dist profile)".into(),
        ours_x86_64_zip_bytes,
        reference_zip_bytes,
        reference_with_node_runtime_bytes: reference_zip_bytes + node_runtime,
    })
}

/// Deflate-zips files and folders (with their archive names) and returns the zip's size.
fn zip_size(python: &Path, entries: &[(PathBuf, String)]) -> Result<u64> {
    let out = std::env::temp_dir().join(format!("smcp-bench-{}.zip", std::process::id()));
    let spec: Vec<(String, String)> = entries
        .iter()
        .map(|(p, n)| (p.display().to_string(), n.clone()))
        .collect();
    let script = format!(
        "import json, os, zipfile\n\
         z = zipfile.ZipFile({out:?}, 'w', zipfile.ZIP_DEFLATED)\n\
         for path, name in json.loads({spec:?}):\n\
         \x20   if os.path.isdir(path):\n\
         \x20       for d, _, files in os.walk(path):\n\
         \x20           for f in files:\n\
         \x20               full = os.path.join(d, f)\n\
         \x20               z.write(full, os.path.join(name, os.path.relpath(full, path)))\n\
         \x20   else:\n\
         \x20       z.write(path, name)\n\
         z.close()\n",
        out = out.display().to_string(),
        spec = serde_json::to_string(&spec)?,
    );
    run(Command::new(python).args(["-c", &script]))?;
    let size = std::fs::metadata(&out)?.len();
    let _ = std::fs::remove_file(&out);
    Ok(size)
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(str::to_owned))
        .unwrap_or_default();
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory,
        os: std::env::consts::OS.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baseline_run_writes_its_own_files() {
        assert_eq!(results_name(false, false), "latest");
        assert_eq!(results_name(true, false), "quick");
        assert_eq!(results_name(false, true), "baseline");
        assert_eq!(results_name(true, true), "baseline");
    }

    #[test]
    fn the_baseline_figures_are_the_last_ones() {
        assert_eq!(
            split_baseline(vec![1, 2, 3, 4], true),
            (vec![1, 2, 3], Some(4))
        );
        assert_eq!(split_baseline(vec![1, 2, 3], false), (vec![1, 2, 3], None));
    }
}
