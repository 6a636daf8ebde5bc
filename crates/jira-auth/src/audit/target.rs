//! What `audit` talks to: an ad-hoc `--url` with a token from the environment, or a stored
//! profile's `cloud` / `server` section.

use super::args::{AuditArgs, DeploymentArg};
use crate::exit::Failure;
use crate::secret_input::{Process, SecretSource};
use jira_auth_cloud::credentials::{self as cloud_credentials, RefreshMode};
use jira_auth_core::auth::{Authorizer, BasicApiToken, Bearer, PatBearer};
use jira_auth_core::http::{HttpClient, HttpError};
use jira_auth_core::jira::{Deployment, JiraClient, JiraError};
use jira_auth_core::store::{Profile, ProfileName, Store};
use jira_auth_core::{ApiToken, PersonalAccessToken};
use jira_auth_server::profile::{self as server_profile, ServerProfile};
use std::sync::Arc;
use url::Url;

/// The API token for `--email`.
pub const API_TOKEN_ENV: &str = "JIRA_AUTH_API_TOKEN";
/// The personal access token for `--pat`: the same variable as `server login --pat`.
pub use crate::server::PAT_ENV;

/// A site and a credential to audit.
#[derive(Debug)]
pub struct AuditTarget {
    /// The REST root: the site (DC, Cloud basic) or `{api}/ex/jira/{cloudId}` (Cloud 3LO).
    pub base: Url,
    pub deployment: Deployment,
    pub auth: Arc<dyn Authorizer>,
    /// Scopes the credential carries; `None` when it is not an OAuth 2.0 token.
    pub granted_scopes: Option<Vec<String>>,
    /// The site a person knows, when `base` is not it (Cloud 3LO goes through the gateway):
    /// what the report names as its target.
    pub site: Option<String>,
}

fn parse_url(raw: &str) -> Result<Url, Failure> {
    let url = Url::parse(raw).map_err(|e| {
        Failure::usage(format!(
            "`{raw}` is not a URL ({e}); pass the site root, e.g. `https://acme.atlassian.net` or `https://jira.example.com/jira`"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Failure::usage(format!(
            "`{}` carries credentials in the URL; drop them and pass the credential the documented way (`--email` with `JIRA_AUTH_API_TOKEN`, or `--pat` with `JIRA_AUTH_PAT`)",
            jira_auth_core::secret::mask_url(&url)
        )));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::usage(format!(
            "`{raw}` is not an http(s) URL; pass the site root, e.g. `https://acme.atlassian.net`"
        )));
    }
    Ok(url)
}

/// `var`, else a hidden prompt on a terminal (the one secret source of every command).
fn env_secret(var: &str, what: &str, how: &str) -> Result<String, Failure> {
    let prompt = format!("{what}: ");
    let source = SecretSource {
        what,
        file: None,
        stdin_flag: false,
        env: var,
        piped_stdin: false,
        prompt: Some(&prompt),
        how,
    };
    source.read(&mut Process)
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
            &format!("API token of {email}"),
            "set `JIRA_AUTH_API_TOKEN` (create one at https://id.atlassian.com/manage-profile/security/api-tokens)",
        )?;
        Arc::new(BasicApiToken {
            email: email.clone(),
            token: ApiToken::new(token),
        })
    } else if args.pat {
        let token = env_secret(
            PAT_ENV,
            "personal access token of the technical user",
            "set `JIRA_AUTH_PAT` (create one in Jira under Profile → Personal Access Tokens)",
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
        site: None,
    })
}

/// The part of `GET /rest/api/{2,3}/serverInfo` that says which Jira answers (Cloud, Server or
/// DataCenter).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerInfo {
    deployment_type: Option<String>,
}

/// Asks `serverInfo` which deployment `--url` is, for an audit without `--deployment`: the
/// deployment, and how it was decided (for the narration). A 404 is a wrong URL or context
/// path (exit 2), as at `server login`.
pub async fn detect(
    http: &HttpClient,
    target: &AuditTarget,
) -> crate::exit::Result<(Deployment, String)> {
    // The host's guess first, then the other REST version: Data Center has only version 2.
    let other = match target.deployment {
        Deployment::Cloud => Deployment::DataCenter,
        Deployment::DataCenter => Deployment::Cloud,
    };
    let not_found = |r: &Result<ServerInfo, JiraError>| matches!(r, Err(JiraError::Http(HttpError::Api(api))) if api.status == 404);
    let (mut shown, mut result) = server_info(http, target, target.deployment).await?;
    if not_found(&result) {
        (shown, result) = server_info(http, target, other).await?;
    }
    let info: ServerInfo = match result {
        Ok(info) => info,
        Err(JiraError::Http(HttpError::Api(api))) if api.status == 404 => {
            return Err(Failure::usage(format!(
                "{shown} answered 404: there is no Jira REST API there; check `--url` (include the context path, e.g. `https://host/jira`, when Jira is served under one)"
            ))
            .into());
        }
        Err(e) => {
            return Err(crate::exit::Error::from(e).context(format!(
                "cannot ask {shown} which Jira this is, so nothing was audited: check the URL and the credential, or pass `--deployment cloud` or `--deployment data-center`"
            )));
        }
    };
    Ok(match info.deployment_type.as_deref() {
        Some("Cloud") => (Deployment::Cloud, "`serverInfo` says `Cloud`".to_owned()),
        Some(other @ ("Server" | "DataCenter")) => (
            Deployment::DataCenter,
            format!("`serverInfo` says `{other}`"),
        ),
        Some(other) => {
            return Err(Failure::usage(format!(
                "{shown} says deploymentType `{other}`, which jira-auth does not know: pass `--deployment cloud` or `--deployment data-center`"
            ))
            .into());
        }
        None => (
            target.deployment,
            "`serverInfo` names no deployment type (Jira Server before 7.x), so by its host name"
                .to_owned(),
        ),
    })
}

