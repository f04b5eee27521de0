//! `Pulumi.yaml` as the Pulumi CLI checks it on every command: against Pulumi's own project
//! schema (`infra/schema/pulumi-project.json`, verbatim from pulumi/pulumi), then each config
//! default against its declared type; and both against the program's own settings table.

use std::{fs, path::Path};

use infra::settings::{SETTINGS, SettingType};
use serde_json::Value;

fn repo_file(name: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn yaml(name: &str) -> Value {
    serde_norway::from_str(&repo_file(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn project_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&repo_file("infra/schema/pulumi-project.json"))
        .expect("the committed project schema is JSON");
    jsonschema::draft202012::new(&schema).expect("Pulumi's project schema compiles")
}

/// What the schema says is wrong with a project, one line per error.
fn schema_errors(project: &Value) -> Vec<String> {
    project_schema()
        .iter_errors(project)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// `ValidateConfigValue` in pulumi/pulumi `sdk/go/common/workspace/project.go`: an integer is
/// a whole number (or a string that parses as one), a boolean a bool or "true"/"false".
fn has_type(value: &Value, declared: &str) -> bool {
    match declared {
        "string" => value.is_string(),
        "integer" => {
            value.is_i64()
                || value.as_f64().is_some_and(|f| f.fract() == 0.0)
                || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok())
        }
        "boolean" => value.is_boolean() || matches!(value.as_str(), Some("true" | "false")),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

fn declared_type(t: SettingType) -> &'static str {
    match t {
        SettingType::String => "string",
        SettingType::Integer => "integer",
        SettingType::Boolean => "boolean",
    }
}

#[test]
fn pulumi_yaml_passes_pulumis_project_schema() {
    let project = yaml("Pulumi.yaml");
    let errors = schema_errors(&project);
    assert!(
        errors.is_empty(),
        "Pulumi.yaml is invalid:\n{}",
        errors.join("\n")
    );

    // The check catches the defect that once made every `pulumi` command fail.
    let mut broken = project.clone();
    broken["config"]["throttlingRateLimit"]["type"] = Value::from("number");
    assert!(
        !schema_errors(&broken).is_empty(),
        "a config type of `number` must be refused, as the CLI does"
    );
}

#[test]
fn every_default_has_its_declared_type() {
    let project = yaml("Pulumi.yaml");
    let config = project["config"].as_object().expect("a config map");
    for (key, declaration) in config {
        let declared = declaration["type"]
            .as_str()
            .unwrap_or_else(|| panic!("{key} declares no type"));
        assert!(
            declaration.get("default").is_none() || declaration.get("value").is_none(),
            "{key}: cannot have both a default and a value"
        );
        if let Some(default) = declaration.get("default") {
            assert!(
                has_type(default, declared),
                "The default value specified for configuration key '{key}' is not of the expected type '{declared}' ({default})"
            );
            // Stricter than the CLI: a YAML integer, not a quoted one, so the file reads as it means.
            if declared == "integer" {
                assert!(default.is_i64(), "{key}: write the default as a number");
            }
        }
    }
}

#[test]
fn pulumi_yaml_declares_exactly_the_programs_settings() {
    let project = yaml("Pulumi.yaml");
    let config = project["config"].as_object().unwrap();
    let declared: Vec<&str> = config.keys().map(String::as_str).collect();
    let ours: Vec<&str> = SETTINGS.iter().map(|(k, _, _)| *k).collect();
    let (mut a, mut b) = (declared.clone(), ours.clone());
    a.sort();
    b.sort();
    assert_eq!(
        a, b,
        "Pulumi.yaml and infra::settings::SETTINGS list different settings"
    );
    for (key, kind, default) in SETTINGS {
        let declaration = &config[*key];
        assert_eq!(declaration["type"], declared_type(*kind), "type of {key}");
        let yaml_default = declaration.get("default").map(|d| match d {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        assert_eq!(yaml_default.as_deref(), *default, "default of {key}");
        assert!(
            declaration["description"]
                .as_str()
                .is_some_and(|d| d.len() > 10),
            "{key} needs a description (shown by `pulumi config`)"
        );
    }
}

#[test]
fn committed_stage_values_have_the_declared_types() {
    let project = yaml("Pulumi.yaml");
    let stage = yaml("Pulumi.dev.yaml");
    let errors = schema_errors(&project);
    assert!(errors.is_empty());
    for (key, value) in stage["config"]
        .as_object()
        .expect("Pulumi.dev.yaml has config")
    {
        let Some(key) = key.strip_prefix("serverless-mcp:") else {
            assert!(key.starts_with("aws:"), "unexpected namespace in {key}");
            continue;
        };
        let declared = project["config"][key]["type"].as_str().unwrap_or_else(|| {
            panic!("Pulumi.dev.yaml sets {key}, which Pulumi.yaml does not declare")
        });
        assert!(
            has_type(value, declared),
            "Stack 'dev' with configuration key '{key}' must be of type '{declared}'"
        );
    }
}
