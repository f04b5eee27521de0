//! The two HTML pages the facade shows: consent, and errors that must not be redirected.
//! Every value is escaped; the responses forbid framing and caching (set by the route).

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#222}\
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px;word-break:break-all}\
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.6rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// What the user is asked to approve.
pub struct Consent<'a> {
    pub client_name: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub resource: &'a str,
    /// The sealed request, posted back with the decision.
    pub transaction: &'a str,
}

pub fn consent(c: &Consent) -> String {
    // A dynamic client id is a long sealed blob: show its start only.
    let shown_id: String = c.client_id.chars().take(60).collect();
    let ellipsis = if c.client_id.chars().count() > 60 {
        "…"
    } else {
        ""
    };
    page(
        "Allow access?",
        &format!(
            "<h1>Allow {name} to use this MCP server?</h1>\
<p><strong>{name}</strong> (client <code>{id}{ellipsis}</code>) asks to call the tools of <code>{resource}</code> as you, with the scope <code>{scope}</code>.</p>\
<p>After you sign in, you will be sent to <code>{redirect}</code>. Only allow it if you started this from that application.</p>\
<form method=\"post\" action=\"authorize\"><input type=\"hidden\" name=\"tx\" value=\"{tx}\">\
<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            name = escape(c.client_name),
            id = escape(&shown_id),
            resource = escape(c.resource),
            scope = escape(c.scope),
            redirect = escape(c.redirect_uri),
            tx = escape(c.transaction),
        ),
    )
}

/// After a sign-in that no MCP client started (the account is ready; nothing is handed on).
pub fn signed_in() -> String {
    page(
        "Signed in",
        "<h1>Your account is ready</h1><p>Now add this server's MCP URL in your MCP client \
(claude.ai, Claude Code, Cursor, VS Code…); it will send you here to sign in and allow it.</p>",
    )
}

pub fn error(message: &str) -> String {
    page(
        "Sign-in error",
        &format!(
            "<h1>This sign-in cannot continue</h1><p>{}</p><p>Return to your application and start again.</p>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_shown_is_escaped() {
        let html = consent(&Consent {
            client_name: "<script>alert(1)</script>",
            client_id: "\"><img src=x>",
            redirect_uri: "https://a.example/cb?x='1'",
            scope: "mcp:tools",
            resource: "https://mcp.example.com/mcp",
            transaction: "abc\"def",
        });
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("value=\"abc&quot;def\""));
        assert!(error("<b>x</b>").contains("&lt;b&gt;x&lt;/b&gt;"));
    }
}
