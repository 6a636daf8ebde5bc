//! `jira-auth server request`: a curl-like call signed with the stored credentials.

use super::args::RequestArgs;
use super::run::Ctx;
use crate::exit;
use crate::exit::{Category, ContextAs as _};
use jira_auth_core::http::check_status;
use jira_auth_core::secret::mask_url;
use jira_auth_server::{ServerError, Step};
use std::io::{IsTerminal as _, Read as _, Write as _};

pub async fn run(ctx: &Ctx, args: RequestArgs) -> crate::exit::Result<u8> {
    let stored = ctx.load()?;
    let jira = ctx.jira(&stored.url)?;
    let stored = super::oauth2::usable(ctx, stored, jira.http()).await?;
    let auth = stored.authorizer(jira.http().clock().clone())?;
    let client = jira.client(auth);
    let url = client.url(&args.target)?;
    let base_path = jira.base().path().trim_end_matches('/');
    let on_site = url.origin() == jira.base().origin()
        && (url.path() == base_path || url.path().starts_with(&format!("{base_path}/")));
    if !on_site {
        return Err(exit::Failure::usage(format!(
            "`{}` is not on the logged-in site {}; jira-auth signs requests for that site only",
            mask_url(&url),
            jira.base().as_str().trim_end_matches('/')
        ))
        .into());
    }
    let body = match &args.data {
        Some(data) => Some(read_body(data)?),
        None => None,
    };
    let method_text = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned())
        .to_ascii_uppercase();
    let method = http::Method::from_bytes(method_text.as_bytes())
        .map_err(|_| exit::Failure::usage(format!("`{method_text}` is not an HTTP method")))?;

    let mut builder = http::Request::builder()
        .method(method.clone())
        .uri(url.as_str())
        .header(http::header::ACCEPT, "application/json");
    let mut has_content_type = false;
    for raw in &args.headers {
        let Some((name, value)) = raw.split_once(':') else {
            return Err(exit::Failure::usage(format!("`-H {raw}` is not `Name: value`")).into());
        };
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| exit::Failure::usage(format!("`{}` is not a header name", name.trim())))?;
        if name == http::header::AUTHORIZATION {
            return Err(exit::Failure::usage(
                "`-H Authorization` would replace the stored credentials; use `curl` for that",
            )
            .into());
        }
        has_content_type |= name == http::header::CONTENT_TYPE;
        let value = http::HeaderValue::from_str(value.trim()).map_err(|_| {
            exit::Failure::usage(format!("the value of `{name}` is not a valid header value"))
        })?;
        builder = builder.header(name, value);
    }
    if let Some(body) = &body
        && !has_content_type
    {
        let kind = if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        builder = builder.header(http::header::CONTENT_TYPE, kind);
    }
    let request = builder
        .body(body.unwrap_or_default())
        .context_as(Category::Usage, "cannot build the request")?;

    let now = || jira.http().clock().now();
    let response = client
        .send(request)
        .await
        .map_err(|e| ServerError::from_jira(e, Step::Rest, now()))?;
    let masked = mask_url(&url);
    let response = check_status(method.as_str(), &masked, response)
        .map_err(|e| ServerError::classify(e, Step::Rest, now(), false))?;

    let stdout = std::io::stdout();
    let content_type = response
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let mut out = stdout.lock();
    out.write_all(&render_body(
        &response.body,
        content_type,
        stdout.is_terminal(),
    ))
    .and_then(|()| out.flush())
    .context_as(Category::Usage, "cannot write to stdout")?;
    Ok(exit::OK)
}

/// What to print: pretty JSON (with a final newline) on a terminal, the exact bytes otherwise.
fn render_body(body: &[u8], content_type: Option<&str>, terminal: bool) -> Vec<u8> {
    let is_json = content_type.is_some_and(|v| v.contains("json"));
    if terminal
        && is_json
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
        && let Ok(mut pretty) = serde_json::to_vec_pretty(&value)
    {
        pretty.push(b'\n');
        return pretty;
    }
    body.to_vec()
}

/// `-d` value: literal, `@FILE`, or `@-` for standard input.
fn read_body(data: &str) -> crate::exit::Result<Vec<u8>> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context_as(Category::Usage, "cannot read the body from standard input")?;
            Ok(buf)
        }
        Some(path) => {
            std::fs::read(path).with_context_as(Category::Usage, || format!("cannot read `{path}`"))
        }
        None => Ok(data.as_bytes().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_only_on_a_terminal() {
        let body = br#"{"a":1,"b":[true]}"#;
        let json = Some("application/json;charset=UTF-8");
        assert_eq!(
            String::from_utf8(render_body(body, json, true)).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}\n"
        );
        assert_eq!(render_body(body, json, false), body);
        assert_eq!(render_body(body, Some("text/plain"), true), body);
        assert_eq!(render_body(b"{broken", json, true), b"{broken");
    }

    #[test]
    fn body_from_a_file_or_literal() {
        let path = std::env::temp_dir().join(format!("jira-auth-body-{}.json", std::process::id()));
        std::fs::write(&path, b"{\"x\":1}").unwrap();
        let arg = format!("@{}", path.display());
        assert_eq!(read_body(&arg).unwrap(), b"{\"x\":1}");
        assert_eq!(read_body("a=b").unwrap(), b"a=b");
        assert!(read_body("@/nonexistent/x").is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
