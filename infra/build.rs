//! Rust bindings for the AWS resources the program uses, from the committed schema subset
//! (`cargo xtask aws-schema` regenerates it). No network, no Pulumi CLI.
fn main() -> anyhow::Result<()> {
    pulumi_gestalt_build::generate_from_schema_with_filter(
        std::path::Path::new("schema/aws.json"),
        &[
            "apigatewayv2",
            "cloudfront",
            "cloudwatch",
            "cognito",
            "iam",
            "lambda",
            "route53",
            "secretsmanager",
            "sns",
        ],
    )
}
