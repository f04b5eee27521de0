//! The zips `cargo xtask build` made (arm64, in this run of `cargo xtask test`) pass the checks
//! the Pulumi program applies before a deploy: one `bootstrap` each, an aarch64 ELF, newer
//! than every source it is built from.

use std::collections::{HashMap, HashSet};

use e2e::Tools;
use infra::{
    artifacts::bootstrap_architecture,
    settings::{Architecture, PROJECT, Settings},
};

#[test]
fn built_zips_are_arm64_fresh_and_deployable() {
    let tools = Tools::from_env();
    let root = tools.repo.canonicalize().unwrap();
    for binary in ["function", "authorizer"] {
        let zip = root
            .join("target/lambda")
            .join(binary)
            .join("bootstrap.zip");
        assert_eq!(
            bootstrap_architecture(&zip),
            Ok(Architecture::Arm64),
            "{}",
            zip.display()
        );
        let size = std::fs::metadata(&zip).unwrap().len();
        tools.record_figure(&format!(
            "lambda zip {binary} (arm64, release profile; `cargo xtask build` ships dist, smaller): {:.2} MB",
            size as f64 / 1e6
        ));
        assert!(size < 20_000_000, "{binary} zip is {size} bytes");
    }
    let key = format!("{PROJECT}:apiKey");
    let config = HashMap::from([
        ("aws:region".to_string(), "us-east-1".to_string()),
        (key.clone(), "an-api-key-long-enough-0123".to_string()),
    ]);
    let settings = Settings::from_config("dev", &config, &HashSet::from([key])).unwrap();
    let code = infra::locate_code(&root, &settings).expect("the program accepts the built zips");
    assert!(
        code.function
            .path
            .ends_with("target/lambda/function/bootstrap.zip")
    );
    assert!(
        code.authorizer
            .path
            .ends_with("target/lambda/authorizer/bootstrap.zip")
    );
}
