//! The service's HTML pages, rendered from plain data without I/O.
//!
//! Every value that did not come from this file goes through [`escape`] (site names, URLs,
//! scopes and the server's error descriptions are all someone else's text). No page ever
//! receives a token: the views below have no field that could hold one.

use jira_auth_cloud::sites::Site;
use std::fmt::Write as _;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link target for a site: its URL when it is http(s), else nothing clickable.
fn site_link(site_url: &str, text: &str) -> String {
    if site_url.starts_with("https://") || site_url.starts_with("http://") {
        format!("<a href=\"{}\">{}</a>", escape(site_url), escape(text))
    } else {
        escape(text)
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · jira-auth</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; color: #172b4d; }}\n\
         code {{ background: #f4f5f7; padding: 0 .25rem; }}\n\
         .button, button {{ display: inline-block; background: #0052cc; color: #fff; padding: .5rem 1rem; border: 0; border-radius: 3px; text-decoration: none; font-size: 1rem; cursor: pointer; }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n{body}</body>\n</html>\n",
        title = escape(title),
    )
}

/// What `GET /` shows.
#[derive(Debug, Clone)]
pub struct HomeView<'a> {
    pub client_id: &'a str,
    pub profile: &'a str,
    pub scopes: &'a [String],
    pub allow_sites: &'a [String],
    /// The connected site, if the profile holds a cloud login.
    pub connected: Option<ConnectedView<'a>>,
}

/// A stored login, as far as a page may show it.
#[derive(Debug, Clone)]
pub struct ConnectedView<'a> {
    pub site_name: &'a str,
    pub site_url: &'a str,
    pub cloud_id: &'a str,
    /// RFC 3339 time of the consent.
    pub since: String,
}

fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("<code>{}</code>", escape(s)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /`: which app and scopes, the connected site if any, and the "Connect Jira" button.
pub fn home(view: &HomeView<'_>) -> String {
    let mut body = format!(
        "<p>This service connects a Jira Cloud site to the <code>jira-auth</code> profile \
         <code>{profile}</code> with the OAuth app <code>{client}</code>.</p>\n\
         <p>Scopes requested: {scopes}</p>\n",
        profile = escape(view.profile),
        client = escape(view.client_id),
        scopes = code_list(view.scopes),
    );
    if !view.allow_sites.is_empty() {
        let _ = writeln!(
            body,
            "<p>Only these sites may be connected: {}</p>",
            code_list(view.allow_sites)
        );
    }
    match &view.connected {
        Some(c) => {
            let _ = writeln!(
                body,
                "<p id=\"connected\">Connected site: {} (cloud id <code>{}</code>), since {}.</p>",
                site_link(c.site_url, c.site_name),
                escape(c.cloud_id),
                escape(&c.since)
            );
        }
        None => body.push_str("<p id=\"connected\">No Jira site is connected yet.</p>\n"),
    }
    body.push_str(
        "<p><a class=\"button\" id=\"connect\" href=\"/initiate-oauth\">Connect Jira</a></p>\n",
    );
    page("Connect Jira Cloud", &body)
}

/// The result page after a successful consent: the site and cloud id, never a token.
pub fn connected(profile: &str, site: &Site, missing_scopes: &[String]) -> String {
    let mut body = format!(
        "<p id=\"result\">The Jira site {link} (cloud id <code>{id}</code>) is connected to the \
         <code>jira-auth</code> profile <code>{profile}</code>.</p>\n\
         <p>On the host, <code>jira-auth cloud status --profile {profile}</code> shows the \
         login and <code>jira-auth cloud token --profile {profile}</code> prints a fresh access \
         token. You can close this page.</p>\n",
        link = site_link(&site.url, &site.name),
        id = escape(&site.id),
        profile = escape(profile),
    );
    if !missing_scopes.is_empty() {
        let _ = writeln!(
            body,
            "<p id=\"missing-scopes\">Atlassian did not grant: {}. Add them to the app in the \
             developer console (Permissions), then connect again.</p>",
            code_list(missing_scopes)
        );
    }
    page("Jira connected", &body)
}

/// The site picker: one button per site, each posting the pick id and the site's cloud id.
pub fn picker(pick: &str, sites: &[Site]) -> String {
    let mut body = String::from(
        "<p>The consent reaches several Jira sites. Choose the one to connect; nothing is \
         stored until you do.</p>\n",
    );
    for site in sites {
        let _ = writeln!(
            body,
            "<form method=\"post\" action=\"/oauth/select-site\">\
             <input type=\"hidden\" name=\"pick\" value=\"{pick}\">\
             <input type=\"hidden\" name=\"site\" value=\"{id}\">\
             <button type=\"submit\">{name}</button> {url} (cloud id <code>{id}</code>)</form>",
            pick = escape(pick),
            id = escape(&site.id),
            name = escape(&site.name),
            url = escape(&site.url),
        );
    }
    page("Choose a Jira site", &body)
}

/// A page that says what went wrong and links to a new attempt.
pub fn failure(title: &str, message: &str) -> String {
    let body = format!(
        "<p id=\"error\">{}</p>\n<p><a class=\"button\" href=\"/initiate-oauth\">Try again</a> \
         <a href=\"/\">Home</a></p>\n",
        escape(message)
    );
    page(title, &body)
}

/// The 404 page.
pub fn not_found() -> String {
    page(
        "Not found",
        "<p id=\"error\">There is no such page here.</p>\n<p><a href=\"/\">Home</a></p>\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str, url: &str) -> Site {
        Site {
            id: "id-1".into(),
            url: url.into(),
            name: name.into(),
            scopes: vec![],
            avatar_url: None,
        }
    }

    #[test]
    fn escape_covers_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn hostile_site_names_and_urls_are_inert() {
        let html = connected(
            "default",
            &site("<script>alert(1)</script>", "javascript:alert(1)"),
            &[],
        );
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let html = picker("p\"><x", &[site("a\"b", "https://a.atlassian.net")]);
        assert!(html.contains("value=\"p&quot;&gt;&lt;x\""), "{html}");
        assert!(html.contains("<button type=\"submit\">a&quot;b</button>"));
    }

    #[test]
    fn failure_page_links_to_a_new_attempt() {
        let html = failure("Consent declined", "You said <no>");
        assert!(html.contains("<title>Consent declined · jira-auth</title>"));
        assert!(html.contains("<p id=\"error\">You said &lt;no&gt;</p>"));
        assert!(html.contains("href=\"/initiate-oauth\">Try again</a>"));
    }
}
