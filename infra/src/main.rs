//! Run by the Pulumi rust language host (`pulumi up`): checks itself, the settings and the
//! Lambda zips before talking to the engine, so mistakes stop with one clear message.
//!
//! `infra destroy-plan` (used by `cargo xtask destroy`) reads `pulumi stack export` on stdin
//! and prints the order to delete the stage in (see `teardown.rs`).
#![forbid(unsafe_code)]

use std::{io::Read, path::PathBuf, process::ExitCode};

use infra::{artifacts, settings::Settings, teardown};

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => run_program(),
        Some("destroy-plan") => destroy_plan(),
        Some(other) => fail(&format!(
            "unknown command {other:?}: run without arguments (by `pulumi`), or `destroy-plan`"
        )),
    }
}

fn run_program() -> ExitCode {
    let var = |name: &str| std::env::var(name).ok();
    // The language host passes an absolute project directory; the fallback keeps paths
    // absolute too (the engine resolves a relative archive path against its own directory).
    let root = var("PULUMI_ROOT_DIRECTORY")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    if let Err(e) = artifacts::check_target_dir(&root, var("CARGO_TARGET_DIR").as_deref()) {
        return fail(&e.to_string());
    }
    if let Ok(program) = std::env::current_exe()
        && let Err(e) = artifacts::check_program(&root, &program)
    {
        return fail(&e.to_string());
    }
    let settings = match Settings::from_pulumi_env(var) {
        Ok(settings) => settings,
        Err(e) => return fail(&e.to_string()),
    };
    let code = match infra::locate_code(&root, &settings) {
        Ok(code) => code,
        Err(e) => return fail(&e.to_string()),
    };
    match pulumi_gestalt_rust::run(|ctx| infra::stack::program(ctx, &settings, &code)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

fn destroy_plan() -> ExitCode {
    let mut export = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut export) {
        return fail(&format!("could not read the stack export on stdin: {e}"));
    }
    let plan = serde_json::from_str(&export)
        .map_err(|e| teardown::PlanError::NotAnExport(e.to_string()))
        .and_then(|export| teardown::plan(&export));
    match plan {
        Ok(plan) => {
            println!("{}", serde_json::to_string(&plan).expect("plans serialize"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
