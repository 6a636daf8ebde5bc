//! What `audit` talks to: an ad-hoc `--url` with a token from the environment, or a stored
//! profile's `cloud` / `server` section.

use super::args::{AuditArgs, DeploymentArg};
use crate::exit::Failure;
use jira_auth_core::auth::{Authorizer, BasicApiToken, Bearer, PatBearer};
use jira_auth_core::jira::Deployment;
use jira_auth_core::store::{Profile, ProfileName};
use jira_auth_core::{AccessToken, ApiToken, PersonalAccessToken};
use std::sync::Arc;
use url::Url;

/// The API token for `--email`.
pub const API_TOKEN_ENV: &str = "JIRA_AUTH_API_TOKEN";
/// The personal access token for `--pat`.
pub const PAT_ENV: &str = "JIRA_AUTH_PAT";

/// A site and a credential to audit.
#[derive(Debug)]
pub struct AuditTarget {
    /// The REST root: the site (DC, Cloud basic) or `{api}/ex/jira/{cloudId}` (Cloud 3LO).
    pub base: Url,
    pub deployment: Deployment,
    pub auth: Arc<dyn Authorizer>,
    /// Scopes the credential carries; `None` when it is not an OAuth 2.0 token.
    pub granted_scopes: Option<Vec<String>>,
}

fn parse_url(raw: &str) -> Result<Url, Failure> {
    let url = Url::parse(raw).map_err(|e| {
        Failure::usage(format!(
            "`{raw}` is not a URL ({e}); pass the site root, e.g. `https://acme.atlassian.net` or `https://jira.example.com/jira`"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::usage(format!(
            "`{raw}` is not an http(s) URL; pass the site root, e.g. `https://acme.atlassian.net`"
        )));
    }
    Ok(url)
}

fn env_secret(var: &str, what: &str) -> Result<String, Failure> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        _ => Err(Failure::usage(format!(
            "set `{var}` to {what}; it is read from the environment so it stays out of shell history"
        ))),
    }
}

fn deployment(arg: Option<DeploymentArg>) -> Option<Deployment> {
    arg.map(|d| match d {
        DeploymentArg::Cloud => Deployment::Cloud,
        DeploymentArg::DataCenter => Deployment::DataCenter,
    })
}

/// `--url` with `--email` (basic, API token) or `--pat` (bearer PAT).
pub fn ad_hoc(args: &AuditArgs, raw_url: &str) -> Result<AuditTarget, Failure> {
    let base = parse_url(raw_url)?;
    let deployment = deployment(args.deployment).unwrap_or_else(|| {
        if base
            .host_str()
            .is_some_and(|h| h.ends_with(".atlassian.net"))
        {
            Deployment::Cloud
        } else {
            Deployment::DataCenter
        }
    });
    let auth: Arc<dyn Authorizer> = if let Some(email) = &args.email {
        let token = env_secret(
            API_TOKEN_ENV,
            &format!(
                "the API token of {email} (create one at https://id.atlassian.com/manage-profile/security/api-tokens)"
            ),
        )?;
        Arc::new(BasicApiToken {
            email: email.clone(),
            token: ApiToken::new(token),
        })
    } else if args.pat {
        let token = env_secret(
            PAT_ENV,
            "a personal access token of the technical user (Jira → Profile → Personal Access Tokens)",
        )?;
        Arc::new(PatBearer(PersonalAccessToken::new(token)))
    } else {
        return Err(Failure::usage(
            "`--url` needs a credential: `--email EMAIL` (Jira Cloud, API token in `JIRA_AUTH_API_TOKEN`) or `--pat` (Data Center, token in `JIRA_AUTH_PAT`)",
        ));
    };
    Ok(AuditTarget {
        base,
        deployment,
        auth,
        granted_scopes: None,
    })
}

/// The `cloud` section as the auditor reads it (a subset of what `cloud login` stores).
#[derive(Debug, serde::Deserialize)]
struct CloudSection {
    access_token: AccessToken,
    cloud_id: String,
    api_url: String,
    #[serde(default)]
    scopes: Vec<String>,
}

/// The `server` section as the auditor reads it.
#[derive(Debug, serde::Deserialize)]
struct ServerSection {
    url: String,
    credential: serde_json::Value,
}

