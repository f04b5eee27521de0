//! Project automation, rust-analyzer style: `cargo xtask <command>`.
//!
//! - `test`: installs what the tests need into ignored folders (`.tools/`, `tests/npm/node_modules`),
//!   builds the release binaries once, and runs every test, end to end included.
//! - `bench [--quick] [--baseline <git-rev>]`: the side-by-side benchmark (see `bench/`).
//! - `build [--arch]`, `deploy --stack`, `destroy --stack`, `client-config`: ship it (see
//!   `deploy.rs`, `pulumi.rs`, `client_config.rs`); `aws-schema` regenerates the provider
//!   schema subset.
#![forbid(unsafe_code)]

mod aws_schema;
mod bench;
mod chart;
mod client_config;
mod deploy;
mod fuzz;
mod pulumi;
mod tools;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "serverless-mcp project commands")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install test tools, build the Lambda zips and the release binaries, and run all tests
    /// (unit, in-process, Lambda emulator, real MCP clients, conformance suite, the Pulumi
    /// program against a mock engine).
    Test,
    /// Measure ours vs the Node/TypeScript reference behind the Lambda Web Adapter, the floor
    /// and a stock rmcp server; writes bench/results/ (JSON, Markdown, PNG).
    Bench {
        /// Fewer samples (CI-sized smoke run, under 3 minutes once tools are built).
        #[arg(long)]
        quick: bool,
        /// Also build the product (`function`) at this git revision (in a worktree under
        /// target/bench) and measure it beside ours in the same run; writes
        /// bench/results/baseline.{json,md} instead of latest/quick.
        #[arg(long, value_name = "GIT_REV")]
        baseline: Option<String>,
    },
    /// Build the Lambda zips (cargo-lambda + zig, installed into .tools/):
    /// target/lambda/{function,authorizer}/bootstrap.zip.
    Build {
        /// Lambda CPU architecture (arm64: Graviton, cheaper per ms).
        #[arg(long, value_enum, default_value = "arm64")]
        arch: deploy::Arch,
    },
    /// Build the zips for the stack's architecture and run `pulumi up` for it.
    Deploy {
        #[arg(long, short)]
        stack: String,
        /// Skip Pulumi's confirmation prompt.
        #[arg(long)]
        yes: bool,
    },
    /// Delete every resource of a stack, in dependency order, retrying AWS conflicts (a plain
    /// `pulumi destroy` cannot order them: see infra/src/teardown.rs).
    Destroy {
        #[arg(long, short)]
        stack: String,
        /// Skip the confirmation (type the stack name).
        #[arg(long)]
        yes: bool,
    },
    /// Print (or --write) an MCP client's configuration from the stack's outputs.
    ClientConfig {
        #[arg(long, short)]
        stack: String,
        #[arg(long, value_enum)]
        client: client_config::Client,
        /// api-gateway (buffered JSON, authorizer) or streaming (Function URL, SSE).
        #[arg(long, value_enum, default_value = "api-gateway")]
        endpoint: client_config::Endpoint,
        /// Merge the server into the client's config file instead of printing it.
        #[arg(long)]
        write: bool,
        /// Read saved `pulumi stack output --json --show-secrets` instead of calling pulumi.
        #[arg(long)]
        outputs: Option<PathBuf>,
    },
    /// Regenerate infra/schema/aws.json (the AWS provider schema subset) from @pulumi/aws on npm.
    AwsSchema,
    /// Run the cargo-fuzz targets (fuzz/, docs/fuzzing.md) one after another; stops at the
    /// first crash and names the input that reproduces it.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 300)]
        seconds: u64,
        /// Only this target (default: all).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(fuzz::TARGETS))]
        target: Option<String>,
    },
}

