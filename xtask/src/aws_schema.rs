//! `cargo xtask aws-schema`: regenerates `infra/schema/aws.json`, the subset of the Pulumi AWS
//! provider schema that `infra/build.rs` turns into Rust bindings.
//!
//! The full schema only comes out of the `pulumi` CLI (not installable offline), but the npm
//! package `@pulumi/aws` carries the same facts in its `.d.ts` files: each resource class lists
//! its outputs, its `...Args` interface the inputs (optional ones end in `?`), `types/input.d.ts`
//! the nested object types, and the `.js` file the type token. This reads those for the
//! resources the program uses and writes a schema the generator accepts. Archives come out as
//! string maps (see `property_type`).
//!
//! Numbers: the `.d.ts` does not tell integers from doubles, and Pulumi Gestalt 0.0.12 is strict
//! about the difference when it reads a value back from the engine: it turns every whole number
//! into an integer (`real_pulumi_connector.rs`, `n.fract() == 0.0`) and then panics reading an
//! integer into an `f64` output, or a fraction into an `i32` one (`from_value.rs`,
//! `native.rs:212`). So every number is typed `integer` (what AWS returns for all of them but a
//! few), and the few that AWS documents as doubles ([`FRACTIONAL`]) stay `number` and are left
//! out of the resources' outputs, so the program can set them but never read one back.

use std::{
    collections::{BTreeSet, VecDeque},
    fs,
    path::Path,
    process::Command,
};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

/// The provider version the program is written against (also the plugin `pulumi up` uses).
pub const AWS_PROVIDER_VERSION: &str = "7.48.0";

/// `(module, file stem)` of every resource the program registers.
const RESOURCES: &[(&str, &str)] = &[
    ("apigatewayv2", "api"),
    ("apigatewayv2", "apiMapping"),
    ("apigatewayv2", "authorizer"),
    ("apigatewayv2", "domainName"),
    ("apigatewayv2", "integration"),
    ("apigatewayv2", "route"),
    ("apigatewayv2", "stage"),
    ("cloudfront", "distribution"),
    ("cloudwatch", "dashboard"),
    ("cloudwatch", "logGroup"),
    ("cloudwatch", "metricAlarm"),
    ("cognito", "resourceServer"),
    ("cognito", "userPool"),
    ("cognito", "userPoolClient"),
    ("cognito", "userPoolDomain"),
    ("iam", "openIdConnectProvider"),
    ("iam", "role"),
    ("iam", "rolePolicy"),
    ("iam", "rolePolicyAttachment"),
    ("lambda", "function"),
    ("lambda", "functionUrl"),
    ("lambda", "permission"),
    ("route53", "record"),
    ("secretsmanager", "secret"),
    ("secretsmanager", "secretVersion"),
    ("sns", "topic"),
    ("sns", "topicSubscription"),
];

/// Properties AWS documents as doubles (API Gateway's `throttlingRateLimit`, CloudWatch's alarm
/// `threshold`): typed `number`, and never outputs (see the module comment).
const FRACTIONAL: &[&str] = &["throttlingRateLimit", "threshold"];

pub fn regenerate(root: &Path) -> Result<()> {
    let unpacked = root.join(".tools/pulumi-aws");
    let package = unpacked.join("package");
    if !package.join("package.json").exists() {
        fs::create_dir_all(&unpacked)?;
        let tarball = format!("pulumi-aws-{AWS_PROVIDER_VERSION}.tgz");
        crate::run(
            Command::new("npm")
                .args([
                    "pack",
                    "--silent",
                    &format!("@pulumi/aws@{AWS_PROVIDER_VERSION}"),
                ])
                .current_dir(&unpacked),
        )?;
        crate::run(
            Command::new("tar")
                .args(["xzf", &tarball])
                .current_dir(&unpacked),
        )?;
    }
    let schema = build_schema(&package)?;
    let out = root.join("infra/schema/aws.json");
    fs::create_dir_all(out.parent().expect("has a parent"))?;
    fs::write(&out, serde_json::to_string_pretty(&schema)? + "\n")?;
    eprintln!(
        "wrote {} ({} resources, {} types)",
        out.display(),
        schema["resources"].as_object().map_or(0, Map::len),
        schema["types"].as_object().map_or(0, Map::len)
    );
    Ok(())
}

