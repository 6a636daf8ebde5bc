//! Export formats for a stored login. Pure: returns the text; the CLI decides where it goes
//! (stdout only, since it holds secrets).

use crate::CloudError;
use crate::credentials::{CloudCredentials, LoginKind};
use jira_auth_core::time::rfc3339;

/// The formats of `cloud export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `JIRA_CLOUD_*=value` lines, shell-quoted where needed.
    Env,
    /// One JSON object.
    Json,
    /// `jira_cloud_* = "value"` lines for a `terraform.tfvars`.
    Tfvars,
    /// The four `PSOXY_JIRA_CLOUD_*` secrets and `jira_cloud_id = "..."` for psoxy's tfvars.
    Psoxy,
}

/// Renders `c` in `format`. Every secret in the output is there on purpose. A service account's
/// export has no refresh token field (the caller refuses `Psoxy` for it: psoxy needs one).
pub fn render(c: &CloudCredentials, format: Format) -> Result<String, CloudError> {
    let refresh = c
        .refresh_token
        .as_ref()
        .map(|r| r.expose_secret())
        .unwrap_or_default();
    let jira_base = c.jira_base()?.to_string();
    let expires = rfc3339(c.access_expires_at);
    let scopes = c.scopes.join(" ");
    let mut fields: Vec<(&str, &str)> = vec![
        ("ACCESS_TOKEN", c.access_token.expose_secret()),
        ("ACCESS_TOKEN_EXPIRES_AT", &expires),
        ("REFRESH_TOKEN", refresh),
        ("CLIENT_ID", &c.client_id),
        ("CLIENT_SECRET", c.client_secret.expose_secret()),
        ("CLOUD_ID", &c.cloud_id),
        ("SITE_URL", &c.site_url),
        ("API_BASE_URL", &jira_base),
        ("SCOPES", &scopes),
    ];
    if c.kind == LoginKind::ServiceAccount {
        // It never has one; an empty variable would read as a refresh token that was lost.
        fields.retain(|(k, _)| *k != "REFRESH_TOKEN");
    }
    let out = match format {
        Format::Env => fields
            .iter()
            .map(|(k, v)| format!("JIRA_CLOUD_{}={}\n", short(k), shell_quote(v)))
            .collect(),
        Format::Tfvars => fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "jira_cloud_{} = {}\n",
                    short(k).to_ascii_lowercase(),
                    hcl_string(v)
                )
            })
            .collect(),
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), serde_json::Value::from(*v)))
                .collect();
            let mut s =
                serde_json::to_string_pretty(&map).map_err(|e| CloudError::BadResponse {
                    url: String::new(),
                    message: e.to_string(),
                })?;
            s.push('\n');
            s
        }
        Format::Psoxy => format!(
            "# secrets for the psoxy Jira Cloud connector (its secret store, e.g. AWS SSM or GCP Secret Manager)\n\
             PSOXY_JIRA_CLOUD_ACCESS_TOKEN={}\n\
             PSOXY_JIRA_CLOUD_REFRESH_TOKEN={}\n\
             PSOXY_JIRA_CLOUD_CLIENT_ID={}\n\
             PSOXY_JIRA_CLOUD_CLIENT_SECRET={}\n\
             # terraform.tfvars\n\
             jira_cloud_id = {}\n",
            shell_quote(c.access_token.expose_secret()),
            shell_quote(refresh),
            shell_quote(&c.client_id),
            shell_quote(c.client_secret.expose_secret()),
            hcl_string(&c.cloud_id),
        ),
    };
    Ok(out)
}

/// `CLOUD_ID` becomes `ID`, so the variable is `JIRA_CLOUD_ID`, not `JIRA_CLOUD_CLOUD_ID`.
fn short(key: &str) -> &str {
    key.strip_prefix("CLOUD_").unwrap_or(key)
}

/// Leaves safe values bare (`source`-able and valid in most `.env` readers), single-quotes the rest.
fn shell_quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | ':' | '/' | '+' | '=' | '@' | ',')
        })
    {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\'', "'\\''"))
    }
}

/// A double-quoted HCL string (JSON escaping is valid HCL, plus `${` and `%{` escaped).
fn hcl_string(v: &str) -> String {
    serde_json::Value::from(v)
        .to_string()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::tests::sample;

    #[test]
    fn psoxy_names_the_four_secrets_and_the_cloud_id() {
        let text = render(&sample(1_800_000_000), Format::Psoxy).unwrap();
        assert_eq!(
            text,
            "# secrets for the psoxy Jira Cloud connector (its secret store, e.g. AWS SSM or GCP Secret Manager)\n\
             PSOXY_JIRA_CLOUD_ACCESS_TOKEN=at-1\n\
             PSOXY_JIRA_CLOUD_REFRESH_TOKEN=rt-1\n\
             PSOXY_JIRA_CLOUD_CLIENT_ID=cid\n\
             PSOXY_JIRA_CLOUD_CLIENT_SECRET=csecret\n\
             # terraform.tfvars\n\
             jira_cloud_id = \"cloud-1\"\n"
        );
    }

    #[test]
    fn a_service_accounts_export_has_no_refresh_token_field() {
        let mut c = sample(1_800_000_000);
        c.kind = LoginKind::ServiceAccount;
        c.refresh_token = None;
        let env = render(&c, Format::Env).unwrap();
        assert!(!env.contains("REFRESH"), "{env}");
        assert!(env.starts_with("JIRA_CLOUD_ACCESS_TOKEN=at-1\n"), "{env}");
        assert!(env.contains("JIRA_CLOUD_CLIENT_SECRET=csecret\n"), "{env}");
        let json: serde_json::Value =
            serde_json::from_str(&render(&c, Format::Json).unwrap()).unwrap();
        assert!(json.get("refresh_token").is_none(), "{json}");
        assert!(!render(&c, Format::Tfvars).unwrap().contains("refresh"));
    }

    #[test]
    fn env_tfvars_and_json() {
        let mut c = sample(1_800_000_000);
        c.client_secret = jira_auth_core::ClientSecret::new("it's ${x}");
        let env = render(&c, Format::Env).unwrap();
        assert!(
            env.contains("JIRA_CLOUD_CLIENT_SECRET='it'\\''s ${x}'\n"),
            "{env}"
        );
        assert!(
            env.contains("JIRA_CLOUD_API_BASE_URL=https://api.atlassian.com/ex/jira/cloud-1\n")
        );
        assert!(env.contains("JIRA_CLOUD_SCOPES='read:jira-work offline_access'\n"));
        let tf = render(&c, Format::Tfvars).unwrap();
        assert!(
            tf.contains("jira_cloud_client_secret = \"it's $${x}\"\n"),
            "{tf}"
        );
        assert!(tf.contains("jira_cloud_id = \"cloud-1\"\n"));
        assert!(env.contains("JIRA_CLOUD_ID=cloud-1\n"));
        let json: serde_json::Value =
            serde_json::from_str(&render(&c, Format::Json).unwrap()).unwrap();
        assert_eq!(json["access_token"], "at-1");
        assert_eq!(json["access_token_expires_at"], "2027-01-15T09:00:00Z");
    }
}
