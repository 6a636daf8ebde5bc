//! Jira Cloud service accounts: OAuth 2.0 client credentials (RFC 6749 §4.4).
//!
//! An organisation admin gives a service account (admin.atlassian.com → Directory → Service
//! accounts) an OAuth 2.0 credential: a client id and a secret, with the scopes chosen there.
//! `POST {auth}/oauth/token` with `grant_type=client_credentials` mints an access token valid for
//! 60 minutes and no refresh token, so the next token is minted with the same secret: the profile
//! keeps it, as a 3LO profile keeps its app's secret (the store's 0600 file or keyring entry).
//! Calls go through `{api}/ex/jira/{cloudId}`; a site URL's cloud id is at
//! `GET {site}/_edge/tenant_info` (`{"cloudId": "…"}`).
//!
//! `cloud login --client-credentials`: [`SiteRef::parse`] (pure) → [`cloud_id_of`] when the site
//! is a URL → the mint → [`check_site`] (`GET {api}/ex/jira/{cloudId}/rest/api/3/serverInfo`,
//! which needs no scope, so it proves the token reaches the site whatever scopes the credential
//! has) → the `cloud` section, with [`LoginKind::ServiceAccount`], in the store.
//! A re-mint ([`remint`]) happens only under the profile lock, from
//! [`crate::credentials::ensure_fresh`], so racing processes make one token request.

use crate::credentials::{self, CloudCredentials, Fresh, LoginKind};
use crate::token::TokenClient;
use crate::{CloudError, Endpoints, fault};
use jira_auth_core::auth::Bearer;
use jira_auth_core::http::{HttpClient, check_status};
use jira_auth_core::secret::mask_url;
use jira_auth_core::store::{Profile, ProfileGuard, ProfileName, Store};
use jira_auth_core::time::unix_seconds;
use jira_auth_core::{AccessToken, ClientSecret};
use serde::Deserialize;

/// What `--site` named: a cloud id, or a site URL whose cloud id is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteRef {
    /// A cloud id, lowercased.
    CloudId(String),
    /// The site's root (`https://acme.atlassian.net/`): a browser URL's path, query and fragment
    /// are dropped.
    Url(url::Url),
}

impl SiteRef {
    /// Reads `--site` (pure).
    pub fn parse(value: &str) -> Result<Self, CloudError> {
        let v = value.trim();
        if is_cloud_id(v) {
            return Ok(SiteRef::CloudId(v.to_ascii_lowercase()));
        }
        let bad = || CloudError::BadSite {
            value: crate::error::shown_url(v),
        };
        let mut url = url::Url::parse(v).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(bad());
        }
        url.set_path("/");
        url.set_query(None);
        url.set_fragment(None);
        Ok(SiteRef::Url(url))
    }
}

/// Whether `text` has the shape of a cloud id: a UUID, `8-4-4-4-12` hexadecimal digits. A cloud
/// id goes into a URL path, so nothing else is accepted, from the user or from a server.
pub fn is_cloud_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `{site}/_edge/tenant_info`.
pub fn tenant_info_url(site: &url::Url) -> url::Url {
    let mut url = site.clone();
    url.set_path("/_edge/tenant_info");
    url
}

/// The cloud id of the site at `site` (one request, `GET {site}/_edge/tenant_info`). A 404 means
/// the URL is not a Jira Cloud site (a Data Center, a typo'd host that answers anyway).
pub async fn cloud_id_of(http: &HttpClient, site: &url::Url) -> Result<String, CloudError> {
    let url = tenant_info_url(site);
    let shown = mask_url(&url);
    let response = http.send(get(&url)?).await?;
    if response.status == http::StatusCode::NOT_FOUND {
        return Err(CloudError::NotACloudSite {
            site: mask_url(site),
            url: shown,
            status: 404,
        });
    }
    let response = check_status("GET", &shown, response)?;
    parse_tenant_info(&shown, &response.body)
}

/// Reads a `tenant_info` answer, `{"cloudId": "…"}` (pure; a fuzz target). `url` is only for the
/// message. A `cloudId` that is not a UUID is refused: it would be spliced into every API path.
pub fn parse_tenant_info(url: &str, body: &[u8]) -> Result<String, CloudError> {
    #[derive(Deserialize)]
    struct TenantInfo {
        #[serde(rename = "cloudId")]
        cloud_id: String,
    }
    let info: TenantInfo = crate::transport::parse_json(url, body)?;
    if !is_cloud_id(&info.cloud_id) {
        return Err(CloudError::BadResponse {
            url: url.to_owned(),
            message: format!(
                "its `cloudId` {:?} is not a cloud id (a UUID); is a proxy in the way?",
                info.cloud_id.chars().take(64).collect::<String>()
            ),
        });
    }
    Ok(info.cloud_id.to_ascii_lowercase())
}

