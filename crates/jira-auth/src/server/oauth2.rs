//! `jira-auth server login --oauth2 | --client-credentials`, `server token` and `server refresh`:
//! Jira Data Center's OAuth 2.0 provider. The protocol lives in `jira_auth_server::oauth2`; the
//! browser's redirect comes through core's loopback listener; this module reads the secret,
//! prompts and prints. Narration goes to stderr; only `server token` writes stdout (the token).

use super::args::LoginArgs;
use super::run::Ctx;
use crate::exit::{self, Category, ContextAs as _, Failure};
use jira_auth_core::ClientSecret;
use jira_auth_core::auth::Bearer;
use jira_auth_core::authorization::{self, CodeCallback, Response};
use jira_auth_core::loopback::{self, Loopback, LoopbackError};
use jira_auth_core::pkce::Pkce;
use jira_auth_core::random::hex_token;
use jira_auth_core::time::{rfc3339, unix_seconds};
use jira_auth_server::oauth2::fresh::{self, Mode, REFRESH_MARGIN};
use jira_auth_server::oauth2::token::{Grant, TokenClient, TokenSet};
use jira_auth_server::oauth2::{self, Oauth2Error};
use jira_auth_server::profile::{Credential, Oauth2Credential, Oauth2Grant, ServerProfile};
use std::io::BufRead as _;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable holding the client secret (shared with `cloud login`).
/// Shown on a stray request's page.
const COMMAND: &str = "jira-auth server login --oauth2";

/// ` --profile NAME` when the profile is not the default, for advice.
fn profile_flag(ctx: &Ctx) -> String {
    if ctx.profile.as_str() == "default" {
        String::new()
    } else {
        format!(" --profile {}", ctx.profile)
    }
}

fn client_id(args: &LoginArgs) -> exit::Result<String> {
    match args.oauth2.client_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(Failure::usage(
            "no client id: pass `--client-id` or set `JIRA_AUTH_CLIENT_ID` (Jira: Administration → Applications → Application links → the incoming link → Credentials; for a service account, its page under Administration → System → Service accounts)",
        )
        .into()),
    }
}

fn client_secret(args: &LoginArgs) -> exit::Result<ClientSecret> {
    Ok(crate::secret_input::client_secret(
        args.oauth2.client_secret_file.as_deref(),
        args.oauth2.client_secret_stdin,
        "Client secret (hidden; from the application link's Credentials in Jira): ",
    )?)
}

/// `server login --oauth2`: authorization code with PKCE, then `/myself`, then the profile.
pub async fn login(ctx: &Ctx, args: LoginArgs) -> exit::Result<u8> {
    let jira = ctx.jira(&args.url)?;
    let client_id = client_id(&args)?;
    let scopes = oauth2::resolve_scopes(&args.oauth2.scopes, false)?;
    let redirect = args
        .oauth2
        .redirect_uri
        .clone()
        .unwrap_or_else(|| oauth2::DEFAULT_REDIRECT_URI.to_owned());
    let redirect_url = url::Url::parse(&redirect)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.fragment().is_none())
        .ok_or_else(|| Oauth2Error::RedirectUri {
            value: redirect.clone(),
            message: "it must be an absolute http or https URL without a `#fragment`, exactly as in the application link".to_owned(),
        })?;
    let secret = client_secret(&args)?;
    let timeout = Duration::from_secs(args.timeout);
    let state = hex_token(16);
    let pkce = Pkce::new();
    let url = oauth2::authorize::authorize_url(
        jira.base(),
        &client_id,
        &redirect,
        &scopes,
        &state,
        &pkce,
    );

    let listener = if args.oauth2.paste {
        None
    } else {
        match loopback::addresses(&redirect_url) {
            None => {
                ctx.narrator.say(format!(
                    "note: `{redirect}` is not an http loopback address (localhost, 127.0.0.1 or [::1]); paste mode instead of a local listener"
                ));
                None
            }
            Some((addrs, port)) => Some(
                Loopback::bind(&addrs, port)
                    .await
                    .map_err(|e| Oauth2Error::Listener(e.to_string()))?,
            ),
        }
    };

    if args.no_browser {
        ctx.narrator
            .say("Open this URL in a browser, sign in to Jira and choose Allow:");
        // The URL alone on one line, so scripts and tests can pick it up.
        eprintln!("{url}");
    } else {
        match crate::browser::open(url.as_str()) {
            Ok(()) => ctx.narrator.say(format!(
                "Opened Jira in your browser: choose Allow (if nothing appeared, open this URL):\n{url}"
            )),
            Err(why) => {
                ctx.narrator.say(format!("Cannot open a browser ({why}); open this URL:"));
                eprintln!("{url}");
            }
        }
    }

    let (response, reply) = match listener {
        Some(l) => {
            ctx.narrator.say(format!(
                "Waiting up to {} s for the browser to come back to {redirect} …",
                args.timeout
            ));
            let router = Arc::new(CodeCallback::new(
                redirect_url.path(),
                state.clone(),
                COMMAND,
            ));
            let (response, reply) = l.wait(router, timeout).await.map_err(|e| match e {
                LoopbackError::Timeout {
                    listen,
                    seconds,
                    strays,
                } => Oauth2Error::CallbackTimeout {
                    listen,
                    seconds,
                    strays,
                },
                other => Oauth2Error::Listener(other.to_string()),
            })?;
            (response, Some(reply))
        }
        None => {
            ctx.narrator.say(format!(
                "After Allow the browser lands on {redirect} (the page may fail to load: that is fine).\nPaste that page's full URL (or just the code) here and press Enter:"
            ));
            let response = authorization::read_pasted(&read_line(timeout).await?, &state)
                .map_err(Oauth2Error::from)?;
            (response, None)
        }
    };
    let finished = complete(
        ctx, &jira, response, client_id, secret, redirect, scopes, &pkce,
    )
    .await;
    // The browser has waited for this: it shows how the login really ended.
    crate::browser::answer(
        reply,
        finished
            .as_ref()
            .map(|_| crate::browser::signed_in_to_jira(jira.base().as_str(), ctx.profile.as_str())),
    )
    .await;
    finished
}

