//! Commands suggested to the user carry the profile and preset in use, so a command copied from
//! an error, a warning or narration acts on the same profile (a `default` one is the wrong
//! login to renew) and asks for the same scopes.
//!
//! Libraries write their advice as `` `jira-auth cloud login` `` without knowing the command
//! line; [`complete`] is applied where text reaches the user (`exit::report`, the `Narrator`,
//! status texts), so there is one rule and no message can forget it.

use std::sync::Mutex;

#[derive(Debug, Default, Clone)]
struct Active {
    /// `None` for `default`, which needs no flag.
    profile: Option<String>,
    /// The preset of this `cloud login`, or of the stored login being looked at.
    preset: Option<String>,
}

static ACTIVE: Mutex<Active> = Mutex::new(Active {
    profile: None,
    preset: None,
});

fn active() -> Active {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Records the profile this run acts on.
pub fn set_profile(profile: &str) {
    let mut a = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
    a.profile = (profile != "default").then(|| profile.to_owned());
}

/// Records the preset a suggested `cloud login` should ask for again.
pub fn set_preset(preset: Option<&str>) {
    let mut a = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
    a.preset = preset.map(str::to_owned);
}

/// `text` with every backticked `jira-auth cloud|server|audit …` command completed with the
/// active `--profile` (and, for `cloud login`, `--preset`) unless it names one already.
pub fn complete(text: &str) -> String {
    let a = active();
    complete_with(text, a.profile.as_deref(), a.preset.as_deref())
}

fn complete_with(text: &str, profile: Option<&str>, preset: Option<&str>) -> String {
    if profile.is_none() && preset.is_none() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find("`jira-auth ") {
        out.push_str(&rest[..=start]);
        let from = &rest[start + 1..];
        let Some(end) = from.find('`') else {
            out.push_str(from);
            return out;
        };
        out.push_str(&complete_command(&from[..end], profile, preset));
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

fn complete_command(cmd: &str, profile: Option<&str>, preset: Option<&str>) -> String {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    if !matches!(words.get(1), Some(&("cloud" | "server" | "audit"))) {
        return cmd.to_owned();
    }
    let mut flags = String::new();
    if let Some(p) = profile
        && !words.contains(&"--profile")
    {
        flags.push_str(&format!(" --profile {p}"));
    }
    if let Some(p) = preset
        && words.get(1..3) == Some(&["cloud", "login"][..])
        && !words.iter().any(|w| *w == "--preset" || *w == "--scope")
    {
        flags.push_str(&format!(" --preset {p}"));
    }
    // Before a redirection or a pipe, so the flags stay on the `jira-auth` command.
    let cut = [" > ", " >> ", " | ", " < ", " 2>"]
        .iter()
        .filter_map(|op| cmd.find(op))
        .min()
        .unwrap_or(cmd.len());
    format!("{}{flags}{}", &cmd[..cut], &cmd[cut..])
}

#[cfg(test)]
mod tests {
    use super::complete_with;

    #[test]
    fn suggested_commands_carry_the_profile_and_the_logins_preset() {
        let p = Some("g2");
        assert_eq!(
            complete_with("run `jira-auth cloud login` again", p, None),
            "run `jira-auth cloud login --profile g2` again"
        );
        assert_eq!(
            complete_with(
                "run `jira-auth cloud login` or `jira-auth cloud refresh`",
                p,
                Some("psoxy")
            ),
            "run `jira-auth cloud login --profile g2 --preset psoxy` or `jira-auth cloud refresh --profile g2`"
        );
        // Already there, or not a profile command: unchanged.
        let done = "run `jira-auth cloud login --profile g2 --scope read:jira-work`";
        assert_eq!(complete_with(done, p, Some("psoxy")), done);
        let other = "`jira-auth completions bash > f` and `jira-auth --help`";
        assert_eq!(complete_with(other, p, None), other);
        assert_eq!(
            complete_with("`jira-auth cloud export --format env > .env`", p, None),
            "`jira-auth cloud export --format env --profile g2 > .env`"
        );
        // The default profile needs no flag; an unclosed backtick is left alone.
        assert_eq!(
            complete_with("run `jira-auth cloud login` again", None, None),
            "run `jira-auth cloud login` again"
        );
        assert_eq!(
            complete_with("`jira-auth cloud", p, None),
            "`jira-auth cloud"
        );
    }
}
