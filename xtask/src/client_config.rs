//! `cargo xtask client-config`: turns the stack's `clientConfig` output into the configuration
//! each MCP client expects, for the stage's `authMode`: the API key in a header (`apiKey`), just
//! the URL for clients that sign in with OAuth (`oauth`), or both forms (`both`). The formatting
//! is pure; reading outputs and writing files is at the edge (`client_config`).

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
    /// claude.ai custom connector (OAuth sign-in only).
    ClaudeAi,
    /// ChatGPT connector in developer mode (OAuth sign-in only).
    Chatgpt,
    /// The MCP Inspector (`npx @modelcontextprotocol/inspector`).
    Inspector,
}

impl Client {
    fn label(self) -> &'static str {
        match self {
            Client::Cursor => "Cursor",
            Client::Vscode => "VS Code",
            Client::ClaudeCode => "Claude Code",
            Client::Windsurf => "Windsurf",
            Client::ClaudeDesktop => "Claude Desktop",
            Client::ClaudeAi => "claude.ai",
            Client::Chatgpt => "ChatGPT",
            Client::Inspector => "the MCP Inspector",
        }
    }
}

/// Which deployment the client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Endpoint {
    /// API Gateway (buffered JSON), guarded by the authorizer.
    ApiGateway,
    /// The Function URL with response streaming (SSE progress).
    Streaming,
}

/// How the stage lets clients in: the `authMode` stack output (absent on stacks deployed
/// before OAuth existed, which are `apiKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    ApiKey,
    OAuth,
    Both,
}

/// The header and key of an `apiKey` / `both` stage.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub header: String,
    pub key: String,
}

/// What a client needs, from the stack outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub name: String,
    pub url: String,
    pub mode: AuthMode,
    /// Present in `apiKey` and `both` mode.
    pub api_key: Option<ApiKey>,
}

/// How one rendered configuration lets the client in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Access<'a> {
    /// The API key in a header.
    Key(&'a ApiKey),
    /// Just the URL: the client discovers the OAuth server and signs the user in.
    SignIn,
}

/// `pulumi stack output --json` without `--show-secrets` prints a secret as this string.
const MASKED: &str = "[secret]";

fn url_for(source: &Value, endpoint: Endpoint, what: &str) -> Result<String> {
    let (name, missing) = match endpoint {
        Endpoint::ApiGateway => ("mcpUrl", String::new()),
        Endpoint::Streaming => (
            "streamingMcpUrl",
            " (this stack has no streaming endpoint: functionUrl is false; use --endpoint api-gateway)"
                .to_string(),
        ),
    };
    source[name]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("{what} has no {name}{missing}"))
}

impl Server {
    /// Reads `pulumi stack output --json --show-secrets` of the stack `stack`.
    pub fn from_outputs(outputs: &Value, endpoint: Endpoint, stack: &str) -> Result<Server> {
        let mode = match outputs.get("authMode").and_then(Value::as_str) {
            None | Some("apiKey") => AuthMode::ApiKey,
            Some("oauth") => AuthMode::OAuth,
            Some("both") => AuthMode::Both,
            Some(other) => bail!(
                "the stack's authMode output is {other:?}; this command knows apiKey, oauth and both"
            ),
        };
        let config = outputs
            .get("clientConfig")
            .context("the stack has no clientConfig output: has `pulumi up` run for it?")?;
        // Without --show-secrets the whole of clientConfig (one secret) reads "[secret]".
        if config.as_str() == Some(MASKED) && mode == AuthMode::OAuth {
            // Nothing a signing-in client needs is secret: the URLs are plain outputs too, and
            // the server name is the one the program gives it.
            return Ok(Server {
                name: format!("serverless-mcp-{stack}"),
                url: url_for(outputs, endpoint, "the stack")?,
                mode,
                api_key: None,
            });
        }
        if config.as_str() == Some(MASKED) || config["apiKey"].as_str() == Some(MASKED) {
            bail!(
                "clientConfig is a secret output and was read masked. Let this command ask \
                 Pulumi itself (leave out --outputs), or save the outputs with the secret shown:\n  \
                 pulumi stack output --json --show-secrets --stack {stack} > outputs.json\n\
                 and pass --outputs outputs.json (the file holds the API key: keep it private)"
            );
        }
        if !config.is_object() {
            bail!("clientConfig is not the object this program exports: {config}");
        }
        let field = |name: &str| -> Result<String> {
            config[name]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("clientConfig has no {name}"))
        };
        let api_key = match mode {
            AuthMode::OAuth => None,
            AuthMode::ApiKey | AuthMode::Both => Some(ApiKey {
                header: field("apiKeyHeader")?,
                key: field("apiKey")?,
            }),
        };
        Ok(Server {
            name: field("serverName")?,
            url: url_for(config, endpoint, "clientConfig")?,
            mode,
            api_key,
        })
    }
}

