//! The consent chain after the browser's callback, once, for `cloud login` and `cloud serve`:
//! a typestate in the manner of oauth2-rs's client, so the compiler refuses a wrong order.
//!
//! [`Consent`] (what was asked for) → [`Consent::exchange`]: room on disk, the code exchange,
//! accessible-resources → [`Granted`] (tokens and the sites they reach; choosing one is the
//! caller's UI: a terminal prompt or a web page) → [`Granted::choose`] → [`Connection`] (the
//! credentials and the scopes not granted) → [`Connection::save`].

use crate::credentials::{self, CloudCredentials, Grant};
use crate::sites::{self, Site};
use crate::token::{TokenClient, TokenSet};
use crate::{CloudError, authorize};
use jira_auth_core::http::HttpClient;
use jira_auth_core::store::{ProfileName, Store};

/// A consent the user gave in the browser, before its code is spent.
#[derive(Debug, Clone)]
pub struct Consent {
    grant: Grant,
}

impl Consent {
    pub fn new(grant: Grant) -> Self {
        Self { grant }
    }

    /// Checks that `profile` can be saved (a full disk is found before the code is spent), then
    /// exchanges `code` and reads the sites the token reaches. No site at all is
    /// [`CloudError::NoSites`].
    pub async fn exchange(
        self,
        http: &HttpClient,
        store: &Store,
        profile: &ProfileName,
        code: oauth2::AuthorizationCode,
    ) -> Result<Granted, CloudError> {
        credentials::check_room_for_login(store, profile)?;
        let redirect = crate::callback::RedirectUri::parse(&self.grant.redirect_uri)?;
        let tokens = TokenClient {
            http,
            endpoints: &self.grant.endpoints,
            client_id: &self.grant.client_id,
            client_secret: &self.grant.client_secret,
        }
        .exchange_code(code, &redirect)
        .await?;
        let sites =
            sites::accessible_resources(http, &self.grant.endpoints, &tokens.access_token).await?;
        if sites.is_empty() {
            return Err(CloudError::NoSites);
        }
        Ok(Granted {
            grant: self.grant,
            tokens,
            sites,
        })
    }
}

/// The code was exchanged: a token set and the sites it reaches, waiting for a site choice.
#[derive(Debug, Clone)]
pub struct Granted {
    grant: Grant,
    tokens: TokenSet,
    sites: Vec<Site>,
}

impl Granted {
    /// The sites the token reaches (never empty).
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// The login for `site` (one of [`Granted::sites`], by id), a token family starting `now`.
    pub fn choose(self, site_id: &str, now: i64) -> Result<Connection, CloudError> {
        let Some(site) = self.sites.iter().find(|s| s.id == site_id) else {
            return Err(CloudError::SiteNotFound {
                wanted: site_id.to_owned(),
                available: sites::describe(&self.sites),
            });
        };
        let requested = self.grant.requested_scopes.clone();
        let credentials = CloudCredentials::from_grant(self.grant, self.tokens, site, now);
        let missing_scopes = authorize::missing_scopes(&requested, &credentials.scopes);
        Ok(Connection {
            credentials,
            missing_scopes,
        })
    }
}

/// A chosen site's login, ready to be stored.
#[derive(Debug, Clone)]
pub struct Connection {
    pub credentials: CloudCredentials,
    /// Requested scopes that were not granted.
    pub missing_scopes: Vec<String>,
}

impl Connection {
    /// Stores the login as profile `profile`'s `cloud` section (replacing any earlier one and
    /// its write-ahead record).
    pub fn save(&self, store: &Store, profile: &ProfileName) -> Result<(), CloudError> {
        credentials::save(store, profile, &self.credentials)
    }
}
