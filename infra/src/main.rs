//! Run by the Pulumi rust language host (`pulumi up`): checks the settings and the Lambda zips
//! before talking to the engine, so mistakes stop with one clear message.

use std::{path::PathBuf, process::ExitCode};

use infra::settings::Settings;

fn main() -> ExitCode {
    let var = |name: &str| std::env::var(name).ok();
    let settings = match Settings::from_pulumi_env(var) {
        Ok(settings) => settings,
        Err(e) => return fail(&e.to_string()),
    };
    let root = var("PULUMI_ROOT_DIRECTORY").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let code = match infra::locate_code(&root, &settings) {
        Ok(code) => code,
        Err(e) => return fail(&e.to_string()),
    };
    match pulumi_gestalt_rust::run(|ctx| infra::stack::program(ctx, &settings, &code)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
