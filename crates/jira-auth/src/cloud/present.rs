//! Text renderings of cloud reports (tables and status lines). Pure, so they are unit tested.

use jira_auth_cloud::credentials::{LoginKind, Status};
use jira_auth_cloud::sites::Site;

/// `  NAME  URL  CLOUD ID` rows, the stored site marked with `*`.
pub fn sites_table(sites: &[Site], current: Option<&str>) -> String {
    if sites.is_empty() {
        return "The token reaches no site\n".to_owned();
    }
    let w_name = sites.iter().map(|s| s.name.len()).max().unwrap_or(0).max(4);
    let w_url = sites.iter().map(|s| s.url.len()).max().unwrap_or(0).max(3);
    let mut out = format!("  {:w_name$}  {:w_url$}  CLOUD ID\n", "NAME", "URL");
    for s in sites {
        let mark = if Some(s.id.as_str()) == current {
            '*'
        } else {
            ' '
        };
        out.push_str(&format!(
            "{mark} {:w_name$}  {:w_url$}  {}\n",
            s.name, s.url, s.id
        ));
    }
    out
}

fn days(n: i64) -> String {
    jira_auth_core::plural::count(n, "day")
}

/// The `cloud status` text.
pub fn status_text(s: &Status) -> String {
    let access = if s.access_expired {
        format!("expired at {}", s.access_expires_at)
    } else {
        format!(
            "valid until {} ({} min left)",
            s.access_expires_at,
            s.access_expires_in_seconds / 60
        )
    };
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<15}{v}\n"));
    line("profile", s.profile.clone());
    let service_account = s.kind == LoginKind::ServiceAccount.as_str();
    if service_account {
        line(
            "kind",
            "service account (OAuth 2.0 client credentials)".to_owned(),
        );
    }
    line("site", format!("{} ({})", s.site_name, s.site_url));
    line("cloud id", s.cloud_id.clone());
    line("client id", s.client_id.clone());
    line(
        "scopes",
        match &s.preset {
            Some(p) => format!("{} (preset {p})", s.scopes.join(" ")),
            None => s.scopes.join(" "),
        },
    );
    if !s.missing_scopes.is_empty() {
        line("not granted", s.missing_scopes.join(" "));
    }
    line("access token", access);
    if service_account {
        line("last minted", s.last_refreshed_at.clone());
        line(
            "refresh token",
            "none: `jira-auth cloud token` mints a new access token with the stored client secret"
                .to_owned(),
        );
    } else if s.has_refresh_token {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let left = |v: Option<i64>| days(v.unwrap_or_default().max(0));
        line(
            "token family",
            format!(
                "started {}, ends {} ({} left of 365)",
                text(&s.family_started_at),
                text(&s.family_expires_at),
                left(s.family_days_left)
            ),
        );
        line(
            "last refresh",
            format!(
                "{}; unused, the refresh token expires {} ({} left of 90)",
                s.last_refreshed_at,
                text(&s.inactivity_expires_at),
                left(s.inactivity_days_left)
            ),
        );
    } else {
        line(
            "refresh token",
            "none (logged in with `--no-refresh`)".to_owned(),
        );
    }
    line(
        "state",
        if s.usable {
            "usable".to_owned()
        } else {
            "a new login is needed: run `jira-auth cloud login` again".to_owned()
        },
    );
    out
}

/// One site of `cloud sites --json`: Atlassian's fields, and whether the profile stores it.
#[derive(Debug, serde::Serialize)]
pub struct SiteJson<'a> {
    #[serde(flatten)]
    pub site: &'a Site,
    /// The site this profile's login chose (`cloud_id`): the one `audit` and exports use.
    pub stored: bool,
}

/// The sites with the stored one marked, for `cloud sites --json`.
pub fn sites_json<'a>(all: &'a [Site], stored: &str) -> Vec<SiteJson<'a>> {
    all.iter()
        .map(|site| SiteJson {
            site,
            stored: site.id == stored,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_table_marks_the_current_site() {
        let site = |id: &str, name: &str| Site {
            id: id.into(),
            url: format!("https://{name}.atlassian.net"),
            name: name.into(),
            scopes: vec![],
            avatar_url: None,
        };
        assert_eq!(
            sites_table(&[site("1", "acme"), site("2", "b")], Some("2")),
            "  NAME  URL                         CLOUD ID\n  \
             acme  https://acme.atlassian.net  1\n* \
             b     https://b.atlassian.net     2\n"
        );
        assert_eq!(sites_table(&[], None), "The token reaches no site\n");
    }
}
