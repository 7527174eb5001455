//! The `--scope` syntax of `icsim update credential`.
//!
//! `types=firmware,library;components=plc-fw,io-lib;classes=VENDOR/CLASS,VENDOR/*`, each
//! part optional but `types`; a bare list (`firmware,application`) means types only.
//! Omitted components or classes mean any.

use anyhow::{Context, Result, bail};
use icsim_protocol::credential::{AuthorScope, ClassPattern};
use icsim_protocol::ids::{ComponentId, UpdateType, Uuid};

/// Parse a scope.
pub(crate) fn parse(text: &str) -> Result<AuthorScope> {
    let mut types = None;
    let mut components = None;
    let mut classes = None;
    let text = if text.contains('=') {
        text.to_string()
    } else {
        format!("types={text}")
    };
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, values) = part
            .split_once('=')
            .with_context(|| format!("expected KEY=VALUES in {part:?}"))?;
        let values: Vec<&str> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        match key.trim() {
            "types" => {
                types = Some(
                    values
                        .iter()
                        .map(|v| v.parse::<UpdateType>())
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            "components" => {
                components = Some(
                    values
                        .iter()
                        .map(|v| ComponentId::named(v))
                        .collect::<Vec<_>>(),
                );
            }
            "classes" => {
                classes = Some(
                    values
                        .iter()
                        .map(|v| {
                            let (vendor, class) = v.split_once('/').with_context(|| {
                                format!("expected VENDOR/CLASS or VENDOR/*, got {v:?}")
                            })?;
                            Ok(ClassPattern {
                                vendor_id: vendor.parse::<Uuid>()?,
                                class_id: if class == "*" {
                                    None
                                } else {
                                    Some(class.parse::<Uuid>()?)
                                },
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                );
            }
            other => bail!("unknown scope key {other:?} (types, components, classes)"),
        }
    }
    let types = types
        .filter(|t| !t.is_empty())
        .context("the scope must name at least one update type")?;
    Ok(AuthorScope {
        types,
        components: components.filter(|c: &Vec<_>| !c.is_empty()),
        classes: classes.filter(|c: &Vec<_>| !c.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_in_both_forms_and_reject_nonsense() {
        let s = parse("firmware,library").unwrap();
        assert_eq!(s.types, vec![UpdateType::Firmware, UpdateType::Library]);
        assert!(s.components.is_none() && s.classes.is_none());
        let s = parse(
            "types=application;components=app1;classes=fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe/*",
        )
        .unwrap();
        assert_eq!(s.components.unwrap(), vec![ComponentId::named("app1")]);
        assert_eq!(s.classes.unwrap()[0].class_id, None);
        assert!(parse("types=").is_err());
        assert!(parse("colours=red").is_err());
        assert!(parse("types=firmware;classes=nope").is_err());
    }
}
