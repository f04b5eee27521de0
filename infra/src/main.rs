//! The Pulumi program (Pulumi Gestalt, Rust) that deploys serverless-mcp.
//!
//! Not written yet: the resource graph (secret, IAM, both Lambdas, HTTP API with its
//! authorizer, Function URL, outputs) is the infrastructure issue's work. Until then this
//! binary refuses to run rather than pretend to deploy.

fn main() {
    eprintln!("serverless-mcp: the Pulumi program is not implemented yet; nothing was deployed.");
    std::process::exit(2);
}
