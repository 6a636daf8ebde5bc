//! `GET {api}/oauth/token/accessible-resources`: the sites a token reaches, and choosing one.
//!
//! The list is every site the app was granted by this user, not just the one picked in the
//! consent screen; it may be empty (the app has no Jira API, or the user has no site access).

use crate::{CloudError, Endpoints};
use jira_auth_core::AccessToken;
use jira_auth_core::auth::Bearer;
use jira_auth_core::http::{HttpClient, check_status};
use serde::{Deserialize, Serialize};

/// One accessible resource (a Jira or Confluence site).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    /// The cloudId used in `/ex/jira/{cloudId}`.
    pub id: String,
    pub url: String,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

/// Fetches the sites `token` reaches (one request).
pub async fn accessible_resources(
    http: &HttpClient,
    endpoints: &Endpoints,
    token: &AccessToken,
) -> Result<Vec<Site>, CloudError> {
    let url = endpoints.accessible_resources();
    let request = http::Request::get(url.as_str())
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| CloudError::BadResponse {
            url: jira_auth_core::secret::mask_url(&url),
            message: e.to_string(),
        })?;
    let response = http
        .send_authorized(request, &Bearer(token.clone()))
        .await?;
    let response = check_status("GET", url.as_str(), response)?;
    parse_sites(&jira_auth_core::secret::mask_url(&url), &response.body)
}

/// Parses an `accessible-resources` body (pure; a fuzz target). `url` is only for the message.
pub fn parse_sites(url: &str, body: &[u8]) -> Result<Vec<Site>, CloudError> {
    crate::transport::parse_json(url, body)
}

/// Picks the site `wanted` names (its id, its URL with or without scheme or trailing slash, or
/// its name, case-insensitively); with no `wanted`, the only site. `Ok(None)` when there are
/// several and none was named: the caller asks the user or reports [`CloudError::SiteAmbiguous`].
pub fn choose<'a>(sites: &'a [Site], wanted: Option<&str>) -> Result<Option<&'a Site>, CloudError> {
    if sites.is_empty() {
        return Err(CloudError::NoSites);
    }
    let Some(wanted) = wanted else {
        return Ok(if sites.len() == 1 {
            Some(&sites[0])
        } else {
            None
        });
    };
    let norm = |u: &str| {
        let u = u.trim().trim_end_matches('/').to_ascii_lowercase();
        u.strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))
            .map(str::to_owned)
            .unwrap_or(u)
    };
    let w = norm(wanted);
    sites
        .iter()
        .find(|s| s.id == wanted.trim())
        .or_else(|| sites.iter().find(|s| norm(&s.url) == w))
        .or_else(|| {
            sites
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(wanted.trim()))
        })
        .map(Some)
        .ok_or_else(|| CloudError::SiteNotFound {
            wanted: wanted.to_owned(),
            available: describe(sites),
        })
}

/// `name (url, id)` for each site, comma separated: for error messages.
pub fn describe(sites: &[Site]) -> String {
    sites
        .iter()
        .map(|s| format!("{} ({}, {})", s.name, s.url, s.id))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: &str, name: &str) -> Site {
        Site {
            id: id.into(),
            url: format!("https://{name}.atlassian.net"),
            name: name.into(),
            scopes: vec![],
            avatar_url: None,
        }
    }

    #[test]
    fn choose_by_id_url_or_name() {
        let sites = [site("id-1", "acme"), site("id-2", "beta")];
        assert_eq!(choose(&sites, Some("id-2")).unwrap().unwrap().id, "id-2");
        assert_eq!(
            choose(&sites, Some("BETA.atlassian.net/"))
                .unwrap()
                .unwrap()
                .id,
            "id-2"
        );
        assert_eq!(
            choose(&sites, Some("https://acme.atlassian.net"))
                .unwrap()
                .unwrap()
                .id,
            "id-1"
        );
        assert_eq!(choose(&sites, Some("Acme")).unwrap().unwrap().id, "id-1");
        assert_eq!(choose(&sites, None).unwrap(), None);
        assert_eq!(choose(&sites[..1], None).unwrap().unwrap().id, "id-1");
        assert_eq!(
            choose(&sites, Some("gamma")).unwrap_err().to_string(),
            "no accessible site matches `--site gamma`; the token reaches: acme (https://acme.atlassian.net, id-1), beta (https://beta.atlassian.net, id-2)"
        );
        assert!(matches!(choose(&[], None), Err(CloudError::NoSites)));
    }

    #[test]
    fn parses_atlassians_shape() {
        let body = r#"[{"id":"1324a887-45db-1bf4-1e99-ef0ff456d421","url":"https://your-domain.atlassian.net","name":"your-domain","scopes":["write:jira-work","read:jira-user"],"avatarUrl":"https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/flag.png"}]"#;
        let sites: Vec<Site> = serde_json::from_str(body).unwrap();
        assert_eq!(sites[0].name, "your-domain");
        assert_eq!(sites[0].scopes, ["write:jira-work", "read:jira-user"]);
    }
}
