//! The MCP conformance suite's authorization-server scenarios (`conformance authorization`)
//! against the facade: its metadata checks, then a real authorization code grant, where the
//! suite prints the authorization URL for a person to open and our browser script plays the
//! person (consent, then the Cognito stand-in's login).

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    sync::mpsc,
    time::Duration,
};

use e2e::{
    Process, Tools, free_port,
    oauth::{OAuthStage, PASSWORD, USERNAME},
};
use serde_json::Value;

const CLIENT_ID: &str = "mcp-conformance-suite";

#[test]
fn conformance_suite_authorization_server_scenarios_pass() {
    let tools = Tools::from_env();
    // The suite is a pre-registered public client with a loopback redirect (any port).
    let clients = format!(
        r#"[{{"client_id":"{CLIENT_ID}","client_name":"MCP conformance suite","redirect_uris":["http://127.0.0.1/callback"]}}]"#
    );
    let stage = OAuthStage::start_with(&tools.function, &[("MCP_OAUTH_CLIENTS", clients)]);
    let port = free_port().to_string();
    let mut command = tools.npm_command("conformance");
    command
        .args([
            "authorization",
            "--url",
            stage.base(),
            "--client-id",
            CLIENT_ID,
        ])
        .args(["--resource", stage.resource(), "--port", &port])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut suite = Process::spawn(&mut command).expect("start the conformance suite");
    let stdout = suite.child().stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut output = Vec::new();
    let authorize_prefix = format!("{}/authorize?", stage.base());
    let url = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the suite printed no authorization URL: {output:#?}"));
        output.push(line.clone());
        if line.starts_with(&authorize_prefix) {
            break line;
        }
    };
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let browser = std::process::Command::new(&tools.node)
        .arg(tools.repo.join("tests/npm/browser_sign_in.mjs"))
        .args([&url, &redirect_uri, USERNAME, PASSWORD, "allow"])
        .env("SMCP_CHROMIUM", &tools.chromium)
        .output()
        .expect("run the browser");
    let signed_in: Value = String::from_utf8_lossy(&browser.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("browser: {}", String::from_utf8_lossy(&browser.stderr)));
    // The browser stops at the redirect; deliver it to the suite's callback server.
    let redirect = signed_in["redirect"]
        .as_str()
        .expect("a redirect")
        .to_owned();
    let _ = e2e::get(&redirect);
    // The suite exchanges the code and reports; bounded wait for its last lines.
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(60)) {
        output.push(line);
    }
    let status = suite.child().wait().expect("the suite ends");
    let text = output.join("\n");
    tools.record_figure(&format!(
        "conformance authorization (server metadata + code grant): {}",
        output
            .iter()
            .rev()
            .find(|l| l.contains("passed") || l.contains("Total"))
            .cloned()
            .unwrap_or_default()
    ));
    assert!(status.success(), "the suite failed:\n{text}");
    for scenario in [
        "authorization-server-metadata-endpoint",
        "authorization-code-grant",
    ] {
        assert!(text.contains(scenario), "{scenario} did not run:\n{text}");
    }
    assert!(!text.contains("FAILURE") && !text.contains('✗'), "{text}");
}
