//! The authorization request (RFC 6749 §4.1.1) as Jira Data Center documents it, with PKCE
//! (RFC 7636 §4.3, always S256). Pure.

use jira_auth_core::pkce::{self, Pkce};

/// `{site}/rest/oauth2/latest/authorize?client_id=…&redirect_uri=…&response_type=code&state=…&
/// scope=…&code_challenge=…&code_challenge_method=S256`.
pub fn authorize_url(
    site: &url::Url,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
    pkce: &Pkce,
) -> url::Url {
    let mut url = super::endpoint(site, super::AUTHORIZE_PATH);
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("state", state)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("code_challenge", pkce.challenge())
        .append_pair("code_challenge_method", pkce::METHOD);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_carries_every_parameter_encoded() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let url = authorize_url(
            &url::Url::parse("https://jira.example.com/jira").unwrap(),
            "cid",
            "http://127.0.0.1:13132/callback",
            &["READ".into(), "WRITE".into()],
            "s1",
            &pkce,
        );
        assert_eq!(
            url.as_str(),
            "https://jira.example.com/jira/rest/oauth2/latest/authorize?client_id=cid&redirect_uri=http%3A%2F%2F127.0.0.1%3A13132%2Fcallback&response_type=code&state=s1&scope=READ+WRITE&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
    }
}