/// `serverInfo` in the REST version of `deployment`: the masked URL asked, and the answer.
async fn server_info(
    http: &HttpClient,
    target: &AuditTarget,
    deployment: Deployment,
) -> crate::exit::Result<(String, Result<ServerInfo, JiraError>)> {
    let probe = JiraClient::new(
        http.clone(),
        target.base.clone(),
        deployment,
        target.auth.clone(),
    );
    let url = probe.rest("/serverInfo")?;
    Ok((
        jira_auth_core::secret::mask_url(&url),
        probe.get_json(&url).await,
    ))
}

/// The section of a stored profile that an audit uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Cloud,
    Server,
}

/// Which section of `profile` to audit: the only one it has, or the one `want` names.
fn choose(
    name: &ProfileName,
    profile: &Profile,
    want: Option<DeploymentArg>,
) -> Result<Section, Failure> {
    let has = |s: &str| profile.section_names().any(|n| n == s);
    let (cloud, server) = (
        has(cloud_credentials::SECTION),
        has(server_profile::SECTION),
    );
    match (deployment(want), cloud, server) {
        (Some(Deployment::Cloud), true, _) | (None, true, false) => Ok(Section::Cloud),
        (Some(Deployment::DataCenter), _, true) | (None, false, true) => Ok(Section::Server),
        (None, true, true) => Err(Failure::usage(format!(
            "profile `{name}` has both a `cloud` and a `server` login; choose one with `--deployment cloud` or `--deployment data-center`"
        ))),
        (want, ..) => Err(Failure::usage(format!(
            "profile `{name}` has no {} login: run `jira-auth cloud login` or `jira-auth server login` first, or audit ad hoc with `--url`",
            match want {
                Some(Deployment::Cloud) => "`cloud`",
                Some(Deployment::DataCenter) => "`server`",
                None => "`cloud` or `server`",
            }
        ))),
    }
}

