//! The function binary's start-up checks: clear errors for bad settings, before serving anything.

use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_function"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("MCP_API_KEY")
        .env_remove("MCP_API_KEY_SECRET_ID")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn local_server_refuses_non_loopback_addresses() {
    let (ok, stderr) = run(&["--host", "0.0.0.0", "--port", "0"], &[]);
    assert!(!ok);
    assert!(stderr.contains("loopback"), "{stderr}");
}

#[test]
fn lambda_mode_refuses_to_start_without_a_key_source() {
    let (ok, stderr) = run(&[], &[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")]);
    assert!(!ok);
    assert!(
        stderr.contains("MCP_API_KEY_SECRET_ID") && stderr.contains("MCP_API_KEY"),
        "{stderr}"
    );
}

#[test]
fn lambda_mode_names_a_bad_setting() {
    let (ok, stderr) = run(
        &[],
        &[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
            ("MCP_API_KEY", "k"),
            ("MCP_LAMBDA_MODE", "stream"),
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("MCP_LAMBDA_MODE"), "{stderr}");
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (ok, stderr) = run(&["--port", &port], &[("MCP_API_KEY", "k")]);
    assert!(!ok);
    assert!(
        stderr.contains("could not listen") && stderr.contains("--port"),
        "{stderr}"
    );
}

#[test]
fn a_bad_body_limit_is_refused() {
    let (ok, stderr) = run(
        &["--port", "0", "--max-body-bytes", "10"],
        &[("MCP_API_KEY", "k")],
    );
    assert!(!ok);
    assert!(
        stderr.contains("max-body-bytes") && stderr.contains("1024"),
        "{stderr}"
    );
}
