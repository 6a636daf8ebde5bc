//! The fuzz targets: one function per parser that meets untrusted bytes, each feeding the bytes
//! to the production code and formatting what comes back (errors included), so that a panic
//! anywhere on that path is found.
//!
//! Two drivers run them, over the same seeds in `fuzz/corpus/<target>/`:
//! - `fuzz/` (outside the workspace): one cargo-fuzz (libFuzzer) binary per target,
//!   coverage-guided; `cargo xtask fuzz` uses it when `cargo fuzz` is installed;
//! - `cargo xtask fuzz` otherwise: a stable-Rust mutation loop without coverage feedback, the
//!   fallback CI relies on.
//!
//! Every target is pure: no file, socket or clock, so libFuzzer can run it hundreds of thousands
//! of times a second and a crash replays exactly.

use jira_auth_cloud::callback::{self, RedirectUri};
use jira_auth_cloud::credentials::{CloudCredentials, Status};
use jira_auth_cloud::{export, listener, service_account, sites, token};
use jira_auth_core::ErrorBody;
use jira_auth_core::store::{self, ProfileName};
use jira_auth_serve::cookie;
use jira_auth_server::error::{Step, clock_skew, problem_advice};
use jira_auth_server::{dance, key, profile};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// One fuzz target: a name (its corpus folder and cargo-fuzz binary) and a function that must
/// never panic.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "callback",
        about: "cloud callback query, pasted URL or code, redirect URI",
        run: cloud_callback,
    },
    Target {
        name: "listener",
        about: "cloud loopback listener: request head routing",
        run: cloud_listener,
    },
    Target {
        name: "server-callback",
        about: "server OAuth 1.0a loopback listener: request head, callback target",
        run: server_callback,
    },
    Target {
        name: "oauth1-token",
        about: "server OAuth 1.0a token answers, oauth_problem bodies, Date headers",
        run: oauth1_token,
    },
    Target {
        name: "pem-key",
        about: "server private key PEM loading",
        run: pem_key,
    },
    Target {
        name: "token-json",
        about: "cloud token endpoint JSON, applied to stored credentials",
        run: token_json,
    },
    Target {
        name: "dc-oauth2",
        about: "Data Center OAuth 2.0 token JSON, and the authorization response (callback query or pasted text)",
        run: dc_oauth2,
    },
    Target {
        name: "resources-json",
        about: "cloud accessible-resources JSON and site choice",
        run: resources_json,
    },
    Target {
        name: "site-json",
        about: "service accounts: --site, tenant_info and serverInfo answers",
        run: site_json,
    },
    Target {
        name: "store-file",
        about: "profile file: the store's parse step, cloud and server sections, status, export",
        run: store_file,
    },
    Target {
        name: "error-body",
        about: "core ErrorBody::parse of Atlassian, Jira and OAuth error bodies",
        run: error_body,
    },
    Target {
        name: "cookie",
        about: "serve: the Cookie header and its HMAC-sealed state",
        run: serve_cookie,
    },
    Target {
        name: "audit-page",
        about: "auditor: every Jira response shape it reads, pages deduplicated",
        run: audit_page,
    },
    Target {
        name: "audit-paging",
        about: "auditor: offset paging over a server's pages, one JSON page a line",
        run: audit_paging,
    },
];

/// The `state` the callback targets expect.
pub const STATE: &str = "00112233445566778899aabbccddeeff";
/// A fixed "now" (2027-01-15) so runs are reproducible.
pub const NOW: i64 = 1_800_000_000;
/// The port the server listener target pretends to listen on.
pub const SERVER_PORT: u16 = 4000;
/// The request token the server callback target waits for.
pub const SERVER_TOKEN: &str = "rt1";
/// The cookie key of the serve target (its seeds are sealed with it).
pub const COOKIE_KEY: &str = "fuzz-cookie-key-0123456789abcdef0123";

