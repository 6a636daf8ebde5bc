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

const STYLE: &str = "\
body { font-family: system-ui, sans-serif; margin: 0; line-height: 1.5; color: #172b4d; }
main { max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; line-height: 1.25; }
code { background: #f4f5f7; padding: 0 .25rem; white-space: nowrap; display: inline-block; max-width: 100%; overflow-x: auto; vertical-align: bottom; }
.button, button { display: inline-block; background: #0052cc; color: #fff; padding: .5rem 1rem; border: 0; border-radius: 3px; text-decoration: none; font-size: 1rem; cursor: pointer; }
.actions a { margin-right: 1rem; }
.actions a.button { margin-right: 1rem; }
fieldset { border: 1px solid #dfe1e6; border-radius: 3px; padding: .5rem .75rem; margin: 1rem 0; min-width: 0; }
ul.sites { list-style: none; margin: 0; padding: 0; }
ul.sites li { border-bottom: 1px solid #ebecf0; }
ul.sites li:last-child { border-bottom: 0; }
ul.sites label { display: grid; grid-template-columns: auto minmax(0, 1fr); column-gap: .5rem; padding: .75rem 0; cursor: pointer; }
ul.sites input { grid-row: span 4; margin-top: .35rem; }
.name { font-weight: 600; }
.value { display: block; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-size: .875rem; color: #42526e; }
code.value { display: block; background: none; padding: 0; font-size: .8125rem; overflow: hidden; }
.caption { font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; color: #6b778c; }
#error { color: #bf2600; }
";

fn page(title: &str, body: &str) -> String {
    page_with_head(title, "", body)
}

fn page_with_head(title: &str, head: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n{head}\
         <title>{title} · jira-auth</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}</main>\n</body>\n</html>\n",
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
            let _ = writeln!(
                body,
                "<p id=\"replace-warning\">Connecting again replaces this login: the profile \
                 <code>{}</code> keeps one site, and the connection to {} ends when the new \
                 consent completes.</p>",
                escape(view.profile),
                escape(c.site_name)
            );
        }
        None => body.push_str("<p id=\"connected\">No Jira site is connected yet.</p>\n"),
    }
    let label = if view.connected.is_some() {
        "Replace with a new consent"
    } else {
        "Connect Jira"
    };
    let _ = writeln!(
        body,
        "<p><a class=\"button\" id=\"connect\" href=\"/initiate-oauth\">{label}</a></p>"
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
    missing_note(&mut body, missing_scopes);
    page("Jira connected", &body)
}

fn missing_note(body: &mut String, missing_scopes: &[String]) {
    if !missing_scopes.is_empty() {
        let _ = writeln!(
            body,
            "<p id=\"missing-scopes\">Atlassian did not grant: {}. Add them to the app in the \
             developer console (Permissions), then connect again.</p>",
            code_list(missing_scopes)
        );
    }
}

/// The page for a finished consent opened again (reload, Back, a re-sent form): what it did.
pub fn already_connected(profile: &str, site: &Site) -> String {
    let body = format!(
        "<p id=\"result\">This consent already connected the Jira site {link} (cloud id \
         <code>{id}</code>) to the <code>jira-auth</code> profile <code>{profile}</code>. There \
         is nothing more to do here; you can close this page.</p>\n\
         <p class=\"actions\"><a href=\"/\">Home</a></p>\n",
        link = site_link(&site.url, &site.name),
        id = escape(&site.id),
        profile = escape(profile),
    );
    page("Already connected", &body)
}

/// While Atlassian is slow to answer: a page that looks again every `seconds`.
pub fn connecting(seconds: u64) -> String {
    let head = format!("<meta http-equiv=\"refresh\" content=\"{seconds}\">\n");
    let body = format!(
        "<p id=\"progress\">Waiting for Atlassian to confirm the consent. This page checks \
         again every {}; there is nothing to do.</p>\n",
        jira_auth_core::plural::count(seconds, "second")
    );
    page_with_head("Connecting to Atlassian", &head, &body)
}

/// The site picker: one form, a labelled radio button per site, and Cancel. `error` is shown
/// above the list when a choice was refused.
pub fn picker(pick: &str, sites: &[Site], error: Option<&str>) -> String {
    let mut body = String::from(
        "<p>The consent reaches several Jira sites. Choose the one to connect; nothing is \
         stored until you do.</p>\n",
    );
    if let Some(message) = error {
        let _ = writeln!(
            body,
            "<p id=\"error\" role=\"alert\">{}</p>",
            escape(message)
        );
    }
    let _ = writeln!(
        body,
        "<form method=\"post\" action=\"/oauth/select-site\">\n\
         <input type=\"hidden\" name=\"pick\" value=\"{}\">\n\
         <fieldset>\n<legend>Jira sites</legend>\n<ul class=\"sites\">",
        escape(pick)
    );
    for (i, site) in sites.iter().enumerate() {
        let _ = writeln!(
            body,
            "<li><label><input type=\"radio\" name=\"site\" value=\"{id}\" required{checked}> \
             <span class=\"name\">{name}</span> \
             <span class=\"value\" title=\"{url}\">{url}</span> \
             <span class=\"caption\">cloud id</span> \
             <code class=\"value\" title=\"{id}\">{id}</code></label></li>",
            id = escape(&site.id),
            name = escape(&site.name),
            url = escape(&site.url),
            checked = if i == 0 { " checked" } else { "" },
        );
    }
    body.push_str(
        "</ul>\n</fieldset>\n<p class=\"actions\"><button type=\"submit\" id=\"choose\">\
         Connect the selected site</button> <a href=\"/\" id=\"cancel\">Cancel</a></p>\n</form>\n",
    );
    page("Choose a Jira site", &body)
}

/// A page that says what went wrong and links to a new attempt.
pub fn failure(title: &str, message: &str) -> String {
    let body = format!(
        "<p id=\"error\">{}</p>\n<p class=\"actions\"><a class=\"button\" href=\"/initiate-oauth\">Try again</a> \
         <a href=\"/\">Home</a></p>\n",
        escape(message)
    );
    page(title, &body)
}

/// The answer to a method a route does not take, e.g. opening the site picker's form address
/// directly.
pub fn method_not_allowed() -> String {
    page(
        "Not available here",
        "<p id=\"error\">This address only answers the site picker's form. To connect Jira, \
         start from the home page.</p>\n<p class=\"actions\"><a class=\"button\" \
         href=\"/initiate-oauth\">Connect Jira</a> <a href=\"/\">Home</a></p>\n",
    )
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
        let html = picker(
            "p\"><x",
            &[site("a\"b", "https://a.atlassian.net")],
            Some("<b>"),
        );
        assert!(html.contains("value=\"p&quot;&gt;&lt;x\""), "{html}");
        assert!(
            html.contains("<span class=\"name\">a&quot;b</span>"),
            "{html}"
        );
        assert!(
            html.contains("<p id=\"error\" role=\"alert\">&lt;b&gt;</p>"),
            "{html}"
        );
    }

    #[test]
    fn picker_is_one_labelled_form_with_a_cancel_link() {
        let html = picker(
            "p1",
            &[
                site("acme", "https://acme.atlassian.net"),
                site("beta", "https://beta.atlassian.net"),
            ],
            None,
        );
        assert_eq!(html.matches("<form ").count(), 1, "{html}");
        assert_eq!(html.matches("type=\"radio\"").count(), 2);
        assert_eq!(html.matches(" checked>").count(), 1);
        for landmark in [
            "<main>",
            "<fieldset>",
            "<legend>Jira sites</legend>",
            "<ul class=\"sites\">",
        ] {
            assert!(html.contains(landmark), "{landmark}: {html}");
        }
        assert!(html.contains("<a href=\"/\" id=\"cancel\">Cancel</a>"));
        assert!(!html.contains("id=\"error\""));
    }

    #[test]
    fn connecting_page_refreshes_itself() {
        let html = connecting(2);
        assert!(
            html.contains("<meta http-equiv=\"refresh\" content=\"2\">"),
            "{html}"
        );
        assert!(html.contains("<title>Connecting to Atlassian · jira-auth</title>"));
    }

    #[test]
    fn failure_page_links_to_a_new_attempt() {
        let html = failure("Consent declined", "You said <no>");
        assert!(html.contains("<title>Consent declined · jira-auth</title>"));
        assert!(html.contains("<p id=\"error\">You said &lt;no&gt;</p>"));
        assert!(html.contains("href=\"/initiate-oauth\">Try again</a>"));
    }
}
