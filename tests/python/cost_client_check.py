"""Calls every Cost Explorer tool of a running serverless-mcp server through the official Python
MCP SDK client, and prints the structured results as one JSON object.

Usage: cost_client_check.py URL API_KEY CALLS_JSON
CALLS_JSON is a list of [tool, arguments]; each result is reported as
{"tool", "is_error", "text", "structured", "progress"}.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def run(url: str, key: str, calls: list) -> list:
    results = []
    http = create_mcp_http_client(headers={"x-api-key": key})
    async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
        for tool, arguments in calls:
            progress = []

            async def on_progress(value, total, message, progress=progress):
                progress.append(message)

            result = await client.call_tool(tool, arguments, progress_callback=on_progress)
            results.append({
                "tool": tool,
                "is_error": bool(result.is_error),
                "text": result.content[0].text if result.content else "",
                "structured": result.structured_content,
                "progress": progress,
            })
    return results


def main() -> int:
    url, key, calls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    try:
        print(json.dumps(asyncio.run(run(url, key, calls))))
    except BaseException as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