/// Keeps a result alive so the optimiser cannot drop the work that made it.
fn keep<T>(value: T) {
    drop(std::hint::black_box(value));
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `jira_auth_cloud::callback`: the redirect's query, what the user pastes, `--redirect-uri`.
pub fn cloud_callback(data: &[u8]) {
    let t = text(data);
    keep(format!("{:?}", callback::parse_query(&t, STATE)));
    keep(callback::parse_pasted(&t, STATE).map_err(|e| e.to_string()));
    match RedirectUri::parse(&t) {
        Ok(r) => {
            keep((r.loopback(), r.path().len(), r.as_str().len()));
        }
        Err(e) => {
            keep(e.to_string());
        }
    }
}

/// `jira_auth_cloud::listener::route`: a request head as the loopback listener reads it.
pub fn cloud_listener(data: &[u8]) {
    let t = text(data);
    for path in ["/callback", "/"] {
        let (status, outcome) = listener::route(&t, path, STATE, 13131);
        keep((status, outcome.map(|r| r.map_err(|e| e.to_string()))));
    }
}

/// `jira_auth_server::callback::classify` on a request head, then the callback target it
/// accepts through `dance::check_callback`, as `server login` does.
pub fn server_callback(data: &[u8]) {
    let t = text(data);
    let expected = jira_auth_core::AccessToken::new(SERVER_TOKEN);
    match jira_auth_server::callback::classify(&t, SERVER_PORT, &expected) {
        Ok(target) => {
            keep(dance::check_callback(&target, &expected).map_err(|e| e.to_string()));
        }
        Err(answer) => {
            keep(answer);
        }
    }
    keep(dance::check_callback(&t, &expected).map_err(|e| e.to_string()));
}

/// `jira_auth_server::dance::parse_token_answer` and `parse_request_token_answer` (with the
/// content types Jira and a proxy send), the `oauth_problem` advice and clock skew.
pub fn oauth1_token(data: &[u8]) {
    let url = "https://jira.example.com/plugins/servlet/oauth/access-token";
    for content_type in [None, Some("text/plain"), Some("text/html")] {
        keep(dance::parse_token_answer(url, 200, content_type, data).map_err(|e| e.to_string()));
        keep(
            dance::parse_request_token_answer(url, 200, content_type, data)
                .map_err(|e| e.to_string()),
        );
    }
    let body = ErrorBody::parse(data, None);
    keep(body.to_string());
    let skew = clock_skew(
        Some(&text(data)),
        UNIX_EPOCH + Duration::from_secs(NOW.unsigned_abs()),
    );
    if let Some(problem) = body.code() {
        for step in [Step::RequestToken, Step::AccessToken, Step::Rest] {
            keep(problem_advice(problem, step, skew));
        }
    }
}

/// PEM text as is; anything that is not PEM is also armoured as both private key labels, so
/// mutations reach the DER decoders and RSA key checks instead of dying in base64.
pub fn pem_key(data: &[u8]) {
    let mut inputs = vec![text(data)];
    if !data.starts_with(b"-----") {
        let body = base64(data);
        for label in ["PRIVATE KEY", "RSA PRIVATE KEY"] {
            inputs.push(format!(
                "-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"
            ));
        }
    }
    for input in inputs {
        match key::parse_private_key_pem(&input) {
            Ok(k) => {
                keep(key::bits(&k));
            }
            Err(e) => {
                keep(e.to_string());
            }
        }
    }
}

/// Standard base64 with padding, wrapped at 64 columns like PEM.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 16 == 0 {
            out.push('\n');
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `jira_auth_cloud::token::parse_token_response`, applied to stored credentials like a refresh.
pub fn token_json(data: &[u8]) {
    match token::parse_token_response(data) {
        Ok(tokens) => {
            let mut c = sample();
            c.apply_refresh(tokens, NOW);
            keep(Status::compute(&ProfileName::default(), &c, NOW, &[]));
        }
        Err(e) => {
            keep(e.to_string());
        }
    }
}

/// `jira_auth_server::oauth2::token::parse_token_response`, applied to a stored Data Center
/// credential like a renewal; and the same bytes as an authorization response (core's
/// `authorization`: a callback query, then pasted text).
pub fn dc_oauth2(data: &[u8]) {
    use jira_auth_core::authorization;
    use jira_auth_server::oauth2::{fresh, token as dc_token};
    use jira_auth_server::profile::{Oauth2Credential, Oauth2Grant};
    match dc_token::parse_token_response(data) {
        Ok(tokens) => {
            let mut c = Oauth2Credential {
                grant: Oauth2Grant::AuthorizationCode,
                client_id: "cid".into(),
                client_secret: jira_auth_core::ClientSecret::new("cs"),
                redirect_uri: None,
                scopes: vec!["READ".into()],
                access_token: jira_auth_core::AccessToken::new("at"),
                access_expires_at: NOW,
                refresh_token: None,
                last_refreshed_at: NOW,
            };
            fresh::apply(&mut c, tokens, NOW);
            keep(c.access_remaining(NOW));
        }
        Err(e) => keep(e),
    }
    let text = String::from_utf8_lossy(data);
    keep(authorization::parse_query(
        &text,
        "00112233445566778899aabbccddeeff",
    ));
    keep(authorization::pasted(&text));
}

/// `jira_auth_cloud::sites::parse_sites`, then site choice as `--site` does it.
pub fn resources_json(data: &[u8]) {
    match sites::parse_sites(
        "https://api.atlassian.com/oauth/token/accessible-resources",
        data,
    ) {
        Ok(all) => {
            keep(sites::describe(&all));
            for wanted in [
                None,
                Some("acme"),
                Some("https://acme.atlassian.net/"),
                Some(""),
            ] {
                keep(sites::choose(&all, wanted).map_err(|e| e.to_string()));
            }
        }
        Err(e) => {
            keep(e.to_string());
        }
    }
}

/// `jira_auth_cloud::service_account`'s parsers: the bytes as a `tenant_info` answer, as a
/// `serverInfo` answer, and (as text) as a `--site` value.
pub fn site_json(data: &[u8]) {
    let url = "https://acme.atlassian.net/_edge/tenant_info";
    keep(service_account::parse_tenant_info(url, data).map_err(|e| e.to_string()));
    keep(service_account::parse_server_info(url, data).map_err(|e| e.to_string()));
    let text = String::from_utf8_lossy(data);
    match service_account::SiteRef::parse(&text) {
        Ok(service_account::SiteRef::Url(u)) => keep(service_account::tenant_info_url(&u)),
        Ok(other) => keep(other),
        Err(e) => keep(e.to_string()),
    }
}

/// The bytes as a profile file: the store's parse step ([`store::parse_profile_file`]; the file
/// reader refuses text that is not UTF-8 before it), then the `cloud` and `server` sections as
/// `cloud status`, `cloud export` and `server status` read them.
pub fn store_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let name = ProfileName::default();
    let profile = match store::parse_profile_file(Path::new("profiles/default.json"), text) {
        Ok(p) => p,
        Err(e) => {
            keep(e.to_string());
            return;
        }
    };
    match profile.get::<CloudCredentials>(&name) {
        Ok(Some(c)) => {
            keep(Status::compute(&name, &c, NOW, &c.requested_scopes));
            for format in [
                export::Format::Env,
                export::Format::Json,
                export::Format::Tfvars,
                export::Format::Psoxy,
            ] {
                keep(export::render(&c, format).map_err(|e| e.to_string()));
            }
            keep(c.jira_base().map_err(|e| e.to_string()));
            keep(format!("{c:?}"));
        }
        Ok(None) => {}
        Err(e) => {
            keep(e.to_string());
        }
    }
    match profile.get::<profile::ServerProfile>(&name) {
        Ok(Some(p)) => {
            keep((p.kind(), format!("{p:?}")));
        }
        Ok(None) => {}
        Err(e) => {
            keep(e.to_string());
        }
    }
}

