//! The Pulumi program, tested without Pulumi or AWS: the real binary against a mock engine
//! (`graph`), and the project file against Pulumi's own project schema (`project_file`).

mod engine;
mod graph;
mod monitoring;
mod oauth;
mod project_file;
