//! `word_count`: counts the words and characters of a text.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Deps, Hints, Reply, Tool, ToolError, ToolSpec};

pub struct WordCount;

/// What the client sends. Doc comments become the input schema's descriptions.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WordCountRequest {
    /// The text to count, at most 100000 characters.
    pub text: String,
}

/// What the tool returns as `structuredContent` (and its `outputSchema`).
#[derive(Serialize, JsonSchema)]
pub struct WordCountReport {
    pub words: usize,
    pub characters: usize,
}

impl Tool for WordCount {
    const SPEC: ToolSpec = ToolSpec {
        name: "word_count",
        title: "Count words",
        description: "Counts the words (separated by whitespace) and characters of a text.",
        summary: "words and characters of a text",
        hints: Hints::LOCAL,
        // An AWS tool lists the API actions it calls, e.g. &["s3:ListBucket"].
        iam_actions: &[],
        example: r#"{"text": "to be or not to be"}"#,
    };
    type Args = WordCountRequest;
    type Output = WordCountReport;

    fn call(_deps: &Deps, args: WordCountRequest) -> Result<Reply<WordCountReport>, ToolError> {
        let characters = args.text.chars().count();
        if characters > 100_000 {
            return Err(ToolError::Input(
                "`text` is too long: at most 100000 characters.".into(),
            ));
        }
        let words = args.text.split_whitespace().count();
        let summary = format!("{words} words, {characters} characters.");
        Ok(Reply::new(summary, WordCountReport { words, characters }))
    }
}