/// `jira_auth_core::ErrorBody::parse`, with and without the bytes as `WWW-Authenticate`.
pub fn error_body(data: &[u8]) {
    let t = text(data);
    for www in [None, Some(t.as_str())] {
        let body = ErrorBody::parse(data, www);
        keep((
            body.to_string(),
            body.code().map(str::len),
            format!("{body:?}"),
        ));
    }
}

/// The bytes as a `Cookie` header through `jira_auth_serve::cookie::read_cookie`, then the
/// sealed value through `cookie::open` for both purposes, as `/oauth/callback` and
/// `/oauth/select-site` do; the bytes are also opened as a sealed value directly.
pub fn serve_cookie(data: &[u8]) {
    let Ok(key) = jira_auth_serve::CookieKey::new(COOKIE_KEY) else {
        return;
    };
    let open = |sealed: &str| {
        for purpose in ["state", "pick"] {
            keep(cookie::open(&key, purpose, sealed, NOW).map_err(|e| e.to_string()));
        }
    };
    if let Ok(value) = http::HeaderValue::from_bytes(data) {
        let mut headers = http::HeaderMap::new();
        headers.append(http::header::COOKIE, value);
        for name in [cookie::STATE_COOKIE, cookie::PICK_COOKIE] {
            if let Some(sealed) = cookie::read_cookie(&headers, name) {
                open(sealed);
            }
        }
    }
    open(&text(data));
}

