//! `cargo xtask client-config`: turns the stack's `clientConfig` output into the configuration
//! each MCP client expects. The formatting is pure; reading outputs and writing files is at
//! the edge (`client_config`).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Client {
    Cursor,
    Vscode,
    ClaudeCode,
    Windsurf,
    ClaudeDesktop,
}

/// Which deployment the client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Endpoint {
    /// API Gateway (buffered JSON), guarded by the authorizer.
    ApiGateway,
    /// The Function URL with response streaming (SSE progress).
    Streaming,
}

/// What a client needs, from the `clientConfig` stack output.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub name: String,
    pub url: String,
    pub header: String,
    pub key: String,
}

impl Server {
    /// Reads `pulumi stack output --json --show-secrets`.
    pub fn from_outputs(outputs: &Value, endpoint: Endpoint) -> Result<Server> {
        let config = outputs
            .get("clientConfig")
            .context("the stack has no clientConfig output: has `pulumi up` run for it?")?;
        let field = |name: &str| -> Result<String> {
            config[name]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("clientConfig has no {name}"))
        };
        // `pulumi stack output --json` without --show-secrets prints a secret output as the
        // string "[secret]" (the whole of clientConfig is one secret).
        if config.as_str() == Some("[secret]") || config["apiKey"].as_str() == Some("[secret]") {
            bail!(
                "clientConfig is a secret output and was read masked. Let this command ask \
                 Pulumi itself (leave out --outputs), or save the outputs with the secret shown:\n  \
                 pulumi stack output --json --show-secrets --stack <stack> > outputs.json\n\
                 and pass --outputs outputs.json (the file holds the API key: keep it private)"
            );
        }
        if !config.is_object() {
            bail!("clientConfig is not the object this program exports: {config}");
        }
        let url = match endpoint {
            Endpoint::ApiGateway => field("mcpUrl")?,
            Endpoint::Streaming => field("streamingMcpUrl").context(
                "this stack has no streaming endpoint (functionUrl is false); use --endpoint api-gateway",
            )?,
        };
        Ok(Server {
            name: field("serverName")?,
            url,
            header: field("apiKeyHeader")?,
            key: field("apiKey")?,
        })
    }
}

/// One client's configuration: a JSON file to merge into, or a command to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// `path` (relative to the project, or to the home folder when `in_home`), and the JSON
    /// to merge: `root[key][server name] = entry` (plus optional extra top-level members).
    File {
        path: &'static str,
        in_home: bool,
        key: &'static str,
        entry: Value,
        note: &'static str,
    },
    Command {
        line: String,
        file: Box<Rendered>,
    },
}

/// The configuration `client` expects for `server`, in the form its documentation gives today.
pub fn render(client: Client, server: &Server) -> Rendered {
    let headers = json!({ &server.header: &server.key });
    match client {
        Client::Cursor => Rendered::File {
            path: ".cursor/mcp.json",
            in_home: false,
            key: "mcpServers",
            entry: json!({ "url": server.url, "headers": headers }),
            note: "Cursor reads .cursor/mcp.json in the project (or ~/.cursor/mcp.json for all projects).",
        },
        Client::Vscode => Rendered::File {
            path: ".vscode/mcp.json",
            in_home: false,
            key: "servers",
            entry: json!({ "type": "http", "url": server.url, "headers": headers }),
            note: "VS Code reads .vscode/mcp.json in the workspace.",
        },
        Client::ClaudeCode => Rendered::Command {
            line: format!(
                "claude mcp add --transport http {} {} --header {}",
                shell_quote(&server.name),
                shell_quote(&server.url),
                shell_quote(&format!("{}: {}", server.header, server.key))
            ),
            file: Box::new(Rendered::File {
                path: ".mcp.json",
                in_home: false,
                key: "mcpServers",
                entry: json!({ "type": "http", "url": server.url, "headers": headers }),
                note: "Claude Code reads project servers from .mcp.json.",
            }),
        },
        Client::Windsurf => Rendered::File {
            path: ".codeium/windsurf/mcp_config.json",
            in_home: true,
            key: "mcpServers",
            entry: json!({ "serverUrl": server.url, "headers": headers }),
            note: "Windsurf reads ~/.codeium/windsurf/mcp_config.json.",
        },
        // Claude Desktop's config file takes local (stdio) servers; the mcp-remote bridge
        // connects it to a remote one. The key travels in an env var, not on the command line.
        Client::ClaudeDesktop => Rendered::File {
            path: CLAUDE_DESKTOP_CONFIG,
            in_home: true,
            key: "mcpServers",
            entry: json!({
                "command": "npx",
                "args": ["-y", "mcp-remote", server.url, "--header", format!("{}:${{MCP_API_KEY}}", server.header)],
                "env": { "MCP_API_KEY": server.key }
            }),
            note: "Claude Desktop reads claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/, \
                   Windows: %APPDATA%\\Claude\\); restart it after the change. Needs Node.js for npx.",
        },
    }
}