/// One client's configuration: a JSON file to merge into, a command to run, or steps to
/// follow in a client that has no configuration file.
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
    /// A shell command, what to do after it, and the file form `--write` merges instead.
    Command {
        line: String,
        note: &'static str,
        file: Option<Box<Rendered>>,
    },
    /// Steps in a client's UI.
    Steps { steps: Vec<String> },
}

/// The configurations `client` takes for `server`: one per way the stage lets it in, the
/// API key first (`both` gives both; clients that cannot send a key only get sign-in).
pub fn configs(client: Client, server: &Server) -> Result<Vec<(Access<'_>, Rendered)>> {
    let key_ok = !matches!(client, Client::ClaudeAi | Client::Chatgpt);
    let mut access = Vec::new();
    match (&server.api_key, server.mode) {
        (Some(key), AuthMode::ApiKey | AuthMode::Both) if key_ok => access.push(Access::Key(key)),
        (_, AuthMode::ApiKey) => bail!(
            "{} cannot send an API key: it connects to remote MCP servers only through OAuth \
             sign-in, and this stage's authMode is apiKey. Deploy it with \
             `pulumi config set authMode both` (or oauth): see the README, OAuth sign-in",
            client.label()
        ),
        _ => {}
    }
    if server.mode != AuthMode::ApiKey {
        access.push(Access::SignIn);
    }
    Ok(access
        .into_iter()
        .map(|a| (a, render(client, server, a)))
        .collect())
}

