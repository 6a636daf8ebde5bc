//! `jira-auth server status`: what the profile's `server` section holds (never a secret), and
//! whether Jira accepts it (`GET /rest/api/2/myself`). One [`Status`], rendered as text or
//! `--json`; the exit code is the same for both: 0 ok, 1 the check failed, 4 Jira unreachable.

use super::args::StatusArgs;
use super::run::Ctx;
use crate::exit;
use jira_auth_core::redact::mask_held;
use jira_auth_server::key;
use jira_auth_server::profile::{Credential, Oauth2Grant, ServerProfile};

/// An error of either library the check meets, keeping its category for the outcome.
trait CategorizedError: std::fmt::Display + jira_auth_core::Categorize + Send {
    fn into_exit(self: Box<Self>) -> exit::Error;
}

impl CategorizedError for jira_auth_server::ServerError {
    fn into_exit(self: Box<Self>) -> exit::Error {
        exit::Error::from(*self)
    }
}

impl CategorizedError for jira_auth_server::oauth2::Oauth2Error {
    fn into_exit(self: Box<Self>) -> exit::Error {
        exit::Error::from(*self)
    }
}
use serde::Serialize;

/// The request that checks the credential.
pub const CHECK_REQUEST: &str = "GET /rest/api/2/myself";

/// The `server status` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub profile: String,
    /// `file` or `keyring`.
    pub store: &'static str,
    /// The profile file (`None` in the keyring).
    pub path: Option<String>,
    /// The site, with its context path.
    pub url: String,
    pub credential: CredentialStatus,
    /// Who `/myself` said the credential belongs to at login.
    pub user: Option<User>,
    /// RFC 3339 UTC.
    pub logged_in_at: String,
    /// The live check; `None` with `--offline`.
    pub check: Option<Check>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialStatus {
    /// `oauth1` or `pat`, as in the profile.
    pub kind: &'static str,
    /// `OAuth 1.0a (RSA-SHA1)` or `personal access token`.
    pub description: &'static str,
    /// OAuth 1.0a only.
    pub consumer_key: Option<String>,
    /// OAuth 1.0a only.
    pub private_key: Option<PrivateKey>,
    /// OAuth 2.0 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<Oauth2Status>,
}

/// What an OAuth 2.0 login holds, secrets aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Oauth2Status {
    /// `authorization_code` or `client_credentials`.
    pub grant: Oauth2Grant,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// RFC 3339 UTC.
    pub access_expires_at: String,
    pub has_refresh_token: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivateKey {
    pub path: String,
    /// The RSA modulus size, when the key loads.
    pub bits: Option<usize>,
    /// Why it does not load.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub request: &'static str,
    pub outcome: Outcome,
    /// Who Jira answered as (`ok`).
    pub user: Option<String>,
    /// Why not (`failed`, `unreachable`), with any secret this process holds masked.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Jira answered as the stored user: exit 0.
    Ok,
    /// Jira refused the credential, or it cannot be used (its key file): exit 1.
    Failed,
    /// Jira could not be reached: exit 4.
    Unreachable,
}