#[cfg(target_os = "macos")]
const CLAUDE_DESKTOP_CONFIG: &str = "Library/Application Support/Claude/claude_desktop_config.json";
#[cfg(not(target_os = "macos"))]
const CLAUDE_DESKTOP_CONFIG: &str = ".config/Claude/claude_desktop_config.json";

/// Adds (or replaces) one server in an existing config, keeping everything else.
pub fn merge(existing: Option<Value>, key: &str, name: &str, entry: &Value) -> Result<Value> {
    let mut root = existing.unwrap_or_else(|| json!({}));
    let object = root
        .as_object_mut()
        .context("the existing file is not a JSON object")?;
    let servers = object.entry(key).or_insert_with(|| json!({}));
    servers
        .as_object_mut()
        .with_context(|| format!("`{key}` in the existing file is not an object"))?
        .insert(name.to_string(), entry.clone());
    Ok(root)
}

/// A POSIX shell word.
fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl Rendered {
    /// What to show the user: the command, or the file's JSON under comment lines.
    pub fn printable(&self, server_name: &str) -> String {
        match self {
            Rendered::File {
                path,
                in_home,
                key,
                entry,
                note,
            } => {
                let home = if *in_home { "~/" } else { "" };
                let document = json!({ *key: { server_name: entry } });
                format!(
                    "// {note}\n// Add to {home}{path}:\n{}",
                    serde_json::to_string_pretty(&document).expect("JSON values serialize")
                )
            }
            Rendered::Command { line, .. } => line.clone(),
        }
    }
}