/// `jira_auth_audit`'s response shapes, pages deduplicated as its paging does.
pub fn audit_page(data: &[u8]) {
    keep(jira_auth_audit::decode_every_shape(data));
}

/// `jira_auth_audit`'s offset paging, one answered page per line, with 3 requests in flight
/// and a limit of 50 pages: the pager itself asserts its invariants (waves ascend from where
/// the list stopped, no item kept twice, the page limit holds).
pub fn audit_paging(data: &[u8]) {
    keep(jira_auth_audit::run_paging(data, 3, 50));
}

fn sample() -> CloudCredentials {
    CloudCredentials {
        kind: jira_auth_cloud::credentials::LoginKind::ThreeLegged,
        client_id: "cid".into(),
        client_secret: jira_auth_core::ClientSecret::new("csecret"),
        access_token: jira_auth_core::AccessToken::new("at-1"),
        access_expires_at: NOW + 3600,
        refresh_token: Some(jira_auth_core::RefreshToken::new("rt-1")),
        scopes: vec!["read:jira-work".into(), "offline_access".into()],
        requested_scopes: vec!["read:jira-work".into(), "offline_access".into()],
        preset: None,
        cloud_id: "cloud-1".into(),
        site_url: "https://acme.atlassian.net".into(),
        site_name: "acme".into(),
        family_started_at: NOW,
        last_refreshed_at: NOW,
        auth_url: "https://auth.atlassian.com/".into(),
        api_url: "https://api.atlassian.com/".into(),
        redirect_uri: "http://localhost:13131".into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn seed(target: &str, name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target)
            .join(name);
        std::fs::read_to_string(&path).unwrap()
    }

    /// The seeds must reach the accepting paths, or coverage starts at the first refusal.
    #[test]
    fn cookie_seeds_are_sealed_with_the_target_key() {
        let key = jira_auth_serve::CookieKey::new(COOKIE_KEY).unwrap();
        let sealed = |cookie_header: &str, name: &str| {
            let mut headers = http::HeaderMap::new();
            headers.append(http::header::COOKIE, cookie_header.parse().unwrap());
            cookie::read_cookie(&headers, name).unwrap().to_owned()
        };
        let state = sealed(&seed("cookie", "state"), cookie::STATE_COOKIE);
        assert_eq!(cookie::open(&key, "state", &state, NOW).unwrap(), STATE);
        let pick = sealed(&seed("cookie", "pick"), cookie::PICK_COOKIE);
        assert_eq!(cookie::open(&key, "pick", &pick, NOW).unwrap(), "a1b2c3d4");
        let expired = sealed(&seed("cookie", "expired"), cookie::STATE_COOKIE);
        assert_eq!(
            cookie::open(&key, "state", &expired, NOW),
            Err(cookie::CookieError::Expired)
        );
        let other = sealed(&seed("cookie", "other-key"), cookie::STATE_COOKIE);
        assert_eq!(
            cookie::open(&key, "state", &other, NOW),
            Err(cookie::CookieError::BadSignature)
        );
    }

    #[test]
    fn server_callback_seed_is_accepted() {
        let expected = jira_auth_core::AccessToken::new(SERVER_TOKEN);
        let target = jira_auth_server::callback::classify(
            &seed("server-callback", "head"),
            SERVER_PORT,
            &expected,
        )
        .unwrap();
        assert_eq!(
            dance::check_callback(&target, &expected).unwrap().verifier,
            "v1"
        );
    }

    #[test]
    fn audit_seeds_decode_as_some_shape() {
        for name in [
            "project-search.json",
            "level-members.json",
            "dc-scheme.json",
            "worklogs.json",
        ] {
            assert!(
                jira_auth_audit::decode_every_shape(seed("audit-page", name).as_bytes()) > 0,
                "{name}"
            );
        }
    }

    #[test]
    fn store_seeds_reach_the_sections() {
        let profile =
            store::parse_profile_file(Path::new("p.json"), &seed("store-file", "cloud.json"))
                .unwrap();
        let name = ProfileName::default();
        assert!(profile.get::<CloudCredentials>(&name).unwrap().is_some());
    }
}
