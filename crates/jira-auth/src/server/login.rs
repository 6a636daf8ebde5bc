//! `jira-auth server login`: the OAuth 1.0a dance, or a personal access token. Everything it
//! says goes to stderr: a login has no data for stdout.

use super::PAT_ENV;
use super::args::LoginArgs;
use super::run::Ctx;
use crate::exit;
use crate::exit::{Category, Context as _, ContextAs as _};
use crate::secret_input::{Process, SecretSource};
use jira_auth_core::PersonalAccessToken;
use jira_auth_core::auth::PatBearer;
use jira_auth_core::loopback::LoopbackError;
use jira_auth_core::time::{rfc3339, unix_seconds};
use jira_auth_server::ServerError;
use jira_auth_server::callback::CallbackListener;
use jira_auth_server::dance::{JiraServer, Myself, OOB, check_callback};
use jira_auth_server::key;
use jira_auth_server::profile::{self, Credential, ServerProfile, StoredUser};
use jira_auth_server::signer::{Consumer, OAuth1Signer};
use std::io::{BufRead as _, IsTerminal as _};
use std::sync::Arc;
use std::time::Duration;

pub async fn run(ctx: &Ctx, args: LoginArgs) -> crate::exit::Result<u8> {
    if args.oauth2.enabled {
        return super::oauth2::login(ctx, args).await;
    }
    if args.oauth2.client_credentials {
        return super::oauth2::login_client_credentials(ctx, args).await;
    }
    let jira = ctx.jira(&args.url)?;
    if args.pat {
        return login_pat(ctx, &jira).await;
    }
    let (Some(consumer_key), Some(key_path)) =
        (args.consumer_key.clone(), args.private_key.clone())
    else {
        return Err(exit::Failure::usage(
            "`--consumer-key` and `--private-key` are required for OAuth (or use `--pat`)",
        )
        .into());
    };
    let private_key = key::read_private_key(&key_path)?;
    let key_path = std::path::absolute(&key_path).unwrap_or(key_path);
    let consumer = Consumer::new(consumer_key.clone(), private_key);

    let listener = if args.oob {
        None
    } else {
        Some(
            CallbackListener::bind(args.callback_port)
                .await
                .map_err(|e| ServerError::Listen(std::io::Error::other(e.to_string())))?,
        )
    };
    let callback = listener.as_ref().map_or(OOB.to_owned(), |l| l.url());
    let request_token = jira
        .request_token(&consumer, &callback)
        .await
        .context("cannot start the OAuth login")?;
    let authorize = jira.authorize_url(&request_token);

    let opened = !args.no_browser && crate::browser::open(authorize.as_str()).is_ok();
    ctx.narrator.say(match (opened, args.oob) {
        (true, false) => "Opened Jira in your browser: choose Allow (if no browser opened, visit this URL):",
        (true, true) => "Opened Jira in your browser: choose Allow, then type the code Jira shows (if no browser opened, visit this URL):",
        (false, false) => "Open this URL in a browser and choose Allow:",
        (false, true) => "Open this URL in a browser and choose Allow; Jira then shows a verification code:",
    });
    // Alone on its line, even with `--quiet`: the login cannot go on without it.
    eprintln!("{authorize}");

    let (verifier, reply) = match listener {
        Some(listener) => {
            let (target, reply) = listener
                .receive(&request_token.token, Duration::from_secs(args.timeout))
                .await
                .map_err(|e| match e {
                    LoopbackError::Timeout { .. } => ServerError::CallbackTimeout {
                        seconds: args.timeout,
                    },
                    other => ServerError::Listen(std::io::Error::other(other.to_string())),
                })?;
            match check_callback(&target, &request_token.token) {
                Ok(callback) => (callback.verifier, Some(reply)),
                Err(e) => {
                    let e = crate::exit::Error::from(e);
                    let (status, page) = crate::browser::outcome_page(Err(&e));
                    reply.answer(status, page).await;
                    return Err(e);
                }
            }
        }
        None => (read_verifier()?, None),
    };
    let finished = async {
        let tokens = jira
            .access_token(&consumer, &request_token, &verifier)
            .await
            .context("cannot exchange the approved request token")?;

        let signer = OAuth1Signer::new(consumer).with_token(tokens.token.clone());
        let me = jira
            .myself(Arc::new(signer))
            .await
            .context("the new access token does not work")?;
        save(
            ctx,
            &jira,
            &me,
            Credential::Oauth1 {
                consumer_key,
                private_key_path: key_path,
                access_token: tokens.token,
                token_secret: tokens.secret,
            },
        )
    }
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

async fn login_pat(ctx: &Ctx, jira: &JiraServer) -> crate::exit::Result<u8> {
    let token = read_pat()?;
    // Only a refusal is about the token; a 404 is a wrong URL and says so on its own.
    let me = jira
        .myself(Arc::new(PatBearer(token.clone())))
        .await
        .map_err(|e| {
            let e = exit::Error::from(e);
            if e.code() == exit::AUTH {
                e.context("Jira did not accept the personal access token")
            } else {
                e
            }
        })?;
    save(ctx, jira, &me, Credential::Pat { token })
}

pub(super) fn save(
    ctx: &Ctx,
    jira: &JiraServer,
    me: &Myself,
    credential: Credential,
) -> crate::exit::Result<u8> {
    let now = unix_seconds(jira.http().clock().now());
    let stored = ServerProfile {
        url: jira.base().as_str().trim_end_matches('/').to_owned(),
        credential,
        user: Some(StoredUser {
            name: me.name.clone(),
            display_name: me.display_name.clone(),
        }),
        logged_in_at: rfc3339(now),
    };
    profile::save(&ctx.store, &ctx.profile, &stored)?;
    crate::net::remember(&ctx.store, &ctx.profile)?;
    let who = match &me.display_name {
        Some(d) => format!("{d} ({})", me.name),
        None => me.name.clone(),
    };
    ctx.narrator.say(format!(
        "Logged in to {} as {who} with {}\nSaved to profile `{}` ({})",
        stored.url,
        stored.kind(),
        ctx.profile,
        ctx.store.location(&ctx.profile)
    ));
    Ok(exit::OK)
}

/// `JIRA_AUTH_PAT`, else standard input when it is not a terminal, else a hidden prompt.
fn read_pat() -> crate::exit::Result<PersonalAccessToken> {
    let source = SecretSource {
        what: "personal access token",
        file: None,
        stdin_flag: false,
        env: PAT_ENV,
        piped_stdin: true,
        prompt: Some("Personal access token: "),
        how: "set `JIRA_AUTH_PAT`, pipe it on standard input, or type it at the prompt",
    };
    // An empty value or one with white space inside gets the same advice wherever it came from.
    let token = source
        .read_raw(&mut Process)
        .map(|(value, _)| value.trim().to_owned())
        .unwrap_or_default();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(exit::Failure::usage(format!(
            "no usable personal access token: set `{PAT_ENV}`, pipe it on standard input, or type it at the prompt (create one in Jira under Profile → Personal Access Tokens)"
        ))
        .into());
    }
    Ok(PersonalAccessToken::new(token))
}

/// The verification code Jira shows in `--oob` mode, typed (or piped) on standard input.
fn read_verifier() -> crate::exit::Result<String> {
    eprint!("Enter the verification code Jira shows: ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context_as(Category::Usage, "cannot read the verification code")?;
    if !std::io::stdin().is_terminal() {
        // The typed newline is not echoed when the code is piped in.
        eprintln!();
    }
    let verifier = line.trim().to_owned();
    if verifier.is_empty() {
        return Err(exit::Failure::usage("no verification code was entered").into());
    }
    Ok(verifier)
}