/// The configuration `client` expects for `server` with `access`, in the form its
/// documentation gives today. claude.ai and ChatGPT only take [`Access::SignIn`].
pub fn render(client: Client, server: &Server, access: Access<'_>) -> Rendered {
    let headers = match access {
        Access::Key(k) => Some(json!({ &k.header: &k.key })),
        Access::SignIn => None,
    };
    // `base` plus `"headers"` when the key goes in one.
    let with_headers = |mut base: Value| {
        if let Some(headers) = &headers {
            base["headers"] = headers.clone();
        }
        base
    };
    let url = &server.url;
    match client {
        Client::Cursor => Rendered::File {
            path: ".cursor/mcp.json",
            in_home: false,
            key: "mcpServers",
            entry: with_headers(json!({ "url": url })),
            note: match access {
                Access::Key(_) => {
                    "Cursor reads .cursor/mcp.json in the project (or ~/.cursor/mcp.json for all projects)."
                }
                Access::SignIn => {
                    "Cursor reads .cursor/mcp.json in the project (or ~/.cursor/mcp.json for all projects); \
                     it runs the sign-in in the browser when it connects."
                }
            },
        },
        Client::Vscode => Rendered::File {
            path: ".vscode/mcp.json",
            in_home: false,
            key: "servers",
            entry: with_headers(json!({ "type": "http", "url": url })),
            note: match access {
                Access::Key(_) => "VS Code reads .vscode/mcp.json in the workspace.",
                Access::SignIn => {
                    "VS Code reads .vscode/mcp.json in the workspace; it opens the browser to sign \
                     in on the first connection."
                }
            },
        },
        Client::ClaudeCode => Rendered::Command {
            line: match access {
                Access::Key(k) => format!(
                    "claude mcp add --transport http {} {} --header {}",
                    shell_quote(&server.name),
                    shell_quote(url),
                    shell_quote(&format!("{}: {}", k.header, k.key))
                ),
                Access::SignIn => format!(
                    "claude mcp add --transport http {} {}",
                    shell_quote(&server.name),
                    shell_quote(url)
                ),
            },
            note: match access {
                Access::Key(_) => "",
                Access::SignIn => {
                    "Then, in Claude Code, run /mcp, pick the server and Authenticate: the browser opens the sign-in."
                }
            },
            file: Some(Box::new(Rendered::File {
                path: ".mcp.json",
                in_home: false,
                key: "mcpServers",
                entry: with_headers(json!({ "type": "http", "url": url })),
                note: "Claude Code reads project servers from .mcp.json.",
            })),
        },
        Client::Windsurf => Rendered::File {
            path: ".codeium/windsurf/mcp_config.json",
            in_home: true,
            key: "mcpServers",
            entry: with_headers(json!({ "serverUrl": url })),
            note: match access {
                Access::Key(_) => "Windsurf reads ~/.codeium/windsurf/mcp_config.json.",
                Access::SignIn => {
                    "Windsurf reads ~/.codeium/windsurf/mcp_config.json; it opens the browser to sign \
                     in on first use."
                }
            },
        },
        // Claude Desktop's config file takes local (stdio) servers; the mcp-remote bridge
        // connects it to a remote one. The key travels in an env var, not on the command line;
        // without one, mcp-remote runs the OAuth sign-in itself.
        Client::ClaudeDesktop => Rendered::File {
            path: CLAUDE_DESKTOP_CONFIG,
            in_home: true,
            key: "mcpServers",
            entry: match access {
                Access::Key(k) => json!({
                    "command": "npx",
                    "args": ["-y", "mcp-remote", url, "--header", format!("{}:${{MCP_API_KEY}}", k.header)],
                    "env": { "MCP_API_KEY": k.key }
                }),
                Access::SignIn => json!({ "command": "npx", "args": ["-y", "mcp-remote", url] }),
            },
            note: match access {
                Access::Key(_) => {
                    "Claude Desktop reads claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/, \
                     Windows: %APPDATA%\\Claude\\); restart it after the change. Needs Node.js for npx."
                }
                Access::SignIn => {
                    "Claude Desktop reads claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/, \
                     Windows: %APPDATA%\\Claude\\); restart it after the change. Needs Node.js for npx; mcp-remote \
                     opens the browser to sign in. Or skip the file: add the URL as a custom connector \
                     (see --client claude-ai), which Claude Desktop shares with claude.ai."
                }
            },
        },
        Client::ClaudeAi => Rendered::Steps {
            steps: vec![
                "claude.ai: Settings → Connectors → Add custom connector (Team/Enterprise: an Owner adds it \
                 for the organization first, then each member connects)."
                    .into(),
                format!("Name: {}", server.name),
                format!("Remote MCP server URL: {url}"),
                "Leave Advanced settings empty (the connector registers itself), click Add, then Connect."
                    .into(),
                "A browser window shows this server's consent page (Allow), then the Cognito sign-in.".into(),
            ],
        },
        Client::Chatgpt => Rendered::Steps {
            steps: vec![
                "ChatGPT: Settings → Connectors → Advanced → turn on Developer mode (workspaces: an admin \
                 allows it first), then Settings → Connectors → Create."
                    .into(),
                format!("Name: {}; Connector URL: {url}; Authentication: OAuth", server.name),
                "Create: ChatGPT opens this server's consent page (Allow), then the Cognito sign-in.".into(),
                "In a chat: + → Developer mode, and turn the connector on.".into(),
            ],
        },
        Client::Inspector => match access {
            Access::Key(k) => Rendered::Command {
                line: format!(
                    "npx @modelcontextprotocol/inspector --cli {} --transport http --header {} --method tools/list",
                    shell_quote(url),
                    shell_quote(&format!("{}: {}", k.header, k.key))
                ),
                note: "Or the web UI: npx @modelcontextprotocol/inspector, Transport Type Streamable HTTP, \
                       the URL, and the key as a custom header.",
                file: None,
            },
            Access::SignIn => Rendered::Steps {
                steps: vec![
                    "npx @modelcontextprotocol/inspector (opens http://localhost:6274 in the browser)".into(),
                    format!("Transport Type: Streamable HTTP; URL: {url}; Connection Type: Via Proxy"),
                    "Open Auth Settings → Quick OAuth Flow (or Guided OAuth Flow, step by step): the \
                     consent page (Allow), the Cognito sign-in, back to the Inspector; then Connect."
                        .into(),
                ],
            },
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
    /// What to show the user: the command, the file's JSON under comment lines, or the steps.
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
            Rendered::Command { line, note: "", .. } => line.clone(),
            Rendered::Command { line, note, .. } => format!("{line}\n# {note}"),
            Rendered::Steps { steps } => steps
                .iter()
                .enumerate()
                .map(|(i, step)| format!("{}. {step}", i + 1))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The file `--write` merges into, if this client has one.
    fn file(&self) -> Option<&Rendered> {
        match self {
            Rendered::File { .. } => Some(self),
            Rendered::Command { file, .. } => file.as_deref(),
            Rendered::Steps { .. } => None,
        }
    }

    fn comment(&self) -> &'static str {
        match self {
            Rendered::File { .. } => "//",
            Rendered::Command { .. } | Rendered::Steps { .. } => "#",
        }
    }
}

/// What the command prints: each configuration, under a heading when there are two.
pub fn printable(configs: &[(Access<'_>, Rendered)], server_name: &str) -> String {
    if let [(_, only)] = configs {
        return only.printable(server_name);
    }
    configs
        .iter()
        .map(|(access, rendered)| {
            let heading = match access {
                Access::Key(k) => format!("With the API key ({} header):", k.header),
                Access::SignIn => "Or with OAuth sign-in (no key in the config):".to_string(),
            };
            format!(
                "{} {heading}\n{}",
                rendered.comment(),
                rendered.printable(server_name)
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
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
    let server = Server::from_outputs(&outputs, endpoint, stack)?;
    let configs = configs(client, &server)?;
    let has_key = configs.iter().any(|(a, _)| matches!(a, Access::Key(_)));
    let key_note = "(this includes the API key: keep it out of version control)";
    let sign_in_note = "(the sign-in form holds no secret: the client signs the user in on first \
                        connect; users come from the stage's Cognito pool, see the README)";
    let (access, rendered) = &configs[0];
    let file = rendered.file().filter(|_| write);
    let Some(Rendered::File {
        path,
        in_home,
        key,
        entry,
        ..
    }) = file
    else {
        println!("{}", printable(&configs, &server.name));
        if write {
            eprintln!(
                "{} has no configuration file to write: follow the steps above",
                client.label()
            );
        }
        eprintln!("{}", if has_key { key_note } else { sign_in_note });
        return Ok(());
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
    match access {
        Access::Key(_) => eprintln!(
            "wrote server {} to {} (it holds the API key: keep it out of version control)",
            server.name,
            target.display()
        ),
        Access::SignIn => eprintln!(
            "wrote server {} to {} (no secret in it: the client signs in on first connect)",
            server.name,
            target.display()
        ),
    }
    if configs.len() > 1 {
        eprintln!(
            "(this stage also offers OAuth sign-in: leave out --write to see that form, without the key)"
        );
    }
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

    /// What an `oauth` stage exports: no key anywhere.
    fn oauth_outputs() -> Value {
        json!({
            "authMode": "oauth",
            "mcpUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp",
            "streamingMcpUrl": "https://xyz.lambda-url.eu-west-1.on.aws/mcp",
            "cognitoUserPoolId": "eu-west-1_AbCdEf123",
            "oauthIssuer": "https://abc.execute-api.eu-west-1.amazonaws.com/dev",
            "clientConfig": {
                "serverName": "serverless-mcp-dev",
                "mcpUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp",
                "streamingMcpUrl": "https://xyz.lambda-url.eu-west-1.on.aws/mcp"
            }
        })
    }

    /// A `both` stage: the key, and OAuth beside it.
    fn both_outputs() -> Value {
        let mut both = outputs();
        both["authMode"] = json!("both");
        both
    }

    fn server(endpoint: Endpoint) -> Server {
        Server::from_outputs(&outputs(), endpoint, "dev").unwrap()
    }

    fn oauth_server(endpoint: Endpoint) -> Server {
        Server::from_outputs(&oauth_outputs(), endpoint, "dev").unwrap()
    }

    /// The key-based configuration of an `apiKey` stage.
    fn keyed(client: Client, endpoint: Endpoint) -> Rendered {
        let server = server(endpoint);
        let mut configs = configs(client, &server).unwrap();
        assert_eq!(configs.len(), 1);
        assert!(matches!(configs[0].0, Access::Key(_)));
        configs.remove(0).1
    }

    /// The sign-in configuration of an `oauth` stage.
    fn signed_in(client: Client, endpoint: Endpoint) -> Rendered {
        let server = oauth_server(endpoint);
        let mut configs = configs(client, &server).unwrap();
        assert_eq!(configs.len(), 1);
        assert_eq!(configs[0].0, Access::SignIn);
        configs.remove(0).1
    }

    fn file_entry(rendered: &Rendered) -> (&'static str, &'static str, Value) {
        match rendered.file() {
            Some(Rendered::File {
                path, key, entry, ..
            }) => (path, key, entry.clone()),
            _ => panic!("no file form: {rendered:?}"),
        }
    }

    const API_URL: &str = "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp";
    const STREAM_URL: &str = "https://xyz.lambda-url.eu-west-1.on.aws/mcp";

    #[test]
    fn reads_the_endpoint_asked_for() {
        assert_eq!(server(Endpoint::ApiGateway).url, API_URL);
        assert_eq!(server(Endpoint::Streaming).url, STREAM_URL);
        assert_eq!(server(Endpoint::ApiGateway).mode, AuthMode::ApiKey);
        let mut no_stream = outputs();
        no_stream["clientConfig"]
            .as_object_mut()
            .unwrap()
            .remove("streamingMcpUrl");
        let err = Server::from_outputs(&no_stream, Endpoint::Streaming, "dev").unwrap_err();
        assert!(format!("{err:#}").contains("functionUrl is false"));
        let mut masked = outputs();
        masked["clientConfig"]["apiKey"] = json!("[secret]");
        assert!(Server::from_outputs(&masked, Endpoint::ApiGateway, "dev").is_err());
        let whole = json!({"mcpUrl": "https://x/mcp", "clientConfig": "[secret]"});
        let err = format!(
            "{:#}",
            Server::from_outputs(&whole, Endpoint::ApiGateway, "dev").unwrap_err()
        );
        assert!(
            err.contains("--show-secrets --stack dev") && !err.contains("has no mcpUrl"),
            "{err}"
        );
        assert!(Server::from_outputs(&json!({}), Endpoint::ApiGateway, "dev").is_err());
    }

    #[test]
    fn cursor() {
        let (path, key, entry) = file_entry(&keyed(Client::Cursor, Endpoint::ApiGateway));
        assert_eq!((path, key), (".cursor/mcp.json", "mcpServers"));
        assert_eq!(
            entry,
            json!({"url": API_URL, "headers": {"x-api-key": "k3y'with-quote"}})
        );
    }

    #[test]
    fn vscode_says_http() {
        let (path, key, entry) = file_entry(&keyed(Client::Vscode, Endpoint::Streaming));
        assert_eq!((path, key), (".vscode/mcp.json", "servers"));
        assert_eq!(entry["type"], "http");
        assert_eq!(entry["url"], STREAM_URL);
        assert_eq!(entry["headers"]["x-api-key"], "k3y'with-quote");
    }

    #[test]
    fn claude_code_command_is_shell_safe() {
        let rendered = keyed(Client::ClaudeCode, Endpoint::ApiGateway);
        let Rendered::Command { line, .. } = &rendered else {
            panic!("a command")
        };
        assert_eq!(
            line,
            r#"claude mcp add --transport http serverless-mcp-dev https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp --header 'x-api-key: k3y'\''with-quote'"#
        );
        assert_eq!(rendered.printable("serverless-mcp-dev"), *line);
        let (path, _, entry) = file_entry(&rendered);
        assert_eq!((path, &entry["type"]), (".mcp.json", &json!("http")));
    }

    #[test]
    fn windsurf_uses_server_url() {
        let (path, _, entry) = file_entry(&keyed(Client::Windsurf, Endpoint::ApiGateway));
        assert_eq!(path, ".codeium/windsurf/mcp_config.json");
        assert_eq!(entry["serverUrl"], API_URL);
        assert!(entry.get("url").is_none());
    }

    #[test]
    fn claude_desktop_goes_through_the_bridge_with_the_key_in_env() {
        let (_, _, entry) = file_entry(&keyed(Client::ClaudeDesktop, Endpoint::Streaming));
        assert_eq!(entry["command"], "npx");
        assert_eq!(
            entry["args"],
            json!([
                "-y",
                "mcp-remote",
                STREAM_URL,
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
    fn inspector_cli_with_the_key() {
        let rendered = keyed(Client::Inspector, Endpoint::ApiGateway);
        let Rendered::Command { line, file, .. } = &rendered else {
            panic!("a command")
        };
        assert_eq!(
            line,
            r#"npx @modelcontextprotocol/inspector --cli https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp --transport http --header 'x-api-key: k3y'\''with-quote' --method tools/list"#
        );
        assert!(file.is_none(), "the Inspector has no config file to write");
    }

    #[test]
    fn hosted_clients_cannot_use_an_api_key_stage() {
        for client in [Client::ClaudeAi, Client::Chatgpt] {
            let err = format!(
                "{:#}",
                configs(client, &server(Endpoint::ApiGateway)).unwrap_err()
            );
            assert!(
                err.contains("cannot send an API key") && err.contains("authMode both"),
                "{err}"
            );
        }
    }

    #[test]
    fn an_oauth_stage_needs_no_key() {
        let server = oauth_server(Endpoint::ApiGateway);
        assert_eq!(
            server,
            Server {
                name: "serverless-mcp-dev".into(),
                url: API_URL.into(),
                mode: AuthMode::OAuth,
                api_key: None,
            }
        );
        assert_eq!(oauth_server(Endpoint::Streaming).url, STREAM_URL);
        // A key left in the outputs is not offered: the stage does not accept it.
        let mut stale = oauth_outputs();
        stale["clientConfig"]["apiKeyHeader"] = json!("x-api-key");
        stale["clientConfig"]["apiKey"] = json!("old");
        let stale = Server::from_outputs(&stale, Endpoint::ApiGateway, "dev").unwrap();
        assert_eq!(stale.api_key, None);
        assert_eq!(configs(Client::Cursor, &stale).unwrap().len(), 1);
    }

    #[test]
    fn an_oauth_stage_read_masked_uses_the_plain_outputs() {
        let mut masked = oauth_outputs();
        masked["clientConfig"] = json!("[secret]");
        let server = Server::from_outputs(&masked, Endpoint::Streaming, "prod").unwrap();
        assert_eq!(server.name, "serverless-mcp-prod");
        assert_eq!(server.url, STREAM_URL);
        masked.as_object_mut().unwrap().remove("streamingMcpUrl");
        let err = Server::from_outputs(&masked, Endpoint::Streaming, "prod").unwrap_err();
        assert!(format!("{err:#}").contains("functionUrl is false"));
    }

    #[test]
    fn unknown_auth_mode_is_refused() {
        let mut odd = outputs();
        odd["authMode"] = json!("mtls");
        let err = Server::from_outputs(&odd, Endpoint::ApiGateway, "dev").unwrap_err();
        assert!(format!("{err:#}").contains("\"mtls\""));
    }

    #[test]
    fn oauth_file_configs_are_just_the_url() {
        let cases = [
            (Client::Cursor, json!({"url": API_URL})),
            (Client::Vscode, json!({"type": "http", "url": API_URL})),
            (Client::ClaudeCode, json!({"type": "http", "url": API_URL})),
            (Client::Windsurf, json!({"serverUrl": API_URL})),
            (
                Client::ClaudeDesktop,
                json!({"command": "npx", "args": ["-y", "mcp-remote", API_URL]}),
            ),
        ];
        for (client, expected) in cases {
            let rendered = signed_in(client, Endpoint::ApiGateway);
            let (_, _, entry) = file_entry(&rendered);
            assert_eq!(entry, expected, "{client:?}");
            let text = rendered.printable("serverless-mcp-dev");
            assert!(
                !text.contains("x-api-key") && !text.contains("headers"),
                "{text}"
            );
        }
    }

    #[test]
    fn claude_code_sign_in_is_the_bare_add_command() {
        let rendered = signed_in(Client::ClaudeCode, Endpoint::Streaming);
        let Rendered::Command { line, .. } = &rendered else {
            panic!("a command")
        };
        assert_eq!(
            line,
            "claude mcp add --transport http serverless-mcp-dev https://xyz.lambda-url.eu-west-1.on.aws/mcp"
        );
        let text = rendered.printable("serverless-mcp-dev");
        assert!(
            text.starts_with(line.as_str()) && text.contains("/mcp"),
            "{text}"
        );
    }

    #[test]
    fn hosted_clients_paste_the_url() {
        for client in [Client::ClaudeAi, Client::Chatgpt, Client::Inspector] {
            let rendered = signed_in(client, Endpoint::ApiGateway);
            assert!(rendered.file().is_none(), "{client:?} has no file");
            let text = rendered.printable("serverless-mcp-dev");
            assert!(text.contains(API_URL), "{text}");
            assert!(text.starts_with("1. "), "{text}");
        }
        let claude = signed_in(Client::ClaudeAi, Endpoint::ApiGateway).printable("s");
        assert!(claude.contains("Add custom connector"), "{claude}");
        let chatgpt = signed_in(Client::Chatgpt, Endpoint::ApiGateway).printable("s");
        assert!(chatgpt.contains("Developer mode"), "{chatgpt}");
        let inspector = signed_in(Client::Inspector, Endpoint::ApiGateway).printable("s");
        assert!(
            inspector.contains("Streamable HTTP") && inspector.contains("Quick OAuth Flow"),
            "{inspector}"
        );
    }

    #[test]
    fn both_mode_offers_the_key_then_sign_in() {
        let server = Server::from_outputs(&both_outputs(), Endpoint::ApiGateway, "dev").unwrap();
        assert_eq!(server.mode, AuthMode::Both);
        let cursor = configs(Client::Cursor, &server).unwrap();
        assert_eq!(cursor.len(), 2);
        assert!(matches!(cursor[0].0, Access::Key(k) if k.key == "k3y'with-quote"));
        assert_eq!(cursor[1].0, Access::SignIn);
        assert_eq!(
            file_entry(&cursor[0].1).2["headers"]["x-api-key"],
            "k3y'with-quote"
        );
        assert_eq!(file_entry(&cursor[1].1).2, json!({"url": API_URL}));
        let text = printable(&cursor, &server.name);
        assert!(
            text.starts_with("// With the API key (x-api-key header):")
                && text.contains("// Or with OAuth sign-in"),
            "{text}"
        );
        // claude.ai cannot send the key: only the sign-in form.
        let claude = configs(Client::ClaudeAi, &server).unwrap();
        assert_eq!(claude.len(), 1);
        assert_eq!(claude[0].0, Access::SignIn);
        // The key is still needed (and still secret) in both mode.
        let mut masked = both_outputs();
        masked["clientConfig"] = json!("[secret]");
        assert!(Server::from_outputs(&masked, Endpoint::ApiGateway, "dev").is_err());
        let mut no_key = both_outputs();
        no_key["clientConfig"]
            .as_object_mut()
            .unwrap()
            .remove("apiKey");
        assert!(Server::from_outputs(&no_key, Endpoint::ApiGateway, "dev").is_err());
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
        for rendered in [
            keyed(Client::Cursor, Endpoint::ApiGateway),
            signed_in(Client::Vscode, Endpoint::ApiGateway),
        ] {
            let text = rendered.printable("serverless-mcp-dev");
            let json_part: String = text
                .lines()
                .filter(|l| !l.starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let parsed: Value = serde_json::from_str(&json_part).unwrap();
            assert!(
                parsed
                    .pointer("/mcpServers/serverless-mcp-dev/url")
                    .is_some()
                    || parsed.pointer("/servers/serverless-mcp-dev/url").is_some()
            );
        }
    }
}
