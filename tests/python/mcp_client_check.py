"""Drives a running serverless-mcp server with the official Python MCP SDK client.

Usage: mcp_client_check.py URL API_KEY MODE    (MODE: legacy | auto)
Lists the tools, calls each one, checks structured results and progress callbacks, and
prints one JSON report on stdout. Exits non-zero on the first failed check.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

EXPECTED_TOOLS = {"get_weather", "calculate", "get_server_status", "lookup_user", "simulate_job"}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


async def run(url: str, key: str, mode: str) -> dict:
    report = {"mode": mode}
    http = create_mcp_http_client(headers={"x-api-key": key})
    async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        report["protocol_version"] = client.protocol_version
        tools = (await client.list_tools()).tools
        names = {t.name for t in tools}
        check(EXPECTED_TOOLS <= names, f"missing tools: {EXPECTED_TOOLS - names}")
        for tool in tools:
            check(tool.output_schema is not None, f"{tool.name} has no outputSchema")
            check(tool.annotations is not None and tool.annotations.read_only_hint, f"{tool.name} not read-only")
        report["tools"] = sorted(names)

        weather = await client.call_tool("get_weather", {"city": "Lisbon"})
        again = await client.call_tool("get_weather", {"city": "Lisbon"})
        check(not weather.is_error, "get_weather failed")
        check(weather.structured_content == again.structured_content, "weather is not deterministic")
        check(weather.structured_content["temperature_unit"] == "°C", "weather units")

        calc = await client.call_tool("calculate", {"operation": "add", "a": 0.1, "b": 0.2})
        check(calc.structured_content["result"] == 0.3, f"0.1 + 0.2 = {calc.structured_content}")
        div0 = await client.call_tool("calculate", {"operation": "divide", "a": 1, "b": 0})
        check(div0.is_error and "Division by zero" in div0.content[0].text, "divide by zero is not a tool error")

        status = await client.call_tool("get_server_status", {})
        check(status.structured_content["status"] == "ok", "status")
        check(status.structured_content["mode"] == "local", "mode")

        user = await client.call_tool("lookup_user", {"user_id": "u-1004"})
        check(user.structured_content["name"] == "Katherine Johnson", "lookup_user")
        unknown = await client.call_tool("lookup_user", {"user_id": "u-0"})
        check(unknown.is_error, "unknown user is not a tool error")

        progress = []

        async def on_progress(value, total, message):
            progress.append({"progress": value, "total": total, "message": message})

        job = await client.call_tool("simulate_job", {"steps": 3, "step_ms": 20}, progress_callback=on_progress)
        check(job.structured_content["steps_completed"] == 3, "job result")
        check([p["progress"] for p in progress] == [1, 2, 3], f"progress callbacks: {progress}")
        report["progress"] = progress
        report["calls"] = 8
    return report


def main() -> int:
    url, key, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        report = asyncio.run(run(url, key, mode))
    except BaseException as error:  # report every failure as JSON, then fail
        print(json.dumps({"mode": mode, "error": f"{type(error).__name__}: {error}"}))
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