/// A stored profile's `cloud` section (3LO bearer on `{api_url}/ex/jira/{cloud_id}`, granted
/// `scopes`) or `server` section (`url` and a `pat` credential). `want` picks one when the
/// profile has both.
pub fn from_profile(
    name: &ProfileName,
    profile: &Profile,
    want: Option<DeploymentArg>,
) -> Result<AuditTarget, anyhow::Error> {
    let cloud: Option<CloudSection> = profile.section(name, "cloud")?;
    let server: Option<ServerSection> = profile.section(name, "server")?;
    let chosen = match (deployment(want), cloud, server) {
        (Some(Deployment::Cloud), Some(c), _) | (None, Some(c), None) => Chosen::Cloud(c),
        (Some(Deployment::DataCenter), _, Some(s)) | (None, None, Some(s)) => Chosen::Server(s),
        (None, Some(_), Some(_)) => {
            return Err(Failure::usage(format!(
                "profile `{name}` has both a `cloud` and a `server` login; choose one with `--deployment cloud` or `--deployment data-center`"
            ))
            .into());
        }
        (want, ..) => {
            return Err(Failure::usage(format!(
                "profile `{name}` has no {} login: run `jira-auth cloud login` or `jira-auth server login` first, or audit ad hoc with `--url`",
                match want {
                    Some(Deployment::Cloud) => "`cloud`",
                    Some(Deployment::DataCenter) => "`server`",
                    None => "`cloud` or `server`",
                }
            ))
            .into());
        }
    };
    let s = match chosen {
        Chosen::Cloud(c) => {
            let api = parse_url(&c.api_url)?;
            let base = parse_url(&format!(
                "{}/ex/jira/{}",
                api.as_str().trim_end_matches('/'),
                c.cloud_id
            ))?;
            return Ok(AuditTarget {
                base,
                deployment: Deployment::Cloud,
                auth: Arc::new(Bearer(c.access_token)),
                granted_scopes: Some(c.scopes),
            });
        }
        Chosen::Server(s) => s,
    };
    let base = parse_url(&s.url)?;
    let auth: Arc<dyn Authorizer> = match s.credential.get("type").and_then(|t| t.as_str()) {
        Some("pat") => {
            let token = s
                .credential
                .get("token")
                .and_then(|t| t.as_str())
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "the `server` login of profile `{name}` has no token: log in again with `jira-auth server login`"
                    ))
                })?;
            Arc::new(PatBearer(PersonalAccessToken::new(token)))
        }
        other => {
            return Err(Failure::usage(format!(
                "the `server` login of profile `{name}` uses {}, which `audit` cannot sign yet: audit with `--url {} --pat` instead",
                other.unwrap_or("an unknown credential"),
                s.url
            ))
            .into());
        }
    };
    Ok(AuditTarget {
        base,
        deployment: Deployment::DataCenter,
        auth,
        granted_scopes: None,
    })
}

#[derive(Debug)]
enum Chosen {
    Cloud(CloudSection),
    Server(ServerSection),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn profile(json: serde_json::Value) -> Profile {
        serde_json::from_value(json).unwrap()
    }

    fn name() -> ProfileName {
        ProfileName::new("conn").unwrap()
    }

    #[test]
    fn a_cloud_section_audits_through_the_gateway_with_its_granted_scopes() {
        let p = profile(serde_json::json!({"version": 1, "cloud": {
            "access_token": "at-1", "cloud_id": "c-1", "api_url": "https://api.atlassian.com/",
            "scopes": ["read:jira-work"], "client_id": "ignored"}}));
        let t = from_profile(&name(), &p, None).unwrap();
        assert_eq!(t.base.as_str(), "https://api.atlassian.com/ex/jira/c-1");
        assert_eq!(t.deployment, Deployment::Cloud);
        assert_eq!(t.granted_scopes, Some(vec!["read:jira-work".to_owned()]));
        assert_eq!(t.auth.describe(), "OAuth 2.0 bearer token");
    }

    #[test]
    fn a_server_pat_section_audits_data_center_and_oauth1_is_refused_clearly() {
        let p = profile(serde_json::json!({"version": 1, "server": {
            "url": "https://jira.example.com/jira", "credential": {"type": "pat", "token": "p"},
            "logged_in_at": "2026-11-25T08:00:00Z"}}));
        let t = from_profile(&name(), &p, None).unwrap();
        assert_eq!(t.base.as_str(), "https://jira.example.com/jira");
        assert_eq!(t.deployment, Deployment::DataCenter);
        assert_eq!(t.granted_scopes, None);

        let p = profile(serde_json::json!({"version": 1, "server": {
            "url": "https://jira.example.com", "credential": {"type": "oauth1"}}}));
        assert_eq!(
            from_profile(&name(), &p, None).unwrap_err().to_string(),
            "the `server` login of profile `conn` uses oauth1, which `audit` cannot sign yet: audit with `--url https://jira.example.com --pat` instead"
        );
    }

    #[test]
    fn both_sections_need_a_deployment_and_none_is_a_usage_error() {
        let p = profile(serde_json::json!({"version": 1,
            "cloud": {"access_token": "a", "cloud_id": "c", "api_url": "https://api.atlassian.com"},
            "server": {"url": "https://j.example.com", "credential": {"type": "pat", "token": "p"}}}));
        let err = from_profile(&name(), &p, None).unwrap_err();
        assert!(
            err.to_string().starts_with("profile `conn` has both"),
            "{err}"
        );
        let t = from_profile(&name(), &p, Some(DeploymentArg::DataCenter)).unwrap();
        assert_eq!(t.deployment, Deployment::DataCenter);
        let err =
            from_profile(&name(), &profile(serde_json::json!({"version": 1})), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile `conn` has no `cloud` or `server` login: run `jira-auth cloud login` or `jira-auth server login` first, or audit ad hoc with `--url`"
        );
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
    }
}
