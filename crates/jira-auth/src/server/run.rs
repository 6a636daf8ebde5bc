//! Execution of `jira-auth server …`: dispatch, `logout`, and what the commands share.

use super::args::{ServerArgs, ServerCommand};
use crate::args::GlobalArgs;
use crate::exit::{self, Context as _};
use crate::output::Narrator;
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_server::ServerError;
use jira_auth_server::dance::{JiraServer, parse_site_url};
use jira_auth_server::profile::{self, Credential, ServerProfile};

pub async fn run(global: &GlobalArgs, args: ServerArgs) -> crate::exit::Result<u8> {
    let ctx = Ctx::new(global)?;
    match args.command {
        ServerCommand::Keygen(a) => super::keygen::run(&ctx, a),
        ServerCommand::Login(a) => super::login::run(&ctx, a).await,
        ServerCommand::Request(a) => super::request::run(&ctx, a).await,
        ServerCommand::Status(a) => super::status::run(&ctx, a).await,
        ServerCommand::Token => super::oauth2::token(&ctx).await,
        ServerCommand::Refresh => super::oauth2::refresh(&ctx).await,
        ServerCommand::Logout => logout(&ctx),
    }
}

/// What every server command needs: the store, the profile name, and where narration goes.
pub(super) struct Ctx {
    pub store: Store,
    pub profile: ProfileName,
    pub narrator: Narrator,
}

impl Ctx {
    fn new(global: &GlobalArgs) -> crate::exit::Result<Self> {
        Ok(Self {
            store: Store::from_env()?,
            profile: ProfileName::new(global.profile.clone())?,
            narrator: Narrator::new(global),
        })
    }

    /// The stored `server` section, or a clear "log in first".
    pub fn load(&self) -> Result<ServerProfile, ServerError> {
        profile::load(&self.store, &self.profile)?
            .ok_or_else(|| ServerError::NotLoggedIn(self.profile.to_string()))
    }

    pub fn jira(&self, url: &str) -> crate::exit::Result<JiraServer> {
        let base = parse_site_url(url)?;
        crate::net::check_url(&base)?;
        Ok(JiraServer::new(
            crate::net::client_for(&self.store, &self.profile)?,
            base,
        ))
    }
}

/// `server logout`: removes the `server` section; what happened is narration, stdout stays empty.
fn logout(ctx: &Ctx) -> crate::exit::Result<u8> {
    let removed = profile::remove(&ctx.store, &ctx.profile)
        .with_context(|| format!("cannot update profile `{}`", ctx.profile))?;
    crate::net::forget_if_alone(&ctx.store, &ctx.profile)?;
    let removed = match removed {
        profile::Removed::Section(login) => login,
        profile::Removed::Nothing => {
            ctx.narrator.say(format!(
                "No Jira Server credentials in profile `{}`; nothing to remove",
                ctx.profile
            ));
            return Ok(exit::OK);
        }
        profile::Removed::Unreadable => {
            ctx.narrator.say(format!(
                "Removed an unreadable `server` section from profile `{}`; revoke its token in Jira if it still exists",
                ctx.profile
            ));
            return Ok(exit::OK);
        }
    };
    ctx.narrator.say(format!(
        "Removed the Jira Server credentials ({}) for {} from profile `{}`",
        removed.kind(),
        removed.url,
        ctx.profile
    ));
    match removed.credential {
        Credential::Oauth1 {
            private_key_path, ..
        } => ctx.narrator.say(format!(
            "The access token stays valid in Jira until it is revoked there (deleting the Application Link revokes all of its tokens); the private key `{}` was left in place",
            private_key_path.display()
        )),
        Credential::Pat { .. } => ctx.narrator.say(
            "The token stays valid in Jira until it is revoked there: Profile → Personal Access Tokens → Revoke",
        ),
        Credential::Oauth2(_) => ctx.narrator.say(
            "The access token stays valid in Jira until it expires; an administrator revokes every token of the application link by deleting the link (a service account: by deleting it or regenerating its secret)",
        ),
    }
    Ok(exit::OK)
}
