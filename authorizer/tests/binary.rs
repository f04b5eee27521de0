//! The authorizer binary refuses to start without its configuration, saying what is missing.

use std::process::Command;

#[test]
fn refuses_to_start_without_a_secret_id() {
    let output = Command::new(env!("CARGO_BIN_EXE_authorizer"))
        .env_remove("MCP_API_KEY_SECRET_ID")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MCP_API_KEY_SECRET_ID"), "{stderr}");
}

#[test]
fn refuses_bad_cache_settings() {
    let output = Command::new(env!("CARGO_BIN_EXE_authorizer"))
        .env("MCP_API_KEY_SECRET_ID", "mcp/key")
        .env("MCP_KEY_CACHE_TTL_SECONDS", "soon")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("MCP_KEY_CACHE_TTL_SECONDS"));
}

#[test]
fn refuses_an_auth_mode_it_does_not_serve() {
    let output = Command::new(env!("CARGO_BIN_EXE_authorizer"))
        .env("MCP_API_KEY_SECRET_ID", "mcp/key")
        .env("MCP_AUTH_MODE", "oauth")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("MCP_AUTH_MODE"));
}