fn build_schema(package: &Path) -> Result<Value> {
    let inputs_dts = strip_comments(&read(&package.join("types/input.d.ts"))?);
    let mut resources = Map::new();
    let mut pending = VecDeque::new();
    for (module, stem) in RESOURCES {
        let dts = strip_comments(&read(&package.join(module).join(format!("{stem}.d.ts")))?);
        let js = read(&package.join(module).join(format!("{stem}.js")))?;
        let token =
            pulumi_type(&js).with_context(|| format!("no __pulumiType in {module}/{stem}.js"))?;
        let class = token
            .rsplit(':')
            .next()
            .expect("token has a name")
            .to_string();

        let outputs = members(block(&dts, &format!("export declare class {class} "))?)?;
        let args = members(block(&dts, &format!("export interface {class}Args "))?)?;
        let mut properties = Map::new();
        let mut required = BTreeSet::new();
        for m in outputs.iter().filter(|m| m.readonly) {
            properties.insert(m.name.clone(), property_type(&m.name, &m.ty, &mut pending)?);
            if !m.optional && !is_optional_type(&m.ty) {
                required.insert(m.name.clone());
            }
        }
        let mut input_properties = Map::new();
        let mut required_inputs = BTreeSet::new();
        for m in &args {
            input_properties.insert(m.name.clone(), property_type(&m.name, &m.ty, &mut pending)?);
            if !m.optional {
                required_inputs.insert(m.name.clone());
            }
        }
        resources.insert(
            token,
            json!({
                "properties": properties,
                "required": required,
                "inputProperties": input_properties,
                "requiredInputs": required_inputs,
            }),
        );
    }

    let mut types = Map::new();
    while let Some((module, name)) = pending.pop_front() {
        let token = format!("aws:{module}/{name}:{name}");
        if types.contains_key(&token) {
            continue;
        }
        let namespace = block(&inputs_dts, &format!("export declare namespace {module} "))?;
        let fields = members(block(namespace, &format!("interface {name} "))?)?;
        let mut properties = Map::new();
        let mut required = BTreeSet::new();
        for m in &fields {
            properties.insert(m.name.clone(), property_type(&m.name, &m.ty, &mut pending)?);
            if !m.optional {
                required.insert(m.name.clone());
            }
        }
        types.insert(
            token,
            json!({ "type": "object", "properties": properties, "required": required }),
        );
    }

    drop_fractional_outputs(&mut resources, &types);
    Ok(json!({
        "name": "aws",
        "displayName": "AWS",
        "version": AWS_PROVIDER_VERSION,
        "description": format!(
            "Subset of the Pulumi AWS provider {AWS_PROVIDER_VERSION} schema, derived from the \
             @pulumi/aws npm package by `cargo xtask aws-schema`. Do not edit by hand."
        ),
        "resources": resources,
        "types": types,
    }))
}

/// Removes every output property that is, or holds, a fractional number (see the module
/// comment): reading one back could make Gestalt panic.
fn drop_fractional_outputs(resources: &mut Map<String, Value>, types: &Map<String, Value>) {
    for resource in resources.values_mut() {
        let fractional: Vec<String> = resource["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, ty)| holds_fraction(ty, types, &mut BTreeSet::new()))
            .map(|(name, _)| name.clone())
            .collect();
        for name in fractional {
            if let Some(properties) = resource["properties"].as_object_mut() {
                properties.remove(&name);
            }
            if let Some(required) = resource["required"].as_array_mut() {
                required.retain(|n| n.as_str() != Some(&name));
            }
        }
    }
}

/// Does this schema type hold a `number` anywhere (through arrays, maps and object types)?
fn holds_fraction(ty: &Value, types: &Map<String, Value>, seen: &mut BTreeSet<String>) -> bool {
    if ty["type"] == "number" {
        return true;
    }
    if let Some(reference) = ty["$ref"].as_str().and_then(|r| r.strip_prefix("#/types/")) {
        if !seen.insert(reference.to_string()) {
            return false;
        }
        return types[reference]["properties"]
            .as_object()
            .is_some_and(|p| p.values().any(|t| holds_fraction(t, types, seen)));
    }
    ["items", "additionalProperties"]
        .iter()
        .any(|k| ty.get(*k).is_some_and(|t| holds_fraction(t, types, seen)))
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn pulumi_type(js: &str) -> Option<String> {
    let start = js.find("__pulumiType = '")? + "__pulumiType = '".len();
    let end = js[start..].find('\'')?;
    Some(js[start..start + end].to_string())
}

/// Drops `/* ... */` and `// ...` comments (the JSDoc carries no type facts).
fn strip_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    out.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text between the braces of the first declaration starting with `head`.
fn block<'a>(source: &'a str, head: &str) -> Result<&'a str> {
    let start = source
        .find(head)
        .with_context(|| format!("`{head}` not found"))?;
    let open = start + source[start..].find('{').context("no opening brace")?;
    let mut depth = 0usize;
    for (i, c) in source[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(&source[open + 1..open + i]);
                }
            }
            _ => {}
        }
    }
    bail!("unbalanced braces after `{head}`")
}

