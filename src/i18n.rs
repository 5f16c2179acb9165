//! The page's language: the user's choice (the `lang` cookie, set by `/lang/`) or the
//! browser's `Accept-Language`; English, Spanish and Brazilian Portuguese. Strings come
//! from `static/chat/i18n/<locale>.json`, shared by the pages and the widget, and the
//! admin console's own from `static/admin/i18n/<locale>.json`, read once at start.

use std::{collections::HashMap, path::Path};

use serde_json::{Map, Value};

pub const LOCALES: [&str; 3] = ["en", "es", "pt-BR"];
pub const LANG_COOKIE: &str = "lang";

/// One of `LOCALES`, picked from a cookie value or an `Accept-Language` header.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> &'static str {
    if let Some(chosen) = cookie.and_then(supported) {
        return chosen;
    }
    let mut ranked: Vec<(f32, &str)> = accept_language
        .unwrap_or("")
        .split(',')
        .filter_map(|item| {
            let mut parts = item.trim().split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse().ok())
                .unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.into_iter().find_map(|(_, tag)| supported(tag)).unwrap_or("en")
}

/// The supported locale a language tag falls under (any Portuguese is Brazilian here).
fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
    match primary.as_str() {
        "en" => Some("en"),
        "es" => Some("es"),
        "pt" => Some("pt-BR"),
        _ => None,
    }
}

/// The strings of every locale.
#[derive(Debug, Default)]
pub struct Catalog {
    strings: HashMap<&'static str, Map<String, Value>>,
}

impl Catalog {
    /// Reads `<static_root>/{chat,admin}/i18n/<locale>.json`; a missing or broken file is
    /// logged and its keys fall back to their English text or the keys themselves.
    pub fn load(static_root: &Path) -> Catalog {
        let mut strings: HashMap<&'static str, Map<String, Value>> = HashMap::new();
        for locale in LOCALES {
            for part in ["chat", "admin"] {
                let path = static_root.join(part).join("i18n").join(format!("{locale}.json"));
                match std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|text| serde_json::from_str::<Map<String, Value>>(&text).map_err(|e| e.to_string()))
                {
                    Ok(map) => strings.entry(locale).or_default().extend(map),
                    Err(err) => tracing::warn!(path = %path.display(), error = %err, "could not load translations"),
                }
            }
        }
        Catalog { strings }
    }

    /// Every string of a locale (for the widget's `CHAT_I18N`).
    pub fn all(&self, locale: &str) -> Value {
        let mut map = self.strings.get("en").cloned().unwrap_or_default();
        if let Some(own) = self.strings.get(locale) {
            map.extend(own.clone());
        }
        map.insert("locale".into(), Value::String(locale.to_string()));
        Value::Object(map)
    }

    pub fn get(&self, locale: &str, key: &str) -> String {
        [locale, "en"]
            .iter()
            .find_map(|l| self.strings.get(l)?.get(key)?.as_str())
            .unwrap_or(key)
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_wins_then_the_best_ranked_supported_language() {
        assert_eq!(negotiate(Some("pt-BR"), Some("es")), "pt-BR");
        assert_eq!(negotiate(Some("klingon"), Some("es-ES,es;q=0.9")), "es");
        assert_eq!(negotiate(None, Some("de-DE,de;q=0.9,pt;q=0.8,en;q=0.5")), "pt-BR");
        assert_eq!(negotiate(None, Some("fr, en;q=0.1, es;q=0.3")), "es");
        assert_eq!(negotiate(None, Some("de")), "en");
        assert_eq!(negotiate(None, None), "en");
    }
}
