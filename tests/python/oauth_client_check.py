"""The official Python MCP SDK's OAuth client (mcp.client.auth.OAuthClientProvider) against the
local server in OAuth mode.

Usage: oauth_client_check.py '<json config>'
  {url, registration: "dcr" | "cimd", redirect_uri, client_name, client_metadata_url?,
   username, password, node, browser_script}
The first request gets 401; the SDK discovers (protected resource metadata, then authorization
server metadata, checking its issuer), registers (DCR, or CIMD when the server advertises it),
and hands the authorization URL to browser_sign_in.mjs (headless Chromium), whose captured
redirect becomes the callback result (state and RFC 9207 `iss` checked by the SDK). Then: list
tools, call `calculate`, mark the token expired so the SDK refreshes, call again. Prints one JSON
report on stdout; exits non-zero on the first failed check.

CIMD: the SDK accepts only an https `client_metadata_url`; the test serves the document on
loopback http (the server allows that only with MCP_OAUTH_CIMD_ALLOW_HTTP_LOOPBACK), so that one
URL check is relaxed here. Everything else is the SDK's own CIMD path.
"""

import asyncio
import json
import sys
import time
from urllib.parse import parse_qs, urlparse

import mcp.client.auth.oauth2 as oauth2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

BROWSER_SECONDS = 60


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class MemoryStorage:
    def __init__(self):
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


async def run(config: dict) -> dict:
    report = {"registration": config["registration"], "requests": []}
    browser = {}

    async def open_browser(authorization_url: str) -> None:
        process = await asyncio.create_subprocess_exec(
            config["node"],
            config["browser_script"],
            authorization_url,
            config["redirect_uri"],
            config["username"],
            config["password"],
            "allow",
            stdout=asyncio.subprocess.PIPE,
        )
        stdout, _ = await asyncio.wait_for(process.communicate(), BROWSER_SECONDS)
        result = json.loads(stdout.decode().strip().splitlines()[-1])
        check(process.returncode == 0 and "redirect" in result, f"browser: {result}")
        browser.update(result)

    async def callback() -> AuthorizationCodeResult:
        params = {k: v[0] for k, v in parse_qs(urlparse(browser["redirect"]).query).items()}
        report["iss"] = params.get("iss")
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    cimd_url = None
    if config["registration"] == "cimd":
        cimd_url = config["client_metadata_url"]
        oauth2.is_valid_client_metadata_url = lambda url: url is not None  # http on loopback: see above

    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=config["url"],
        client_metadata=OAuthClientMetadata(
            client_name=config["client_name"],
            redirect_uris=[config["redirect_uri"]],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=open_browser,
        callback_handler=callback,
        client_metadata_url=cimd_url,
    )

    async def log(response):
        request = response.request
        report["requests"].append(f"{request.method} {request.url.path} {response.status_code}")

    http = create_mcp_http_client(auth=provider)
    http.event_hooks = {"response": [log]}
    async with http, Client(streamable_http_client(config["url"], http_client=http), mode="legacy") as client:
        report["protocol_version"] = client.protocol_version
        report["client_id"] = storage.client_info.client_id
        report["consent"] = browser.get("consent")
        tools = (await client.list_tools()).tools
        report["tools"] = sorted(t.name for t in tools)
        calc = await client.call_tool("calculate", {"operation": "multiply", "a": 6, "b": 7})
        check(not calc.is_error and calc.structured_content["result"] == 42, f"calculate: {calc}")

        # Force a refresh: the SDK refreshes before a request when its token has expired.
        first = storage.tokens
        check(first.refresh_token, "no refresh token")
        provider.context.token_expiry_time = time.time() - 1
        again = await client.call_tool("calculate", {"operation": "add", "a": 1, "b": 2})
        check(not again.is_error and again.structured_content["result"] == 3, f"calculate after refresh: {again}")
        second = storage.tokens
        report["access_token_changed"] = second.access_token != first.access_token
        report["refresh_token_rotated"] = second.refresh_token != first.refresh_token
        report["calls"] = 2
    return report


def describe(error: BaseException) -> str:
    """The error, with the leaves of exception groups (the SDK's task groups wrap them)."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(e) for e in error.exceptions)
    return f"{type(error).__name__}: {error}"


def main() -> int:
    config = json.loads(sys.argv[1])
    try:
        report = asyncio.run(run(config))
    except BaseException as error:  # report every failure as JSON, then fail
        print(json.dumps({"registration": config.get("registration"), "error": describe(error)}))
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
