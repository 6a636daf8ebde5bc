//! Opening the user's browser on an authorize URL, for `cloud login` and `server login`, and the
//! page it shows once the login ended.

use jira_auth_core::loopback::{Page, Reply};

/// Answers the browser that brought the callback, when it waits (`reply`), with how the login
/// ended: `Ok(where)` is where it is signed in.
pub async fn answer(reply: Option<Reply>, outcome: Result<String, &crate::exit::Error>) {
    if let Some(reply) = reply {
        let (status, page) = outcome_page(outcome);
        reply.answer(status, page).await;
    }
}

/// What the browser says after a Data Center login: the Jira it is signed in to, as which profile.
pub fn signed_in_to_jira(base: &str, profile: &str) -> String {
    format!("jira-auth is signed in to {base} as profile `{profile}`. You can close this tab.")
}

/// The page the browser that brought the callback shows once the login ended: `Ok(what)` says
/// where it is signed in; an error says what failed and what to do, as the terminal does (the
/// same message, with every secret this process holds masked).
pub fn outcome_page(outcome: Result<String, &crate::exit::Error>) -> (u16, Page) {
    match outcome {
        Ok(text) => (200, Page::new("Signed in", text)),
        Err(e) => (
            400,
            Page::new(
                "Login failed",
                format!(
                    "{}. The terminal shows the details.",
                    jira_auth_core::redact::mask_held(&crate::suggest::complete(
                        &crate::exit::message(e)
                    ))
                ),
            ),
        ),
    }
}

/// Opens `url` with `$BROWSER` (a `:`-separated list, `%s` standing for the URL), else the
/// platform's opener. Does not wait for the browser.
pub fn open(url: &str) -> Result<(), String> {
    open_with(std::env::var("BROWSER").ok().as_deref(), url)
}

fn open_with(browser: Option<&str>, url: &str) -> Result<(), String> {
    let candidates: Vec<String> = match browser {
        Some(b) if !b.trim().is_empty() => b.split(':').map(str::to_owned).collect(),
        _ if cfg!(target_os = "macos") => vec!["open".into()],
        _ if cfg!(windows) => vec!["explorer".into()],
        _ => vec!["xdg-open".into()],
    };
    let mut errors = Vec::new();
    for candidate in candidates {
        let mut parts: Vec<String> = candidate.split_whitespace().map(str::to_owned).collect();
        if parts.is_empty() {
            continue;
        }
        if parts.iter().any(|p| p.contains("%s")) {
            for p in &mut parts {
                *p = p.replace("%s", url);
            }
        } else {
            parts.push(url.to_owned());
        }
        match std::process::Command::new(&parts[0])
            .args(&parts[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            Ok(_) => return Ok(()),
            Err(e) => errors.push(format!("`{}`: {e}", parts[0])),
        }
    }
    Err(errors.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_list_is_tried_in_order_and_failures_are_reported() {
        assert_eq!(
            open_with(Some("/nonexistent/browser"), "http://x/"),
            Err("`/nonexistent/browser`: No such file or directory (os error 2)".to_owned())
        );
        // The first that starts wins; `%s` stands for the URL.
        assert_eq!(
            open_with(Some("/nonexistent/browser:true --url=%s"), "http://x/"),
            Ok(())
        );
    }
}
