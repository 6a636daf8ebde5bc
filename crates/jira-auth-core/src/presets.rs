//! Presets: named sets of OAuth scopes and audit checks, shared by `cloud login --preset` and
//! `audit --preset`. The built-in ones live in `presets.toml` beside this file (the one data file
//! to edit); users extend or override them with a file of the same shape.

use crate::category::{Categorize, Category};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in presets file, compiled in.
pub const BUILTIN: &str = include_str!("presets.toml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub checks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    #[serde(default)]
    presets: BTreeMap<String, Preset>,
}

#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("cannot read preset file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("preset file `{path}` is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("unknown preset `{name}`; known presets: {known}")]
    Unknown { name: String, known: String },
}

impl Categorize for PresetError {
    fn category(&self) -> Category {
        Category::Usage
    }
}

/// All presets: the built-in ones, then those of an optional user file (which win on a name clash).
#[derive(Debug, Clone)]
pub struct Presets {
    presets: BTreeMap<String, Preset>,
}

impl Presets {
    pub fn builtin() -> Self {
        #[allow(clippy::expect_used)]
        let file: PresetFile =
            toml::from_str(BUILTIN).expect("built-in presets.toml is valid (tested)");
        Self {
            presets: file.presets,
        }
    }

    /// The built-in presets extended by `path`, if given.
    pub fn load(path: Option<&Path>) -> Result<Self, PresetError> {
        let mut all = Self::builtin();
        if let Some(path) = path {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| PresetError::Read {
                path: shown.clone(),
                source,
            })?;
            let file: PresetFile = toml::from_str(&text).map_err(|e| PresetError::Parse {
                path: shown,
                message: e.to_string(),
            })?;
            all.presets.extend(file.presets);
        }
        Ok(all)
    }

    pub fn get(&self, name: &str) -> Result<&Preset, PresetError> {
        self.presets.get(name).ok_or_else(|| PresetError::Unknown {
            name: name.to_owned(),
            known: self.presets.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.presets.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_presets_parse_and_carry_the_documented_scopes() {
        let p = Presets::builtin();
        assert_eq!(p.names().collect::<Vec<_>>(), ["audit", "psoxy", "raytion"]);
        assert_eq!(
            p.get("psoxy").unwrap().scopes,
            [
                "read:jira-user",
                "read:jira-work",
                "read:account",
                "read:group:jira",
                "read:avatar:jira",
                "read:user:jira"
            ]
        );
        assert_eq!(p.get("raytion").unwrap().scopes.len(), 34);
        assert!(
            p.get("audit")
                .unwrap()
                .scopes
                .contains(&"manage:jira-project".to_owned())
        );
    }

    #[test]
    fn user_file_extends_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(
            &path,
            "[presets.mine]\nscopes = [\"read:jira-work\"]\n[presets.psoxy]\nscopes = []\n",
        )
        .unwrap();
        let p = Presets::load(Some(&path)).unwrap();
        assert_eq!(p.get("mine").unwrap().scopes, ["read:jira-work"]);
        assert!(p.get("psoxy").unwrap().scopes.is_empty());
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let err = Presets::builtin().get("nope").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown preset `nope`; known presets: audit, psoxy, raytion"
        );
    }

    #[test]
    fn bad_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "[presets.x]\nscope = [1]\n").unwrap();
        let err = Presets::load(Some(&path)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("preset file `{}` is not valid", path.display())),
            "{err}"
        );
    }
}