struct Member {
    name: String,
    ty: String,
    optional: bool,
    readonly: bool,
}

/// Property declarations of a class or interface body (methods and statics are skipped).
fn members(body: &str) -> Result<Vec<Member>> {
    let mut out = Vec::new();
    for decl in split_top_level(body, ';') {
        let decl = decl.split_whitespace().collect::<Vec<_>>().join(" ");
        if decl.is_empty() || decl.starts_with("static ") || decl.starts_with("constructor") {
            continue;
        }
        let (readonly, decl) = match decl.strip_prefix("readonly ") {
            Some(rest) => (true, rest.to_string()),
            None => (false, decl),
        };
        let colon = decl
            .find(':')
            .with_context(|| format!("no type in `{decl}`"))?;
        let (head, ty) = (decl[..colon].trim(), decl[colon + 1..].trim());
        if head.contains('(') {
            continue;
        }
        let optional = head.ends_with('?');
        let name = head.trim_end_matches(['?', '!']).to_string();
        out.push(Member {
            name,
            ty: ty.to_string(),
            optional,
            readonly,
        });
    }
    Ok(out)
}

/// Splits on `sep` outside any `{}`, `<>`, `()`, `[]` nesting.
fn split_top_level(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' | '<' | '(' | '[' => depth += 1,
            '}' | '>' | ')' | ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unwrap_generic<'a>(ty: &'a str, name: &str) -> Option<&'a str> {
    ty.strip_prefix(name)?.strip_prefix('<')?.strip_suffix('>')
}

fn is_optional_type(ty: &str) -> bool {
    let ty = unwrap_generic(ty.trim(), "pulumi.Output").unwrap_or(ty);
    split_top_level(ty, '|')
        .iter()
        .any(|t| t.trim() == "undefined")
}

/// The TypeScript type of property `name` as a Pulumi schema type; queues referenced object
/// types.
fn property_type(name: &str, ty: &str, pending: &mut VecDeque<(String, String)>) -> Result<Value> {
    let ty = ty.trim();
    for wrapper in ["pulumi.Input", "pulumi.Output"] {
        if let Some(inner) = unwrap_generic(ty, wrapper) {
            return property_type(name, inner, pending);
        }
    }
    let variants: Vec<&str> = split_top_level(ty, '|')
        .into_iter()
        .map(str::trim)
        .filter(|t| *t != "undefined")
        .collect();
    if variants.len() > 1 {
        // `string | enums.lambda.Runtime`, `string | PolicyDocument`: the string form is enough.
        if variants.contains(&"string") {
            return Ok(json!({ "type": "string" }));
        }
        bail!("unsupported union `{ty}`");
    }
    let ty = variants.first().context("empty type")?;
    if let Some(item) = ty.strip_suffix("[]") {
        return Ok(json!({ "type": "array", "items": property_type(name, item, pending)? }));
    }
    if let Some(body) = ty.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let value = body
            .trim()
            .strip_prefix("[key: string]:")
            .with_context(|| format!("unsupported object type `{ty}`"))?;
        let value = value.trim().trim_end_matches(';');
        return Ok(
            json!({ "type": "object", "additionalProperties": property_type(name, value, pending)? }),
        );
    }
    Ok(match *ty {
        "string" => json!({ "type": "string" }),
        "number" if FRACTIONAL.contains(&name) => json!({ "type": "number" }),
        "number" => json!({ "type": "integer" }),
        "boolean" => json!({ "type": "boolean" }),
        "any" => json!({ "$ref": "pulumi.json#/Any" }),
        // The generator would type archives as plain strings, which cannot carry Pulumi's
        // archive wire form (a map with the archive signature key and a `path`); a string
        // map can, so the program passes `code` as exactly that map.
        "pulumi.asset.Archive" => json!({
            "type": "object",
            "additionalProperties": { "type": "string" },
            "description": "A Pulumi archive in its wire form (signature key + path)."
        }),
        other => {
            let path = other
                .strip_prefix("inputs.")
                .or_else(|| other.strip_prefix("outputs."))
                .with_context(|| format!("unsupported type `{other}`"))?;
            let (module, name) = path
                .split_once('.')
                .with_context(|| format!("unsupported type `{other}`"))?;
            pending.push_back((module.to_string(), name.to_string()));
            json!({ "$ref": format!("#/types/aws:{module}/{name}:{name}") })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_properties_from_declarations() {
        let dts = strip_comments(
            "export interface FooArgs {\n  /** doc */\n  name: pulumi.Input<string>;\n  \
             tags?: pulumi.Input<{\n [key: string]: pulumi.Input<string>;\n } | undefined>;\n  \
             env?: pulumi.Input<inputs.lambda.FunctionEnvironment | undefined>;\n  \
             runtime?: pulumi.Input<string | enums.lambda.Runtime | undefined>;\n  \
             ids?: pulumi.Input<pulumi.Input<string>[] | undefined>;\n}\n",
        );
        let fields = members(block(&dts, "export interface FooArgs ").unwrap()).unwrap();
        let mut pending = VecDeque::new();
        let types: Vec<Value> = fields
            .iter()
            .map(|m| property_type(&m.name, &m.ty, &mut pending).unwrap())
            .collect();
        assert_eq!(fields[0].name, "name");
        assert!(!fields[0].optional && fields[1].optional);
        assert_eq!(types[0], json!({"type": "string"}));
        assert_eq!(
            types[1],
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        assert_eq!(
            types[2],
            json!({"$ref": "#/types/aws:lambda/FunctionEnvironment:FunctionEnvironment"})
        );
        assert_eq!(types[3], json!({"type": "string"}));
        assert_eq!(
            types[4],
            json!({"type": "array", "items": {"type": "string"}})
        );
        assert_eq!(pending, [("lambda".into(), "FunctionEnvironment".into())]);
    }

    #[test]
    fn refuses_types_it_cannot_map() {
        let mut pending = VecDeque::new();
        assert!(property_type("x", "pulumi.Input<number | boolean>", &mut pending).is_err());
        assert!(property_type("x", "Date", &mut pending).is_err());
    }

    #[test]
    fn numbers_are_integers_and_fractions_are_never_outputs() {
        let mut pending = VecDeque::new();
        let number = "pulumi.Input<number | undefined>";
        assert_eq!(
            property_type("memorySize", number, &mut pending).unwrap(),
            json!({"type": "integer"})
        );
        assert_eq!(
            property_type("throttlingRateLimit", number, &mut pending).unwrap(),
            json!({"type": "number"})
        );
        let types = Map::from_iter([(
            "aws:m/Settings:Settings".to_string(),
            json!({"type": "object", "properties": {
                "burst": {"type": "integer"}, "throttlingRateLimit": {"type": "number"}}}),
        )]);
        let mut resources = Map::from_iter([(
            "aws:m/stage:Stage".to_string(),
            json!({
                "properties": {
                    "name": {"type": "string"},
                    "memorySize": {"type": "integer"},
                    "settings": {"$ref": "#/types/aws:m/Settings:Settings"},
                    "allSettings": {"type": "array", "items": {"$ref": "#/types/aws:m/Settings:Settings"}}
                },
                "required": ["name", "settings"],
                "inputProperties": {"settings": {"$ref": "#/types/aws:m/Settings:Settings"}},
            }),
        )]);
        drop_fractional_outputs(&mut resources, &types);
        let stage = &resources["aws:m/stage:Stage"];
        // Sorted: key order depends on whether a workspace build turns on
        // serde_json's `preserve_order`.
        let mut kept = stage["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>();
        kept.sort();
        assert_eq!(kept, ["memorySize", "name"]);
        assert_eq!(stage["required"], json!(["name"]));
        assert!(
            stage["inputProperties"].get("settings").is_some(),
            "still settable"
        );
    }
}
