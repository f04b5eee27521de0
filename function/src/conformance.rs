//! MCP conformance suite fixtures (feature `conformance`).
