//! `--allow-site NAME|URL|ID`: which sites this service may connect.
//!
//! A public consent endpoint must not attach a stranger's Jira to the operator's profile: with
//! an allow list, sites outside it are never stored nor offered in the picker. Matching is the
//! cloud crate's `--site` matching (cloud id, URL with or without scheme or trailing slash, or
//! name, case-insensitively), so the CLI and the service agree on what names a site.

use jira_auth_cloud::sites::{Site, choose};

/// Whether `site` may be connected: always when `allow` is empty.
pub fn is_allowed(allow: &[String], site: &Site) -> bool {
    allow.is_empty()
        || allow.iter().any(|wanted| {
            matches!(
                choose(std::slice::from_ref(site), Some(wanted)),
                Ok(Some(_))
            )
        })
}

/// The sites of `sites` that may be connected, in their order.
pub fn filter(allow: &[String], sites: &[Site]) -> Vec<Site> {
    sites
        .iter()
        .filter(|s| is_allowed(allow, s))
        .cloned()
        .collect()
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

    fn allow(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_allows_all_and_entries_match_id_url_or_name() {
        let sites = [
            site("id-1", "acme"),
            site("id-2", "beta"),
            site("id-3", "gamma"),
        ];
        assert_eq!(filter(&[], &sites).len(), 3);
        let ids = |v: Vec<Site>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(filter(&allow(&["id-2"]), &sites)), ["id-2"]);
        assert_eq!(
            ids(filter(
                &allow(&["ACME.atlassian.net/", "https://gamma.atlassian.net"]),
                &sites
            )),
            ["id-1", "id-3"]
        );
        assert_eq!(ids(filter(&allow(&["Beta"]), &sites)), ["id-2"]);
        assert!(filter(&allow(&["acme.atlassian.net.evil.example"]), &sites).is_empty());
        assert!(filter(&allow(&["id"]), &sites).is_empty());
    }
}