/// The rest of an authorization-code login once the browser came back: the provider's answer,
/// the code exchange, `/myself`, the profile.
#[allow(clippy::too_many_arguments)]
async fn complete(
    ctx: &Ctx,
    jira: &jira_auth_server::dance::JiraServer,
    response: Response,
    client_id: String,
    secret: ClientSecret,
    redirect: String,
    scopes: Vec<String>,
    pkce: &Pkce,
) -> exit::Result<u8> {
    let code = match response {
        Response::Code(code) => code,
        Response::Error { error, description } => {
            let advice = match error.as_str() {
                "access_denied" => "run the login again and choose Allow",
                "invalid_scope" => {
                    "the valid Jira Data Center scopes are READ, WRITE, ADMIN and SYSTEM_ADMIN, and the application link must allow the one asked for"
                }
                _ => {
                    "check the client id and that the redirect URL of the application link is exactly `--redirect-uri`"
                }
            };
            return Err(Oauth2Error::Authorization {
                error,
                description,
                advice,
            }
            .into());
        }
        Response::MissingCode | Response::Stray(_) => return Err(Oauth2Error::MissingCode.into()),
    };
    let grant = Grant::Code {
        code: &code,
        redirect_uri: &redirect,
        verifier: pkce.verifier(),
    };
    let tokens = request_tokens(ctx, jira, &client_id, &secret, &grant).await?;
    let credential = new_credential(
        jira,
        Oauth2Grant::AuthorizationCode,
        client_id,
        secret,
        Some(redirect),
        scopes,
        tokens,
    );
    finish(ctx, jira, credential).await
}

/// The token endpoint's answer to `grant`, with this login's client.
async fn request_tokens(
    ctx: &Ctx,
    jira: &jira_auth_server::dance::JiraServer,
    client_id: &str,
    secret: &ClientSecret,
    grant: &Grant<'_>,
) -> exit::Result<TokenSet> {
    let token_url = oauth2::endpoint(jira.base(), oauth2::TOKEN_PATH);
    let flag = profile_flag(ctx);
    Ok(TokenClient {
        http: jira.http(),
        token_url: &token_url,
        client_id,
        client_secret: secret,
        profile_flag: &flag,
    }
    .request(grant)
    .await?)
}

/// The credential a login stores, its times from `tokens` and the client's clock.
fn new_credential(
    jira: &jira_auth_server::dance::JiraServer,
    grant: Oauth2Grant,
    client_id: String,
    client_secret: ClientSecret,
    redirect_uri: Option<String>,
    scopes: Vec<String>,
    tokens: TokenSet,
) -> Oauth2Credential {
    let now = unix_seconds(jira.http().clock().now());
    let mut credential = Oauth2Credential {
        grant,
        client_id,
        client_secret,
        redirect_uri,
        scopes,
        access_token: tokens.access_token.clone(),
        access_expires_at: 0,
        refresh_token: None,
        last_refreshed_at: now,
    };
    fresh::apply(&mut credential, tokens, now);
    credential
}

