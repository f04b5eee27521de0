//! `lookup_user`: a mock company directory.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Deps, Hints, Reply, Tool, ToolError, ToolSpec};

pub struct LookupUser;

impl Tool for LookupUser {
    const SPEC: ToolSpec = ToolSpec {
        name: "lookup_user",
        title: "Look up user",
        description: "Find a person in the (mock) company directory by user id, such as \
                      \"u-1001\". Returns name, email, department, title and whether the account \
                      is active.",
        summary: "mock directory by id such as u-1001",
        hints: Hints::LOCAL,
        iam_actions: &[],
        example: r#"{"user_id": "u-1001"}"#,
    };
    type Args = LookupUserRequest;
    type Output = User;

    fn call(_: &Deps, req: LookupUserRequest) -> Result<Reply<User>, ToolError> {
        let u = lookup_user(&req.user_id)?;
        let summary = format!(
            "{} ({}): {}, {}, {}{}.",
            u.name,
            u.user_id,
            u.title,
            u.department,
            u.email,
            if u.active { "" } else { ", inactive" }
        );
        Ok(Reply::new(summary, u))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupUserRequest {
    /// Directory id, for example "u-1001".
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct User {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub department: String,
    pub title: String,
    pub active: bool,
}

const DIRECTORY: [(&str, &str, &str, &str, &str, bool); 5] = [
    (
        "u-1001",
        "Ada Lovelace",
        "ada@example.com",
        "Engineering",
        "Principal Engineer",
        true,
    ),
    (
        "u-1002",
        "Grace Hopper",
        "grace@example.com",
        "Engineering",
        "Staff Engineer",
        true,
    ),
    (
        "u-1003",
        "Alan Turing",
        "alan@example.com",
        "Research",
        "Research Scientist",
        true,
    ),
    (
        "u-1004",
        "Katherine Johnson",
        "katherine@example.com",
        "Finance",
        "FinOps Analyst",
        true,
    ),
    (
        "u-1005",
        "Edsger Dijkstra",
        "edsger@example.com",
        "Engineering",
        "Architect",
        false,
    ),
];

/// Mock directory lookup. Ids are matched exactly after trimming.
pub fn lookup_user(user_id: &str) -> Result<User, String> {
    let id = user_id.trim();
    DIRECTORY
        .iter()
        .find(|entry| entry.0 == id)
        .map(|&(user_id, name, email, department, title, active)| User {
            user_id: user_id.into(),
            name: name.into(),
            email: email.into(),
            department: department.into(),
            title: title.into(),
            active,
        })
        .ok_or_else(|| {
            let known: Vec<&str> = DIRECTORY.iter().map(|e| e.0).collect();
            format!("No user with id {id:?}. Known ids: {}.", known.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_found_and_unknown_ids_explained() {
        assert_eq!(lookup_user(" u-1001 ").unwrap().name, "Ada Lovelace");
        assert!(!lookup_user("u-1005").unwrap().active);
        let err = lookup_user("u-9999").unwrap_err();
        assert!(
            err.contains("No user with id \"u-9999\"") && err.contains("u-1001"),
            "{err}"
        );
    }
}