/// The command's edge: read the outputs, print, or merge into the client's file.
pub fn client_config(
    root: &Path,
    stack: &str,
    client: Client,
    endpoint: Endpoint,
    outputs_file: Option<&Path>,
    write: bool,
) -> Result<()> {
    let outputs: Value = match outputs_file {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?,
        None => {
            let output = Command::new("pulumi")
                .args([
                    "stack",
                    "output",
                    "--json",
                    "--show-secrets",
                    "--stack",
                    stack,
                ])
                .current_dir(root)
                .output()
                .context(
                    "could not run `pulumi` (install it: https://www.pulumi.com/docs/install/)",
                )?;
            if !output.status.success() {
                bail!(
                    "`pulumi stack output --stack {stack}` failed:\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            serde_json::from_slice(&output.stdout).context("pulumi printed no JSON")?
        }
    };
    let server = Server::from_outputs(&outputs, endpoint)?;
    let rendered = render(client, &server);
    if !write {
        println!("{}", rendered.printable(&server.name));
        eprintln!("(this includes the API key: keep it out of version control)");
        return Ok(());
    }
    let file = match &rendered {
        Rendered::Command { file, .. } => file.as_ref(),
        file => file,
    };
    let Rendered::File {
        path,
        in_home,
        key,
        entry,
        ..
    } = file
    else {
        unreachable!("commands carry a file form");
    };
    let target: PathBuf = if *in_home {
        PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(path)
    } else {
        std::env::current_dir()?.join(path)
    };
    let existing =
        match std::fs::read_to_string(&target) {
            Ok(text) => Some(serde_json::from_str(&text).with_context(|| {
                format!("{} is not valid JSON; not touching it", target.display())
            })?),
            Err(_) => None,
        };
    let merged = merge(existing, key, &server.name, entry)?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&target, serde_json::to_string_pretty(&merged)? + "\n")?;
    eprintln!(
        "wrote server {} to {} (it holds the API key: keep it out of version control)",
        server.name,
        target.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> Value {
        json!({
            "mcpUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp",
            "clientConfig": {
                "serverName": "serverless-mcp-dev",
                "mcpUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp",
                "streamingMcpUrl": "https://xyz.lambda-url.eu-west-1.on.aws/mcp",
                "apiKeyHeader": "x-api-key",
                "apiKey": "k3y'with-quote"
            }
        })
    }

    fn server(endpoint: Endpoint) -> Server {
        Server::from_outputs(&outputs(), endpoint).unwrap()
    }

    fn file_entry(rendered: &Rendered) -> (&'static str, &'static str, Value) {
        match rendered {
            Rendered::File {
                path, key, entry, ..
            } => (path, key, entry.clone()),
            Rendered::Command { file, .. } => file_entry(file),
        }
    }

    #[test]
    fn reads_the_endpoint_asked_for() {
        assert_eq!(
            server(Endpoint::ApiGateway).url,
            "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp"
        );
        assert_eq!(
            server(Endpoint::Streaming).url,
            "https://xyz.lambda-url.eu-west-1.on.aws/mcp"
        );
        let mut no_stream = outputs();
        no_stream["clientConfig"]
            .as_object_mut()
            .unwrap()
            .remove("streamingMcpUrl");
        let err = Server::from_outputs(&no_stream, Endpoint::Streaming).unwrap_err();
        assert!(format!("{err:#}").contains("functionUrl is false"));
        let mut masked = outputs();
        masked["clientConfig"]["apiKey"] = json!("[secret]");
        assert!(Server::from_outputs(&masked, Endpoint::ApiGateway).is_err());
        let whole = json!({"mcpUrl": "https://x/mcp", "clientConfig": "[secret]"});
        let err = format!(
            "{:#}",
            Server::from_outputs(&whole, Endpoint::ApiGateway).unwrap_err()
        );
        assert!(
            err.contains("--show-secrets") && !err.contains("has no mcpUrl"),
            "{err}"
        );
        assert!(Server::from_outputs(&json!({}), Endpoint::ApiGateway).is_err());
    }

    #[test]
    fn cursor() {
        let (path, key, entry) = file_entry(&render(Client::Cursor, &server(Endpoint::ApiGateway)));
        assert_eq!((path, key), (".cursor/mcp.json", "mcpServers"));
        assert_eq!(
            entry,
            json!({"url": "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp", "headers": {"x-api-key": "k3y'with-quote"}})
        );
    }

    #[test]
    fn vscode_says_http() {
        let (path, key, entry) = file_entry(&render(Client::Vscode, &server(Endpoint::Streaming)));
        assert_eq!((path, key), (".vscode/mcp.json", "servers"));
        assert_eq!(entry["type"], "http");
        assert_eq!(entry["url"], "https://xyz.lambda-url.eu-west-1.on.aws/mcp");
        assert_eq!(entry["headers"]["x-api-key"], "k3y'with-quote");
    }

    #[test]
    fn claude_code_command_is_shell_safe() {
        let rendered = render(Client::ClaudeCode, &server(Endpoint::ApiGateway));
        let Rendered::Command { line, .. } = &rendered else {
            panic!("a command")
        };
        assert_eq!(
            line,
            r#"claude mcp add --transport http serverless-mcp-dev https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp --header 'x-api-key: k3y'\''with-quote'"#
        );
        let (path, _, entry) = file_entry(&rendered);
        assert_eq!((path, &entry["type"]), (".mcp.json", &json!("http")));
    }

    #[test]
    fn windsurf_uses_server_url() {
        let (path, _, entry) = file_entry(&render(Client::Windsurf, &server(Endpoint::ApiGateway)));
        assert_eq!(path, ".codeium/windsurf/mcp_config.json");
        assert_eq!(
            entry["serverUrl"],
            "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp"
        );
        assert!(entry.get("url").is_none());
    }

    #[test]
    fn claude_desktop_goes_through_the_bridge_with_the_key_in_env() {
        let (_, _, entry) =
            file_entry(&render(Client::ClaudeDesktop, &server(Endpoint::Streaming)));
        assert_eq!(entry["command"], "npx");
        assert_eq!(
            entry["args"],
            json!([
                "-y",
                "mcp-remote",
                "https://xyz.lambda-url.eu-west-1.on.aws/mcp",
                "--header",
                "x-api-key:${MCP_API_KEY}"
            ])
        );
        assert_eq!(entry["env"]["MCP_API_KEY"], "k3y'with-quote");
        assert!(
            !entry["args"].to_string().contains("k3y"),
            "the key stays off the command line"
        );
    }

    #[test]
    fn merge_keeps_other_servers() {
        let existing = json!({"mcpServers": {"other": {"url": "https://o"}}, "theme": 1});
        let merged = merge(
            Some(existing),
            "mcpServers",
            "serverless-mcp-dev",
            &json!({"url": "u"}),
        )
        .unwrap();
        assert_eq!(merged["mcpServers"]["other"]["url"], "https://o");
        assert_eq!(merged["mcpServers"]["serverless-mcp-dev"]["url"], "u");
        assert_eq!(merged["theme"], 1);
        let fresh = merge(None, "servers", "s", &json!({})).unwrap();
        assert_eq!(fresh, json!({"servers": {"s": {}}}));
        assert!(merge(Some(json!([1])), "servers", "s", &json!({})).is_err());
        assert!(merge(Some(json!({"servers": 3})), "servers", "s", &json!({})).is_err());
    }

    #[test]
    fn printed_form_is_valid_json_after_the_comments() {
        let text =
            render(Client::Cursor, &server(Endpoint::ApiGateway)).printable("serverless-mcp-dev");
        let json_part: String = text
            .lines()
            .filter(|l| !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Value = serde_json::from_str(&json_part).unwrap();
        assert!(parsed["mcpServers"]["serverless-mcp-dev"]["url"].is_string());
    }
}
