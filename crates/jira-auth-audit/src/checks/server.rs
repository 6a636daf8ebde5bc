//! `server.info`: Jira answers `serverInfo`; its clock agrees with ours (OAuth 1.0a refuses
//! requests whose timestamp is more than 5 minutes off); deployment type and version.

use super::{Ctx, errored};
use crate::report::{CheckId, CheckResult, Status};
use jira_auth_core::jira::Deployment;
use jira_auth_core::time::{rfc3339, unix_seconds};

/// Skew beyond this is worth a warning.
pub(crate) const WARN_SKEW_SECONDS: i64 = 60;
/// Skew beyond this makes Jira refuse OAuth 1.0a requests (`timestamp_refused`).
pub(crate) const OAUTH1_SKEW_SECONDS: i64 = 300;

pub(crate) fn decide(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::ServerInfo;
    let (info, local) = match &ctx.facts.server {
        None => return CheckResult::new(id, Status::Skipped, "not read"),
        Some(Err(e)) => return errored(id, "the server info", e),
        Some(Ok((info, local))) => (info, *local),
    };
    let kind = info
        .deployment_type
        .clone()
        .unwrap_or_else(|| "unknown".into());
    let version = info.version.clone().unwrap_or_else(|| "unknown".into());
    let mut evidence = vec![
        format!("GET {}/serverInfo", ctx.rest()),
        format!("deployment type {kind}, version {version}"),
    ];
    if let Some(url) = &info.base_url {
        evidence.push(format!("base URL {url}"));
    }
    let local_ms = local
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let skew = info
        .server_time
        .as_deref()
        .and_then(parse_jira_time_ms)
        .map(|server_ms| {
            evidence.push(format!(
                "server time {}, local time {}",
                rfc3339(server_ms.div_euclid(1000)),
                rfc3339(unix_seconds(local))
            ));
            // Rounded to whole seconds: the request's own latency is noise below that.
            (server_ms - local_ms + 500).div_euclid(1000)
        });
    let mut status = Status::Pass;
    let mut fix = None;
    let skew_text = match skew {
        Some(s) => {
            if s.abs() > OAUTH1_SKEW_SECONDS {
                status = if ctx.deployment == Deployment::DataCenter {
                    Status::Fail
                } else {
                    Status::Warn
                };
                fix = Some("synchronise this machine's clock and the Jira server's with NTP: beyond 5 minutes Jira refuses OAuth 1.0a requests (`timestamp_refused`)".to_owned());
            } else if s.abs() > WARN_SKEW_SECONDS {
                status = Status::Warn;
                fix = Some(
                    "synchronise this machine's clock and the Jira server's with NTP".to_owned(),
                );
            }
            format!("clock skew {s:+} s")
        }
        None => {
            status = Status::Warn;
            fix = Some("the server sent no readable `serverTime`; check that the user has Jira application access (see `product.access`)".to_owned());
            "clock skew unknown".to_owned()
        }
    };
    let server_is_cloud = kind.eq_ignore_ascii_case("cloud");
    if server_is_cloud != (ctx.deployment == Deployment::Cloud) && kind != "unknown" {
        status = status.max(Status::Warn);
        fix = Some(format!(
            "the server says `{kind}` but the audit ran as {}: pass `--deployment {}`",
            match ctx.deployment {
                Deployment::Cloud => "cloud",
                Deployment::DataCenter => "data-center",
            },
            if server_is_cloud {
                "cloud"
            } else {
                "data-center"
            }
        ));
    }
    let mut result = CheckResult::new(
        id,
        status,
        format!("Jira {kind} {version} answers; {skew_text}"),
    );
    result.evidence = evidence;
    result.fix = fix;
    result.covered(usize::from(skew.is_some()), 1, "server clock reading")
}

/// Milliseconds since the epoch of a Jira timestamp: `2026-11-25T08:49:00.000+0000`,
/// `…+00:00` or `…Z`, fraction optional.
pub(crate) fn parse_jira_time_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    if s.len() < 19 || s.as_bytes()[4] != b'-' || s.as_bytes()[10] != b'T' {
        return None;
    }
    let (y, mo, d, h, mi, se) = (
        num(0, 4)?,
        num(5, 7)?,
        num(8, 10)?,
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
    );
    let mut rest = &s[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        let padded = format!("{:0<3}", &digits[..digits.len().min(3)]);
        millis = padded.parse().ok()?;
        rest = &frac[digits.len()..];
    }
    let offset_minutes = match rest {
        "" | "Z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            if digits.len() != 4 {
                return None;
            }
            sign * (digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?)
        }
    };
    let days = days_from_civil(y, mo, d);
    let seconds = days * 86_400 + h * 3600 + mi * 60 + se - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_timestamps_parse_in_every_offset_form() {
        let utc = 1_795_596_540_000; // 2026-11-25T08:49:00Z
        assert_eq!(rfc3339(utc / 1000), "2026-11-25T08:49:00Z");
        for s in [
            "2026-11-25T08:49:00.000+0000",
            "2026-11-25T08:49:00Z",
            "2026-11-25T10:49:00+02:00",
            "2026-11-25T03:49:00.000-0500",
        ] {
            assert_eq!(parse_jira_time_ms(s), Some(utc), "{s}");
        }
        assert_eq!(
            parse_jira_time_ms("2026-11-25T08:49:00.5Z"),
            Some(utc + 500)
        );
        assert_eq!(parse_jira_time_ms("yesterday"), None);
        assert_eq!(parse_jira_time_ms("2026-11-25T08:49:00+0"), None);
    }
}
