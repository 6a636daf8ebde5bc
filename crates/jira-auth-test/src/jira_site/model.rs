//! What a fake site holds: the scenario file's model of a Jira site (its user, projects, roles,
//! security schemes), read from `fixtures/audit/<scenario>/site.json` or generated.

use serde::Deserialize;
use serde_json::{Value, json};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deployment {
    Cloud,
    DataCenter,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Site {
    pub deployment: Deployment,
    #[serde(default)]
    pub authorization: Option<String>,
    pub myself: Myself,
    #[serde(default)]
    pub global_permissions: Vec<String>,
    #[serde(default)]
    pub server_info: Value,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub projects: Vec<Project>,
    #[serde(default)]
    pub security_schemes: Vec<Scheme>,
    #[serde(default)]
    pub forbidden: Vec<String>,
    /// Worklogs as `worklog/list` returns them (`id`, `issueId`, optional `visibility`);
    /// `worklog/updated` lists them in id order, 1000 a page.
    #[serde(default)]
    pub worklogs: Vec<Value>,
    /// Seconds the site's clock runs ahead of ours (negative: behind), in `serverTime`.
    #[serde(default)]
    pub clock_skew_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub groups: Vec<Value>,
    #[serde(default)]
    pub application_roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Role {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: i64,
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub browse: bool,
    /// Role ids the user holds here.
    #[serde(default)]
    pub roles: Vec<i64>,
    #[serde(default)]
    pub security_scheme: Option<i64>,
    /// Data Center: level ids `securitylevel` returns (the levels the user may set).
    #[serde(default)]
    pub settable_levels: Vec<i64>,
    /// Cloud: a team-managed (next-gen) project, which has no issue security scheme.
    #[serde(default)]
    pub team_managed: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scheme {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Level {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub members: Vec<Value>,
}

impl Site {
    /// The site of `fixtures/audit/<scenario>/site.json`.
    /// `/myself?expand=groups,applicationRoles` as Jira renders it for this site's user.
    pub fn myself_json(&self) -> Value {
        let m = &self.myself;
        let mut user = json!({
            "self": "",
            "displayName": m.display_name,
            "active": true,
            "groups": {"size": m.groups.len(), "items": m.groups},
            "applicationRoles": {"size": m.application_roles.len(),
                "items": m.application_roles.iter().map(|k| json!({"key": k, "name": k})).collect::<Vec<_>>()},
        });
        if let Value::Object(map) = &mut user {
            if let Some(id) = &m.account_id {
                map.insert("accountId".into(), json!(id));
            }
            if let Some(name) = &m.name {
                map.insert("name".into(), json!(name));
                map.insert("key".into(), json!(format!("JIRAUSER-{name}")));
            }
        }
        user
    }

    pub fn scenario(name: &str) -> Site {
        Self::from_file(
            &crate::fixtures::dir()
                .join("audit")
                .join(name)
                .join("site.json"),
        )
    }

    pub fn from_file(path: &Path) -> Site {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("scenario {} cannot be read: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("scenario {} is not valid: {e}", path.display()))
    }

    /// A large healthy Cloud site: `projects` projects, `schemes` issue security schemes of
    /// `levels` levels each (every level held by a group of the user, `reporter` and a
    /// project role), `roles` project roles all held by the user everywhere. Projects are
    /// spread over the schemes round-robin.
    pub fn synthetic(projects: usize, schemes: usize, levels: usize, roles: usize) -> Site {
        let role_ids: Vec<i64> = (0..roles as i64).map(|i| 10_000 + i).collect();
        Site {
            deployment: Deployment::Cloud,
            authorization: None,
            myself: Myself {
                account_id: Some("5b10ac8d82e05b22cc7d4ef5".into()),
                name: None,
                display_name: "Connector Bot".into(),
                groups: vec![json!({"name": "connector-readers", "groupId": "g-readers"})],
                application_roles: vec!["jira-software".into()],
            },
            global_permissions: vec!["ADMINISTER".into()],
            server_info: json!({"deploymentType": "Cloud", "version": "1001.0.0-SNAPSHOT"}),
            roles: role_ids
                .iter()
                .map(|&id| Role {
                    id,
                    name: format!("Role {id}"),
                })
                .collect(),
            projects: (0..projects as i64)
                .map(|i| Project {
                    id: 100_000 + i,
                    key: format!("P{i}"),
                    name: format!("Project {i}"),
                    browse: true,
                    roles: role_ids.clone(),
                    security_scheme: (schemes > 0).then(|| 200_000 + i % schemes as i64),
                    settable_levels: Vec::new(),
                    team_managed: false,
                })
                .collect(),
            security_schemes: (0..schemes as i64)
                .map(|s| Scheme {
                    id: 200_000 + s,
                    name: format!("Scheme {s}"),
                    levels: (0..levels as i64)
                        .map(|l| Level {
                            id: 300_000 + s * 100 + l,
                            name: format!("Level {l}"),
                            members: vec![
                                json!({"type": "group", "parameter": "connector-readers", "value": "g-readers"}),
                                json!({"type": "reporter"}),
                                json!({"type": "projectRole", "parameter": "10000", "value": "10000"}),
                            ],
                        })
                        .collect(),
                })
                .collect(),
            forbidden: Vec::new(),
            worklogs: Vec::new(),
            clock_skew_seconds: 0,
        }
    }
}
