// Reference MCP server: the official TypeScript SDK, stateless Streamable HTTP in JSON response
// mode, a plain Node HTTP server (what the AWS Lambda Web Adapter fronts), the same four sample
// tools and schemas as serverless-mcp. PORT (default 8080) and MCP_API_KEY are read from the env.
import http from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

const started = Date.now();
const apiKey = process.env.MCP_API_KEY || "";

function stableHash(text) {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

function buildServer() {
  const server = new McpServer({ name: "reference-node", version: "1.0.0" });
  const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
  server.registerTool("get_weather", {
    title: "Get weather", description: "Deterministic mock weather for a city.",
    inputSchema: { city: z.string(), units: z.enum(["metric", "imperial"]).optional() },
    outputSchema: { city: z.string(), condition: z.string(), temperature: z.number(), temperature_unit: z.string(),
      humidity_percent: z.number(), wind_speed: z.number(), wind_speed_unit: z.string(), units: z.string() },
    annotations: readOnly,
  }, async ({ city, units = "metric" }) => {
    const h = stableHash(city.trim().toLowerCase());
    const c = Number(h % 450n) / 10 - 10;
    const out = { city, condition: ["sunny", "cloudy", "rain"][Number((h >> 48n) % 3n)], temperature: c,
      temperature_unit: "°C", humidity_percent: 20 + Number((h >> 32n) % 80n), wind_speed: Number((h >> 16n) % 600n) / 10,
      wind_speed_unit: "km/h", units };
    return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
  });
  server.registerTool("calculate", {
    title: "Calculate", description: "Arithmetic on two numbers.",
    inputSchema: { operation: z.enum(["add", "subtract", "multiply", "divide"]), a: z.number(), b: z.number() },
    outputSchema: { operation: z.string(), a: z.number(), b: z.number(), result: z.number(), expression: z.string() },
    annotations: readOnly,
  }, async ({ operation, a, b }) => {
    if (operation === "divide" && b === 0) return { isError: true, content: [{ type: "text", text: "Division by zero" }] };
    const result = { add: a + b, subtract: a - b, multiply: a * b, divide: a / b }[operation];
    const out = { operation, a, b, result, expression: `${a} ${operation} ${b} = ${result}` };
    return { content: [{ type: "text", text: out.expression }], structuredContent: out };
  });
  server.registerTool("get_server_status", {
    title: "Server status", description: "Status, version, time, region, uptime.", inputSchema: {},
    outputSchema: { status: z.string(), version: z.string(), timestamp: z.string(), region: z.string(), uptime_seconds: z.number() },
    annotations: readOnly,
  }, async () => {
    const out = { status: "ok", version: "1.0.0", timestamp: new Date().toISOString(), region: process.env.AWS_REGION || "local",
      uptime_seconds: (Date.now() - started) / 1000 };
    return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
  });
  server.registerTool("lookup_user", {
    title: "Look up user", description: "Mock directory lookup.", inputSchema: { user_id: z.string() },
    outputSchema: { user_id: z.string(), name: z.string(), email: z.string() }, annotations: readOnly,
  }, async ({ user_id }) => {
    if (user_id !== "u-1001") return { isError: true, content: [{ type: "text", text: `No user with id ${user_id}` }] };
    const out = { user_id, name: "Ada Lovelace", email: "ada@example.com" };
    return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
  });
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  if (req.url === "/health") { res.writeHead(200, { "content-type": "application/json" }); res.end('{"status":"ok"}'); return; }
  if (!req.url.startsWith("/mcp")) { res.writeHead(404); res.end(); return; }
  if (apiKey && req.headers["x-api-key"] !== apiKey) { res.writeHead(401, { "content-type": "application/json" }); res.end('{"error":"unauthorized"}'); return; }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  let body;
  try { body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined; } catch { res.writeHead(400); res.end(); return; }
  // Stateless: a new server and transport per request, JSON responses (the SDK's documented pattern).
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
});

httpServer.listen(Number(process.env.PORT || 8080), "127.0.0.1");
