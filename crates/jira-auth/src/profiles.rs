//! `jira-auth profiles`: every stored profile with its sections, what kind of login each holds,
//! its site, state and expiry, and which profile this shell's commands act on. Reads the store
//! only: no request, no refresh.

use crate::args::{GlobalArgs, ProfilesArgs};
use crate::exit;
use jira_auth_cloud::credentials::{CloudCredentials, LoginKind, Status};
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::time::{rfc3339, unix_seconds};
use jira_auth_server::profile::ServerProfile;
use serde::Serialize;
use std::time::SystemTime;

/// One profile of the listing.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub name: String,
    /// The profile `--profile` / `JIRA_AUTH_PROFILE` selects (else `default`).
    pub active: bool,
    pub sections: Vec<SectionEntry>,
    /// Why the profile could not be read (it is left untouched), if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One login inside a profile.
#[derive(Debug, Serialize)]
pub struct SectionEntry {
    /// `cloud` or `server`.
    pub section: &'static str,
    pub kind: String,
    pub site: String,
    /// `usable`, `new login needed` (cloud, from the stored times), or `stored` (server: only
    /// `jira-auth server status` can tell whether Jira still accepts it).
    pub state: String,
    /// When a new login will be needed: the end of the token family (cloud, with a refresh
    /// token) or of the access token; none for server credentials.
    pub expires_at: Option<String>,
}

pub fn run(global: &GlobalArgs, args: &ProfilesArgs) -> exit::Result<u8> {
    let store = Store::from_env()?;
    let active = ProfileName::new(global.profile.clone())?;
    let now = unix_seconds(SystemTime::now());
    let entries: Vec<Entry> = store
        .list()?
        .into_iter()
        .map(|name| entry(&store, &name, &active, now))
        .collect();
    if args.json {
        let doc = serde_json::json!({
            "active": active.as_str(),
            "config_dir": store.dir().display().to_string(),
            "profiles": entries,
        });
        println!("{}", crate::output::json(&doc)?);
    } else {
        print!("{}", table(&entries, active.as_str(), &store));
    }
    Ok(exit::OK)
}

fn entry(store: &Store, name: &ProfileName, active: &ProfileName, now: i64) -> Entry {
    let mut e = Entry {
        name: name.to_string(),
        active: name == active,
        sections: Vec::new(),
        error: None,
    };
    let profile = match store.load(name) {
        Ok(Some(p)) => p,
        Ok(None) => return e,
        Err(err) => {
            e.error = Some(err.to_string());
            return e;
        }
    };
    match profile.get::<CloudCredentials>(name) {
        Ok(Some(c)) => {
            let s = Status::compute(name, &c, now, &[]);
            e.sections.push(SectionEntry {
                section: "cloud",
                kind: match c.kind {
                    LoginKind::ServiceAccount => "service account (client credentials)",
                    LoginKind::ThreeLegged => "OAuth 2.0 (3LO)",
                }
                .to_owned(),
                site: c.site_url.clone(),
                state: if s.usable {
                    "usable"
                } else {
                    "new login needed"
                }
                .to_owned(),
                expires_at: Some(match (&s.family_expires_at, s.has_refresh_token) {
                    (Some(family), true) => family.clone(),
                    _ => rfc3339(c.access_expires_at),
                }),
            });
        }
        Ok(None) => {}
        Err(err) => e.error = Some(err.to_string()),
    }
    match profile.get::<ServerProfile>(name) {
        Ok(Some(s)) => e.sections.push(SectionEntry {
            section: "server",
            kind: s.kind().to_owned(),
            site: s.url.clone(),
            state: "stored".to_owned(),
            expires_at: None,
        }),
        Ok(None) => {}
        Err(err) => e.error = Some(err.to_string()),
    }
    e
}

/// The text listing: one line per login, the active profile marked `*`.
fn table(entries: &[Entry], active: &str, store: &Store) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "PROFILE".into(),
        "SECTION".into(),
        "KIND".into(),
        "SITE".into(),
        "STATE".into(),
        "EXPIRES".into(),
    ]];
    let mut marks = vec![' '];
    for e in entries {
        let mark = if e.active { '*' } else { ' ' };
        if let Some(err) = &e.error {
            rows.push([
                e.name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                format!("unreadable: {err}"),
                "-".into(),
            ]);
            marks.push(mark);
            continue;
        }
        for s in &e.sections {
            rows.push([
                e.name.clone(),
                s.section.into(),
                s.kind.clone(),
                s.site.clone(),
                s.state.clone(),
                s.expires_at.clone().unwrap_or_else(|| "-".into()),
            ]);
            marks.push(mark);
        }
    }
    let mut out = String::new();
    if rows.len() == 1 {
        out.push_str(&format!(
            "No profiles in `{}`: log in with `jira-auth cloud login` or `jira-auth server login`\n",
            store.dir().display()
        ));
        return out;
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for (row, mark) in rows.iter().zip(marks) {
        let mut line = format!("{mark} ");
        for (i, cell) in row.iter().enumerate() {
            if i == 5 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "active profile: {active} (`--profile NAME` or `JIRA_AUTH_PROFILE` chooses another)\n"
    ));
    out
}
