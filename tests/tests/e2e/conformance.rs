//! The official MCP conformance suite against `tests/conformance-server` (the product's app and
//! handler with the suite's fixtures added), with a strict baseline of expected failures per
//! spec version (`tests/conformance/expected-failures-*.yaml`).

use e2e::{LocalServer, Tools};

fn run_suite(tools: &Tools, url: &str, version: &str) {
    let baseline = tools.repo.join(format!(
        "tests/conformance/expected-failures-{version}.yaml"
    ));
    let output = tools
        .npm_command("conformance")
        .args([
            "server",
            "--url",
            url,
            "--requirements",
            version,
            // Short per-scenario timeout: the session-only scenarios wait for it to fail.
            "--timeout",
            "8000",
            "--expected-failures",
        ])
        .arg(&baseline)
        .output()
        .expect("run the conformance suite");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let total = stdout
        .lines()
        .find(|l| l.starts_with("Total:"))
        .unwrap_or("Total: (missing)")
        .to_owned();
    let failing: Vec<&str> = stdout.lines().filter(|l| l.starts_with('✗')).collect();
    tools.record_figure(&format!(
        "conformance {version}: {total}; failing scenarios: {failing:?}"
    ));
    assert!(
        output.status.success(),
        "conformance {version} failed against the baseline:\n{}\n{}",
        stdout
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Baseline check passed"), "{stdout}");
}

#[test]
fn conformance_suite_2025_11_25_and_2026_07_28() {
    let tools = Tools::from_env();
    let server = LocalServer::start(
        &tools.conformance_server,
        "unused-by-the-conformance-server",
    );
    run_suite(&tools, &server.url, "2025-11-25");
    run_suite(&tools, &server.url, "2026-07-28");
}