/// What the site says about itself: its URL and title, when it says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteInfo {
    pub url: Option<String>,
    pub title: Option<String>,
}

/// Proves `token` reaches Jira on `cloud_id` (one request, `serverInfo` through the gateway):
/// 401 or 403 is [`CloudError::NoSiteAccess`], 404 [`CloudError::UnknownCloudId`]. `site` names
/// the site in messages.
pub async fn check_site(
    http: &HttpClient,
    endpoints: &Endpoints,
    cloud_id: &str,
    site: &str,
    token: &AccessToken,
) -> Result<SiteInfo, CloudError> {
    let mut url = endpoints.jira_base(cloud_id);
    url.set_path(&format!("{}/rest/api/3/serverInfo", url.path()));
    let shown = mask_url(&url);
    let response = http
        .send_authorized(get(&url)?, &Bearer(token.clone()))
        .await?;
    match response.status.as_u16() {
        401 | 403 => {
            return Err(CloudError::NoSiteAccess {
                site: site.to_owned(),
                url: shown,
                status: response.status.as_u16(),
            });
        }
        404 => {
            return Err(CloudError::UnknownCloudId {
                cloud_id: cloud_id.to_owned(),
                url: shown,
            });
        }
        _ => {}
    }
    let response = check_status("GET", &shown, response)?;
    parse_server_info(&shown, &response.body)
}

/// Reads the two fields of `serverInfo` a login keeps (pure). A `baseUrl` that is not an http(s)
/// URL is dropped rather than stored.
pub fn parse_server_info(url: &str, body: &[u8]) -> Result<SiteInfo, CloudError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ServerInfo {
        base_url: Option<String>,
        server_title: Option<String>,
    }
    let info: ServerInfo = crate::transport::parse_json(url, body)?;
    let site_url = info
        .base_url
        .filter(|u| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")));
    Ok(SiteInfo {
        url: site_url,
        title: info.server_title.map(|t| t.chars().take(200).collect()),
    })
}

fn get(url: &url::Url) -> Result<http::Request<Vec<u8>>, CloudError> {
    http::Request::get(url.as_str())
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| CloudError::BadResponse {
            url: mask_url(url),
            message: e.to_string(),
        })
}

/// A service account's login, before anything is sent.
#[derive(Debug, Clone)]
pub struct Login {
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Sent as `scope` on every mint; empty: the credential's own scopes.
    pub scopes: Vec<String>,
    pub site: SiteRef,
    pub endpoints: Endpoints,
}

impl Login {
    /// Finds the cloud id (`tenant_info` for a URL), mints a token, proves it reaches the site,
    /// and stores the login as `profile`'s `cloud` section (replacing any earlier login). Three
    /// requests for a site URL, two for a cloud id.
    pub async fn run(
        self,
        http: &HttpClient,
        store: &Store,
        profile: &ProfileName,
    ) -> Result<CloudCredentials, CloudError> {
        let (cloud_id, given_url) = match &self.site {
            SiteRef::CloudId(id) => (id.clone(), None),
            SiteRef::Url(url) => (cloud_id_of(http, url).await?, Some(url.clone())),
        };
        let tokens = TokenClient {
            http,
            endpoints: &self.endpoints,
            client_id: &self.client_id,
            client_secret: &self.client_secret,
        }
        .client_credentials(&self.scopes)
        .await?;
        let now = unix_seconds(http.clock().now());
        let label = given_url
            .as_ref()
            .map_or_else(|| format!("the site with cloud id {cloud_id}"), mask_url);
        let info = check_site(
            http,
            &self.endpoints,
            &cloud_id,
            &label,
            &tokens.access_token,
        )
        .await?;
        let site_url = info
            .url
            .or_else(|| given_url.map(|u| u.as_str().trim_end_matches('/').to_owned()))
            .unwrap_or_default();
        let site_name = info.title.unwrap_or_else(|| {
            url::Url::parse(&site_url)
                .ok()
                .and_then(|u| {
                    u.host_str()
                        .map(|h| h.trim_end_matches(".atlassian.net").to_owned())
                })
                .unwrap_or_default()
        });
        let c = CloudCredentials {
            kind: LoginKind::ServiceAccount,
            client_id: self.client_id,
            client_secret: self.client_secret,
            access_expires_at: credentials::expiry(now, &tokens),
            access_token: tokens.access_token,
            refresh_token: None,
            scopes: tokens.scopes.unwrap_or_else(|| self.scopes.clone()),
            requested_scopes: self.scopes,
            preset: None,
            cloud_id,
            site_url,
            site_name,
            family_started_at: now,
            last_refreshed_at: now,
            auth_url: self.endpoints.auth_url.to_string(),
            api_url: self.endpoints.api_url.to_string(),
            redirect_uri: String::new(),
        };
        credentials::save(store, profile, &c)?;
        Ok(c)
    }
}