impl Status {
    /// What is stored, before any check.
    pub fn stored(ctx: &Ctx, stored: &ServerProfile) -> Self {
        let keyring = ctx.store.uses_keyring();
        let credential = match &stored.credential {
            Credential::Oauth1 {
                consumer_key,
                private_key_path,
                ..
            } => {
                let (bits, error) = match key::read_private_key(private_key_path) {
                    Ok(k) => (Some(key::bits(&k)), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                CredentialStatus {
                    kind: "oauth1",
                    description: stored.kind(),
                    consumer_key: Some(consumer_key.clone()),
                    private_key: Some(PrivateKey {
                        path: private_key_path.display().to_string(),
                        bits,
                        error,
                    }),
                    oauth2: None,
                }
            }
            Credential::Pat { .. } => CredentialStatus {
                kind: "pat",
                description: stored.kind(),
                consumer_key: None,
                private_key: None,
                oauth2: None,
            },
            Credential::Oauth2(c) => CredentialStatus {
                kind: "oauth2",
                description: stored.kind(),
                consumer_key: None,
                private_key: None,
                oauth2: Some(Oauth2Status {
                    grant: c.grant,
                    client_id: c.client_id.clone(),
                    scopes: c.scopes.clone(),
                    access_expires_at: jira_auth_core::time::rfc3339(c.access_expires_at),
                    has_refresh_token: c.refresh_token.is_some(),
                }),
            },
        };
        Self {
            profile: ctx.profile.to_string(),
            store: if keyring { "keyring" } else { "file" },
            path: (!keyring).then(|| ctx.store.profile_path(&ctx.profile).display().to_string()),
            url: stored.url.clone(),
            credential,
            user: stored.user.as_ref().map(|u| User {
                name: u.name.clone(),
                display_name: u.display_name.clone(),
            }),
            logged_in_at: stored.logged_in_at.clone(),
            check: None,
        }
    }
}

impl Check {
    fn new(outcome: Outcome, user: Option<String>, error: Option<String>) -> Self {
        Self {
            request: CHECK_REQUEST,
            outcome,
            user,
            error: error.map(|e| mask_held(&e)),
        }
    }
}

/// The lines before the check.
pub fn stored_text(s: &Status, location: &str) -> String {
    let mut out = format!("Profile `{}` ({location})\n", s.profile);
    let mut line = |k: &str, v: String| out.push_str(&format!("  {:<13}{v}\n", format!("{k}:")));
    line("Jira", s.url.clone());
    line("Credential", s.credential.description.to_owned());
    if let Some(consumer_key) = &s.credential.consumer_key {
        line("Consumer", format!("`{consumer_key}`"));
    }
    if let Some(k) = &s.credential.private_key {
        let state = match (k.bits, &k.error) {
            (Some(bits), _) => format!("{bits}-bit RSA"),
            (None, error) => format!("unusable: {}", error.as_deref().unwrap_or_default()),
        };
        line("Private key", format!("`{}` ({state})", k.path));
    }
    if let Some(o) = &s.credential.oauth2 {
        line("Client", format!("`{}`", o.client_id));
        line("Scopes", o.scopes.join(" "));
        line(
            "Expires",
            format!("access token valid until {}", o.access_expires_at),
        );
        if o.grant == Oauth2Grant::AuthorizationCode {
            line(
                "Refresh",
                if o.has_refresh_token {
                    "refresh token stored (single use)".to_owned()
                } else {
                    "no refresh token: log in again when the access token expires".to_owned()
                },
            );
        }
    }
    if let Some(user) = &s.user {
        line(
            "User",
            match &user.display_name {
                Some(d) => format!("{d} ({})", user.name),
                None => user.name.clone(),
            },
        );
    }
    line("Logged in", s.logged_in_at.clone());
    out
}

/// The check's line; none when Jira was unreachable (the error says so on stderr).
pub fn check_text(c: &Check) -> Option<String> {
    let text = match c.outcome {
        Outcome::Ok => format!(
            "ok, `{}` answered as {}",
            c.request,
            c.user.as_deref().unwrap_or_default()
        ),
        Outcome::Failed => format!("FAILED: {}", c.error.as_deref().unwrap_or_default()),
        Outcome::Unreachable => return None,
    };
    Some(format!("  {:<13}{text}\n", "Check:"))
}

pub async fn run(ctx: &Ctx, args: StatusArgs) -> exit::Result<u8> {
    let stored = ctx.load()?;
    let mut status = Status::stored(ctx, &stored);
    if !args.json {
        // Shown before the check, which may take as long as the network does.
        print!(
            "{}",
            stored_text(&status, &ctx.store.location(&ctx.profile))
        );
    }
    let outcome = if args.offline {
        Ok(exit::OK)
    } else {
        let jira = ctx.jira(&stored.url)?;
        // An OAuth 2.0 login is checked with a usable token: renewed first if it expires soon.
        let checked: Result<_, Box<dyn CategorizedError>> =
            match super::oauth2::usable(ctx, stored.clone(), jira.http()).await {
                Err(e) => Err(Box::new(e)),
                Ok(usable) => match usable.authorizer(jira.http().clock().clone()) {
                    Ok(auth) => jira.myself(auth).await.map_err(|e| Box::new(e) as _),
                    Err(e) => Err(Box::new(e)),
                },
            };
        let (check, outcome) = match checked {
            Ok(me) => (Check::new(Outcome::Ok, Some(me.name), None), Ok(exit::OK)),
            Err(e) if e.category() == jira_auth_core::Category::Network => (
                Check::new(Outcome::Unreachable, None, Some(e.to_string())),
                Err(e.into_exit().context("cannot check the credentials")),
            ),
            Err(e) => (
                Check::new(Outcome::Failed, None, Some(e.to_string())),
                Ok(exit::FINDINGS),
            ),
        };
        if !args.json
            && let Some(line) = check_text(&check)
        {
            print!("{line}");
        }
        status.check = Some(check);
        outcome
    };
    if args.json {
        println!("{}", crate::output::json(&status)?);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(credential: CredentialStatus, check: Option<Check>) -> Status {
        Status {
            profile: "ci".into(),
            store: "file",
            path: Some("/cfg/profiles/ci.json".into()),
            url: "https://jira.example.com/jira".into(),
            credential,
            user: Some(User {
                name: "svc".into(),
                display_name: Some("Connector".into()),
            }),
            logged_in_at: "2026-11-25T08:00:00Z".into(),
            check,
        }
    }

    fn pat() -> CredentialStatus {
        CredentialStatus {
            kind: "pat",
            description: "personal access token",
            consumer_key: None,
            private_key: None,
            oauth2: None,
        }
    }

    #[test]
    fn text_lines_line_up_and_an_unusable_key_says_why() {
        let oauth = CredentialStatus {
            kind: "oauth1",
            description: "OAuth 1.0a (RSA-SHA1)",
            consumer_key: Some("ck".into()),
            private_key: Some(PrivateKey {
                path: "/keys/k.pem".into(),
                bits: None,
                error: Some("no such file".into()),
            }),
            oauth2: None,
        };
        assert_eq!(
            stored_text(&status(oauth, None), "`/cfg/profiles/ci.json`"),
            "Profile `ci` (`/cfg/profiles/ci.json`)\n  \
             Jira:        https://jira.example.com/jira\n  \
             Credential:  OAuth 1.0a (RSA-SHA1)\n  \
             Consumer:    `ck`\n  \
             Private key: `/keys/k.pem` (unusable: no such file)\n  \
             User:        Connector (svc)\n  \
             Logged in:   2026-11-25T08:00:00Z\n"
        );
    }

    #[test]
    fn each_outcome_has_its_line_and_its_json() {
        let ok = Check::new(Outcome::Ok, Some("svc".into()), None);
        assert_eq!(
            check_text(&ok).as_deref(),
            Some("  Check:       ok, `GET /rest/api/2/myself` answered as svc\n")
        );
        let failed = Check::new(Outcome::Failed, None, Some("Jira said no".into()));
        assert_eq!(
            check_text(&failed).as_deref(),
            Some("  Check:       FAILED: Jira said no\n")
        );
        let unreachable = Check::new(Outcome::Unreachable, None, Some("timeout".into()));
        assert_eq!(check_text(&unreachable), None);

        assert_eq!(
            serde_json::to_value(status(pat(), Some(failed))).unwrap(),
            serde_json::json!({
                "profile": "ci",
                "store": "file",
                "path": "/cfg/profiles/ci.json",
                "url": "https://jira.example.com/jira",
                "credential": {
                    "kind": "pat",
                    "description": "personal access token",
                    "consumer_key": null,
                    "private_key": null
                },
                "user": {"name": "svc", "display_name": "Connector"},
                "logged_in_at": "2026-11-25T08:00:00Z",
                "check": {
                    "request": "GET /rest/api/2/myself",
                    "outcome": "failed",
                    "user": null,
                    "error": "Jira said no"
                }
            })
        );
    }

    #[test]
    fn a_held_secret_in_the_check_error_is_masked() {
        let token = jira_auth_core::PersonalAccessToken::new("pat-held-in-status-0001");
        let failed = Check::new(
            Outcome::Failed,
            None,
            Some("401: bad token pat-held-in-status-0001".into()),
        );
        assert_eq!(failed.error.as_deref(), Some("401: bad token ****"));
        drop(token);
    }
}