/// A stored profile's `cloud` login (3LO bearer on `{api}/ex/jira/{cloudId}`, refreshed first
/// when it expires within 5 minutes, exactly as `cloud token` does) or `server` login (OAuth
/// 1.0a signed with the stored key, a PAT, or an OAuth 2.0 bearer renewed first like `server
/// token` does). `want` picks one when the profile has both.
pub async fn from_profile(
    store: &Store,
    name: &ProfileName,
    profile: &Profile,
    want: Option<DeploymentArg>,
    http: &HttpClient,
) -> crate::exit::Result<AuditTarget> {
    match choose(name, profile, want)? {
        Section::Cloud => {
            let fresh = cloud_credentials::ensure_fresh(
                store,
                name,
                http,
                RefreshMode::IfExpiring(cloud_credentials::REFRESH_MARGIN),
            )
            .await?;
            let c = fresh.credentials;
            Ok(AuditTarget {
                base: c.jira_base()?,
                deployment: Deployment::Cloud,
                auth: Arc::new(Bearer(c.access_token)),
                granted_scopes: Some(c.scopes),
                site: Some(c.site_url),
            })
        }
        Section::Server => {
            let server: ServerProfile = profile
                .get::<server_profile::ServerProfile>(name)?
                .ok_or_else(|| Failure::usage(format!("profile `{name}` has no `server` login")))?;
            // An OAuth 2.0 login is renewed first when it expires within 5 minutes, as
            // `server token` does.
            let server = if matches!(server.credential, server_profile::Credential::Oauth2(_)) {
                jira_auth_server::oauth2::fresh::ensure_fresh(
                    store,
                    name,
                    http,
                    jira_auth_server::oauth2::fresh::Mode::IfExpiring(
                        jira_auth_server::oauth2::fresh::REFRESH_MARGIN,
                    ),
                    "",
                )
                .await?
                .profile
            } else {
                server
            };
            Ok(AuditTarget {
                base: parse_url(&server.url)?,
                deployment: Deployment::DataCenter,
                auth: server.authorizer(http.clock().clone())?,
                granted_scopes: None,
                site: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn name() -> ProfileName {
        ProfileName::new("conn").unwrap()
    }

    /// A store holding `json` as profile `conn`.
    fn stored(json: serde_json::Value) -> (tempfile::TempDir, Store, Profile) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let profile: Profile = serde_json::from_value(json).unwrap();
        store.lock(&name()).unwrap().save(&profile).unwrap();
        (dir, store, profile)
    }

    fn http() -> HttpClient {
        HttpClient::builder().build().unwrap()
    }

    fn cloud_section(expires_at: i64) -> serde_json::Value {
        serde_json::json!({
            "client_id": "cid", "client_secret": "cs", "access_token": "at-1",
            "access_expires_at": expires_at, "refresh_token": "rt-1",
            "scopes": ["read:jira-work"], "cloud_id": "c-1",
            "site_url": "https://acme.atlassian.net", "site_name": "acme",
            "family_started_at": 0, "last_refreshed_at": 0,
            "auth_url": "https://auth.atlassian.com", "api_url": "https://api.atlassian.com/",
            "redirect_uri": "http://localhost:13131"})
    }

    #[tokio::test]
    async fn a_valid_cloud_login_audits_through_the_gateway_with_its_granted_scopes() {
        let (_dir, store, p) =
            stored(serde_json::json!({"version": 1, "cloud": cloud_section(i64::MAX / 2)}));
        let t = from_profile(&store, &name(), &p, None, &http())
            .await
            .unwrap();
        assert_eq!(t.base.as_str(), "https://api.atlassian.com/ex/jira/c-1");
        assert_eq!(t.deployment, Deployment::Cloud);
        assert_eq!(t.granted_scopes, Some(vec!["read:jira-work".to_owned()]));
        assert_eq!(t.auth.describe(), "OAuth 2.0 bearer token");
    }

    #[tokio::test]
    async fn server_logins_audit_data_center_with_a_pat_or_a_signed_oauth1_token() {
        let (_dir, store, p) = stored(serde_json::json!({"version": 1, "server": {
            "url": "https://jira.example.com/jira", "credential": {"type": "pat", "token": "p"},
            "logged_in_at": "2026-11-25T08:00:00Z"}}));
        let t = from_profile(&store, &name(), &p, None, &http())
            .await
            .unwrap();
        assert_eq!(t.base.as_str(), "https://jira.example.com/jira");
        assert_eq!(t.deployment, Deployment::DataCenter);
        assert_eq!(t.granted_scopes, None);
        assert_eq!(t.auth.describe(), "personal access token");

        let keys = tempfile::tempdir().unwrap();
        let key = jira_auth_test::fixtures::private_key("test-key.pkcs8.pem", keys.path());
        let (_dir, store, p) = stored(serde_json::json!({"version": 1, "server": {
            "url": "https://jira.example.com",
            "credential": {"type": "oauth1", "consumer_key": "ck", "private_key_path": key,
                           "access_token": "tok", "token_secret": "sec"},
            "logged_in_at": "2026-11-25T08:00:00Z"}}));
        let t = from_profile(&store, &name(), &p, None, &http())
            .await
            .unwrap();
        let mut request = http::Request::get("https://jira.example.com/rest/api/2/myself")
            .body(Vec::new())
            .unwrap();
        t.auth.authorize(&mut request).unwrap();
        let header = request.headers()["authorization"].to_str().unwrap();
        assert!(header.starts_with("OAuth "), "{header}");
        assert!(
            header.contains("oauth_signature_method=\"RSA-SHA1\""),
            "{header}"
        );
        assert!(header.contains("oauth_token=\"tok\""), "{header}");
    }

    #[test]
    fn credentials_in_the_url_are_refused_and_not_echoed() {
        let err = parse_url("https://bot:s3cr3t@acme.atlassian.net").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`https://****:****@acme.atlassian.net/` carries credentials in the URL; drop them and pass the credential the documented way (`--email` with `JIRA_AUTH_API_TOKEN`, or `--pat` with `JIRA_AUTH_PAT`)"
        );
    }

    #[tokio::test]
    async fn both_sections_need_a_deployment_and_none_is_a_usage_error() {
        let (_dir, store, p) = stored(serde_json::json!({"version": 1,
            "cloud": cloud_section(i64::MAX / 2),
            "server": {"url": "https://j.example.com", "credential": {"type": "pat", "token": "p"},
                       "logged_in_at": "2026-11-25T08:00:00Z"}}));
        let err = from_profile(&store, &name(), &p, None, &http())
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with("profile `conn` has both"),
            "{err}"
        );
        let t = from_profile(
            &store,
            &name(),
            &p,
            Some(DeploymentArg::DataCenter),
            &http(),
        )
        .await
        .unwrap();
        assert_eq!(t.deployment, Deployment::DataCenter);
        let empty: Profile = serde_json::from_value(serde_json::json!({"version": 1})).unwrap();
        let err = from_profile(&store, &name(), &empty, None, &http())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile `conn` has no `cloud` or `server` login: run `jira-auth cloud login` or `jira-auth server login` first, or audit ad hoc with `--url`"
        );
        assert_eq!(err.code(), crate::exit::USAGE);
    }
}