/// Mints a new access token for the service account `c` and saves it into `stored`, the
/// profile read under `guard`. Call with the lock held, after checking that the stored token is
/// not fresh enough. One request.
pub(crate) async fn remint(
    guard: &ProfileGuard,
    stored: &Profile,
    mut c: CloudCredentials,
    http: &HttpClient,
) -> Result<Fresh, CloudError> {
    let endpoints = c.endpoints()?;
    fault::pause_at("before-request");
    let tokens = TokenClient {
        http,
        endpoints: &endpoints,
        client_id: &c.client_id,
        client_secret: &c.client_secret,
    }
    .client_credentials(&c.requested_scopes)
    .await?;
    let now = unix_seconds(http.clock().now());
    c.apply_refresh(tokens, now);
    let mut profile = stored.clone();
    profile.put(&c)?;
    guard.save(&profile)?;
    Ok(Fresh {
        credentials: c,
        refreshed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_is_a_cloud_id_or_an_http_url_and_nothing_else() {
        let id = "1324A887-45db-1bf4-1e99-ef0ff456d421";
        assert_eq!(
            SiteRef::parse(id).unwrap(),
            SiteRef::CloudId(id.to_ascii_lowercase())
        );
        assert_eq!(
            SiteRef::parse(" https://acme.atlassian.net/jira/your-work?x=1#y ").unwrap(),
            SiteRef::Url(url::Url::parse("https://acme.atlassian.net/").unwrap())
        );
        for bad in [
            "acme",
            "acme.atlassian.net",
            "ftp://acme.atlassian.net",
            "1324a887-45db-1bf4-1e99-ef0ff456d42",
            "1324a887-45db-1bf4-1e99-ef0ff456d42g",
            "../../x",
        ] {
            assert!(
                matches!(SiteRef::parse(bad), Err(CloudError::BadSite { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            SiteRef::parse("https://me:hunter2@acme.atlassian.net")
                .unwrap_err()
                .to_string(),
            "`--site https://****:****@acme.atlassian.net/` is neither a site URL nor a cloud id: pass the site's URL, e.g. `https://acme.atlassian.net`, or its cloud id, a UUID such as `1324a887-45db-1bf4-1e99-ef0ff456d421`"
        );
    }

    #[test]
    fn tenant_info_gives_a_cloud_id_or_a_reason() {
        let url = "https://acme.atlassian.net/_edge/tenant_info";
        assert_eq!(
            parse_tenant_info(
                url,
                br#"{"cloudId":"1324A887-45db-1bf4-1e99-ef0ff456d421"}"#
            )
            .unwrap(),
            "1324a887-45db-1bf4-1e99-ef0ff456d421"
        );
        assert_eq!(
            parse_tenant_info(url, br#"{"cloudId":"../../admin"}"#)
                .unwrap_err()
                .to_string(),
            "https://acme.atlassian.net/_edge/tenant_info answered with a body jira-auth cannot read: its `cloudId` \"../../admin\" is not a cloud id (a UUID); is a proxy in the way?"
        );
        assert!(
            parse_tenant_info(url, b"{}")
                .unwrap_err()
                .to_string()
                .contains("missing field `cloudId`")
        );
        let html = parse_tenant_info(url, b"<html><title>Log in</title></html>").unwrap_err();
        assert!(html.to_string().contains("\"Log in\""), "{html}");
    }

    #[test]
    fn server_info_keeps_an_http_base_url_and_the_title() {
        let info = parse_server_info(
            "u",
            br#"{"baseUrl":"https://acme.atlassian.net","serverTitle":"Acme Jira","deploymentType":"Cloud"}"#,
        )
        .unwrap();
        assert_eq!(info.url.as_deref(), Some("https://acme.atlassian.net"));
        assert_eq!(info.title.as_deref(), Some("Acme Jira"));
        let info = parse_server_info("u", br#"{"baseUrl":"javascript:alert(1)"}"#).unwrap();
        assert_eq!(info, SiteInfo::default());
    }
}