/// `server login --client-credentials`: a service account's token, then `/myself`, then the
/// profile.
pub async fn login_client_credentials(ctx: &Ctx, args: LoginArgs) -> exit::Result<u8> {
    let jira = ctx.jira(&args.url)?;
    let client_id = client_id(&args)?;
    let scopes = oauth2::resolve_scopes(&args.oauth2.scopes, true)?;
    let secret = client_secret(&args)?;
    let grant = Grant::ClientCredentials { scopes: &scopes };
    let tokens = request_tokens(ctx, &jira, &client_id, &secret, &grant).await?;
    let credential = new_credential(
        &jira,
        Oauth2Grant::ClientCredentials,
        client_id,
        secret,
        None,
        scopes,
        tokens,
    );
    finish(ctx, &jira, credential).await
}

/// Checks the new token with `/myself` and stores the login.
async fn finish(
    ctx: &Ctx,
    jira: &jira_auth_server::dance::JiraServer,
    credential: Oauth2Credential,
) -> exit::Result<u8> {
    let me = jira
        .myself(Arc::new(Bearer(credential.access_token.clone())))
        .await
        .map_err(|e| exit::Error::from(e).context("Jira does not accept the new access token"))?;
    let expires = rfc3339(credential.access_expires_at);
    let renewal = match (&credential.grant, &credential.refresh_token) {
        (Oauth2Grant::ClientCredentials, _) => {
            "a service account has no refresh token: `jira-auth server token` mints a new access token when needed"
        }
        (_, Some(_)) => {
            "refresh token stored (single use; `jira-auth server token` renews and stores its successor)"
        }
        (_, None) => "no refresh token was issued: log in again when the access token expires",
    };
    let scopes = credential.scopes.join(" ");
    super::login::save(ctx, jira, &me, Credential::Oauth2(credential))?;
    ctx.narrator.say(format!(
        "scopes: {scopes}\naccess token valid until {expires}\n{renewal}"
    ));
    Ok(exit::OK)
}

/// Reads one line of stdin without blocking the runtime, giving up after `timeout`.
async fn read_line(timeout: Duration) -> exit::Result<String> {
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(Failure::auth(format!(
            "nothing was pasted within {} s: run `{COMMAND}` again (raise `--timeout` if you need longer)",
            timeout.as_secs()
        ))
        .into()),
        Ok(joined) => Ok(joined
            .context_as(Category::Usage, "the stdin reader failed")?
            .context_as(Category::Usage, "cannot read standard input")?),
    }
}

/// The profile's `server` section as `stored`, with a usable access token when it is an OAuth
/// 2.0 login (renewed under the lock when less than 5 minutes remain); other logins as they are.
pub async fn usable(
    ctx: &Ctx,
    stored: ServerProfile,
    http: &jira_auth_core::http::HttpClient,
) -> Result<ServerProfile, Oauth2Error> {
    if !matches!(stored.credential, Credential::Oauth2(_)) {
        return Ok(stored);
    }
    let fresh = fresh::ensure_fresh(
        &ctx.store,
        &ctx.profile,
        http,
        Mode::IfExpiring(REFRESH_MARGIN),
        &profile_flag(ctx),
    )
    .await?;
    Ok(fresh.profile)
}

/// `server token`: prints a valid access token (renewing first when less than 5 minutes remain).
pub async fn token(ctx: &Ctx) -> exit::Result<u8> {
    let http = crate::net::client_for(&ctx.store, &ctx.profile)?;
    let fresh = fresh::ensure_fresh(
        &ctx.store,
        &ctx.profile,
        &http,
        Mode::IfExpiring(REFRESH_MARGIN),
        &profile_flag(ctx),
    )
    .await?;
    if fresh.refreshed {
        ctx.narrator.say(format!(
            "Renewed the access token of profile `{}`",
            ctx.profile
        ));
    }
    if let Some(c) = fresh.credential() {
        println!("{}", c.access_token.expose_secret());
    }
    Ok(exit::OK)
}

/// `server refresh`: renews now.
pub async fn refresh(ctx: &Ctx) -> exit::Result<u8> {
    let http = crate::net::client_for(&ctx.store, &ctx.profile)?;
    let fresh = fresh::ensure_fresh(
        &ctx.store,
        &ctx.profile,
        &http,
        Mode::Always,
        &profile_flag(ctx),
    )
    .await?;
    if let Some(c) = fresh.credential() {
        ctx.narrator.say(format!(
            "Refreshed profile `{}`: access token valid until {}{}",
            ctx.profile,
            rfc3339(c.access_expires_at),
            match (c.grant, &c.refresh_token) {
                (Oauth2Grant::AuthorizationCode, Some(_)) => "; the new refresh token is stored",
                _ => "",
            }
        ));
    }
    Ok(exit::OK)
}