fn main() -> Result<()> {
    let root = repo_root();
    match Cli::parse().command {
        Cmd::Test => test(&root),
        Cmd::Bench { quick, baseline } => bench::bench(&root, quick, baseline.as_deref()),
        Cmd::Build { arch } => deploy::build(&root, arch).map(drop),
        Cmd::Deploy { stack, yes } => deploy::deploy(&root, &stack, yes),
        Cmd::Destroy { stack, yes } => deploy::destroy(&root, &stack, yes),
        Cmd::ClientConfig {
            stack,
            client,
            endpoint,
            write,
            outputs,
        } => {
            client_config::client_config(&root, &stack, client, endpoint, outputs.as_deref(), write)
        }
        Cmd::AwsSchema => aws_schema::regenerate(&root),
        Cmd::Fuzz { seconds, target } => {
            let targets = match &target {
                Some(target) => vec![target.as_str()],
                None => fuzz::TARGETS.to_vec(),
            };
            // run_bounded prints each target's summary as it finishes.
            fuzz::run_bounded(&root, seconds, &targets).map(drop)
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo")
        .to_path_buf()
}

/// Runs a command, streaming its output; fails with the command line when it fails.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .with_context(|| format!("could not start {}", describe(command)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", describe(command));
    }
    Ok(())
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

/// Every test of the workspace but the conformance server's (built on its own, see `test`).
const PRODUCT_TESTS: [&str; 5] = [
    "test",
    "--release",
    "--workspace",
    "--exclude",
    "conformance-server",
];

fn test(root: &Path) -> Result<()> {
    let tools = tools::ensure(root)?;
    // Licenses, banned crates and sources (deny.toml) before anything is built.
    let deny = tools::ensure_cargo_deny(root)?;
    run(Command::new(deny)
        .args(["deny", "--offline", "check", "licenses", "bans", "sources"])
        .current_dir(root))?;
    // What ships: the Lambda zips, checked by tests/tests/e2e/lambda_zips.rs (cross-built like
    // `cargo xtask build`, in the release profile: fat LTO would add minutes).
    deploy::build_with_profile(root, deploy::Arch::Arm64, "release")?;

    // One release build serves the emulator, the clients and the tests: the binaries come out
    // of `cargo test --no-run`, so they share the test build's dependency features and nothing
    // heavy is compiled twice.
    let e2e_dir = root.join("target/e2e");
    std::fs::create_dir_all(&e2e_dir)?;
    let release = root.join("target/release");
    // The conformance server is its own build: its rmcp features must not leak into the
    // product's binaries through feature unification. A debug build: it shares nothing with
    // the release build anyway, the suite checks behaviour, not speed, and it takes a third of
    // the time (3.5 min against 9.5 on 2 cores; same results).
    run(cargo(root).args(["build", "-p", "conformance-server"]))?;
    std::fs::copy(
        root.join("target/debug/conformance-server"),
        e2e_dir.join("conformance-server"),
    )?;
    run(cargo(root).args(PRODUCT_TESTS).arg("--no-run"))?;
    std::fs::copy(release.join("function"), e2e_dir.join("function"))?;
    std::fs::copy(release.join("authorizer"), e2e_dir.join("authorizer"))?;

    // Figures, and every test process's output (the Lambda emulator's, the servers'), with the
    // secrets the tests created: read for leaks once the tests have run.
    let figures = e2e_dir.join("figures");
    let _ = std::fs::remove_dir_all(&figures);
    std::fs::create_dir_all(&figures)?;
    run(cargo(root)
        .args(PRODUCT_TESTS)
        .env("SMCP_LOGS", &figures)
        .env("SMCP_FUNCTION", e2e_dir.join("function"))
        .env(
            "SMCP_CONFORMANCE_SERVER",
            e2e_dir.join("conformance-server"),
        )
        .env("SMCP_AUTHORIZER", e2e_dir.join("authorizer"))
        .env("SMCP_PYTHON", &tools.python)
        .env("SMCP_NODE", &tools.node)
        .env("SMCP_NPM_BIN", &tools.npm_bin)
        .env("SMCP_RIE", &tools.rie)
        .env("SMCP_CHROMIUM", &tools.chromium)
        .env("SMCP_FIGURES", &figures))?;

    // Fuzzing, bounded: the target that builds without the app (docs/fuzzing.md: the app's
    // fuzz build takes far longer than this whole run; `cargo xtask fuzz` runs them all).
    let fuzzed = fuzz::run_bounded(root, 60, &fuzz::LIGHT_TARGETS)?;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(figures.join("figures.txt"))?;
    for line in &fuzzed {
        std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes())?;
    }

    let scan = devkit::logs::scan(&figures)?;
    let report = std::fs::read_to_string(figures.join("figures.txt")).unwrap_or_default();
    println!("\nMeasured in this run:\n{report}");
    println!(
        "secrets in logs: {} secrets searched for in {} log files ({:.1} MB): {} found",
        scan.secrets,
        scan.files,
        scan.bytes as f64 / 1e6,
        scan.leaks.len()
    );
    if scan.secrets == 0 || !scan.leaks.is_empty() {
        bail!(
            "a secret the tests created is in their logs (or none was registered): {:?}",
            scan.leaks
        );
    }
    Ok(())
}
