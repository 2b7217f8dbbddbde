//! The live settings: rate-limit quotas, the filter's mode and rule switches,
//! the cache TTL. The flags give their first version; afterwards they live in
//! PostgreSQL (`GET`/`PUT /api/admin/settings`, or the settings file at
//! SIGHUP), and every instance applies each new version within a second: a
//! change is announced on `NOTIFY edge_settings`, and a periodic re-read
//! catches a missed announcement.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edge_filter::{Inspector, Mode, RuleSet};
use edge_ratelimit::Quota;
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use crate::app::builders::Quotas;
use crate::config::Config;
use crate::db::settings::{self as stored, Stored};
use crate::problem::{ApiError, Code, FieldError};
use crate::state::AppState;

/// How often the settings are re-read when no announcement came.
const REREAD: Duration = Duration::from_secs(5);

/// The rate-limit policies, by the name the document gives them.
const POLICIES: [&str; 6] = ["ip", "login", "register", "user", "read", "write"];

/// One version of the settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Each policy's quota.
    pub quotas: Quotas,
    /// Block or only detect.
    pub filter_mode: Mode,
    /// Built-in filter rules switched off, by id.
    pub rules_off: Vec<String>,
    /// The cache's TTL (zero: caching off).
    pub cache_ttl: Duration,
    /// Cached routes' own TTLs, by template (the others use `cache_ttl`).
    pub cache_routes: BTreeMap<String, Duration>,
}

/// The version last applied in this process, and the lock that keeps two
/// applications from crossing.
#[derive(Debug, Clone, Default)]
pub struct Applied(Arc<Mutex<i64>>);

impl Settings {
    /// The settings the flags give.
    pub fn of(config: &Config) -> Settings {
        Settings {
            quotas: Quotas::of(config),
            filter_mode: config.filter_mode.mode(),
            rules_off: Vec::new(),
            cache_ttl: config.cache_ttl,
            cache_routes: BTreeMap::new(),
        }
    }

    /// The document (without its version).
    pub fn to_document(&self) -> Value {
        let q = &self.quotas;
        let quotas = [q.ip, q.login, q.register, q.user, q.read, q.write];
        let rate_limits: Map<String, Value> = POLICIES
            .iter()
            .zip(quotas)
            .map(|(name, quota)| ((*name).to_owned(), Value::String(quota.to_string())))
            .collect();
        json!({
            "rate_limits": rate_limits,
            "filter_mode": match self.filter_mode {
                Mode::Block => "block",
                Mode::DetectOnly => "detect",
            },
            "filter_rules_off": self.rules_off,
            "cache_ttl": humantime::format_duration(self.cache_ttl).to_string(),
            "cache_routes": self
                .cache_routes
                .iter()
                .map(|(route, ttl)| (route.clone(), Value::String(humantime::format_duration(*ttl).to_string())))
                .collect::<Map<String, Value>>(),
        })
    }

    /// The settings a stored document holds.
    pub fn from_document(document: &Value) -> Result<Settings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut error = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            });
        };
        let Some(fields) = document.as_object() else {
            error("/", "must be an object".to_owned());
            return Err(errors);
        };
        for key in fields.keys() {
            if ![
                "rate_limits",
                "filter_mode",
                "filter_rules_off",
                "cache_ttl",
                "cache_routes",
            ]
            .contains(&key.as_str())
            {
                error(&format!("/{key}"), "is not a setting".to_owned());
            }
        }
        let limits = fields.get("rate_limits").and_then(Value::as_object);
        let mut quota = |name: &str| -> Option<Quota> {
            let field = format!("/rate_limits/{name}");
            match limits.and_then(|l| l.get(name)).map(Value::as_str) {
                Some(Some(text)) => match text.parse::<Quota>() {
                    Ok(quota) => Some(quota),
                    Err(e) => {
                        error(&field, e.to_string());
                        None
                    }
                },
                _ => {
                    error(&field, "must be a quota such as \"600/1m\"".to_owned());
                    None
                }
            }
        };
        let parsed: Vec<Option<Quota>> = POLICIES.iter().map(|name| quota(name)).collect();
        if let Some(limits) = limits {
            for name in limits.keys().filter(|k| !POLICIES.contains(&k.as_str())) {
                error(
                    &format!("/rate_limits/{name}"),
                    format!("is not a policy (they are {})", POLICIES.join(", ")),
                );
            }
        }
        let filter_mode = match fields.get("filter_mode").and_then(Value::as_str) {
            Some("block") => Some(Mode::Block),
            Some("detect") => Some(Mode::DetectOnly),
            _ => {
                error("/filter_mode", "must be \"block\" or \"detect\"".to_owned());
                None
            }
        };
        let rules_off: Vec<String> = match fields.get("filter_rules_off") {
            None => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .filter_map(|id| id.as_str().map(str::to_owned))
                .collect(),
            Some(_) => {
                error("/filter_rules_off", "must be a list of rule ids".to_owned());
                Vec::new()
            }
        };
        let known = edge_filter::default_rules();
        for (index, id) in rules_off.iter().enumerate() {
            if !known.iter().any(|rule| rule.id == *id) {
                error(
                    &format!("/filter_rules_off/{index}"),
                    format!("`{id}` is not the id of a built-in rule"),
                );
            }
        }
        let cache_ttl = match fields.get("cache_ttl").and_then(Value::as_str) {
            Some(text) => match humantime::parse_duration(text) {
                Ok(ttl) => Some(ttl),
                Err(e) => {
                    error(
                        "/cache_ttl",
                        format!("`{text}` is not a duration such as 30s: {e}"),
                    );
                    None
                }
            },
            None => {
                error(
                    "/cache_ttl",
                    "must be a duration such as \"30s\" (\"0s\": off)".to_owned(),
                );
                None
            }
        };
        let mut cache_routes = BTreeMap::new();
        match fields.get("cache_routes") {
            None => {}
            Some(Value::Object(routes)) => {
                for (route, ttl) in routes {
                    let field = format!(
                        "/cache_routes/{}",
                        route.replace('~', "~0").replace('/', "~1")
                    );
                    if !cached_routes().any(|cached| cached == route) {
                        let known: Vec<&str> = cached_routes().collect();
                        error(
                            &field,
                            format!("is not a cached route (they are {})", known.join(", ")),
                        );
                        continue;
                    }
                    match ttl.as_str().map(humantime::parse_duration) {
                        Some(Ok(ttl)) => {
                            cache_routes.insert(route.clone(), ttl);
                        }
                        _ => error(&field, "must be a duration such as \"30s\"".to_owned()),
                    }
                }
            }
            Some(_) => error(
                "/cache_routes",
                "must be an object of route templates".to_owned(),
            ),
        }
        match (parsed.as_slice(), filter_mode, cache_ttl) {
            (
                [
                    Some(ip),
                    Some(login),
                    Some(register),
                    Some(user),
                    Some(read),
                    Some(write),
                ],
                Some(filter_mode),
                Some(cache_ttl),
            ) if errors.is_empty() => Ok(Settings {
                quotas: Quotas {
                    ip: *ip,
                    login: *login,
                    register: *register,
                    user: *user,
                    read: *read,
                    write: *write,
                },
                filter_mode,
                rules_off,
                cache_ttl,
                cache_routes,
            }),
            _ => Err(errors),
        }
    }

    /// These settings with the keys `partial` sends replaced (a `rate_limits`
    /// object replaces only the policies it names); every error at once.
    pub fn merged(&self, partial: &Value) -> Result<Settings, Vec<FieldError>> {
        let mut document = self.to_document();
        let (Some(target), Some(changes)) = (document.as_object_mut(), partial.as_object()) else {
            return Err(vec![FieldError {
                field: "/".to_owned(),
                message: "must be an object".to_owned(),
            }]);
        };
        for (key, value) in changes {
            match (key.as_str(), target.get_mut(key), value) {
                ("rate_limits" | "cache_routes", Some(Value::Object(old)), Value::Object(new)) => {
                    old.extend(new.clone());
                }
                _ => {
                    target.insert(key.clone(), value.clone());
                }
            }
        }
        Settings::from_document(&document)
    }

    /// What differs from `before`, one `name: old -> new` line each.
    pub fn changes_from(&self, before: &Settings) -> Vec<String> {
        let (old, new) = (before.to_document(), self.to_document());
        let mut changes = Vec::new();
        for name in POLICIES {
            let (a, b) = (&old["rate_limits"][name], &new["rate_limits"][name]);
            if a != b {
                changes.push(format!("rate_limits.{name}: {a} -> {b}"));
            }
        }
        for key in [
            "filter_mode",
            "filter_rules_off",
            "cache_ttl",
            "cache_routes",
        ] {
            if old[key] != new[key] {
                changes.push(format!("{key}: {} -> {}", old[key], new[key]));
            }
        }
        changes
    }
}

/// The templates of the cached routes.
fn cached_routes() -> impl Iterator<Item = &'static str> {
    crate::operations::cached().map(|op| op.path)
}

/// Make `settings` the running ones: each limiter, the filter and the cache
/// swap theirs whole; requests in flight finish under the old ones.
fn put_in_force(state: &AppState, settings: &Settings) -> Result<(), String> {
    let quotas = &settings.quotas;
    let ip = quotas
        .ip_policies(&state.config)
        .map_err(|e| e.to_string())?;
    let user = quotas.user_policies().map_err(|e| e.to_string())?;
    let off: Vec<&str> = settings.rules_off.iter().map(String::as_str).collect();
    let rules = RuleSet::defaults_with(&off, Vec::new()).map_err(|e| e.to_string())?;
    let ttls = edge_cache::Ttls {
        default: settings.cache_ttl,
        routes: settings
            .cache_routes
            .iter()
            .map(|(route, ttl)| (route.clone(), *ttl))
            .collect(),
    };
    state.ip_limits.reconfigure(ip).map_err(|e| e.to_string())?;
    state
        .user_limits
        .reconfigure(user)
        .map_err(|e| e.to_string())?;
    state
        .filter
        .reconfigure(Inspector::new(rules), settings.filter_mode);
    state.cache.reconfigure(&ttls).map_err(|e| e.to_string())?;
    Ok(())
}

/// Apply `stored` unless this process applied it (or a newer version)
/// already; whether it did.
pub fn apply(state: &AppState, stored: &Stored) -> Result<bool, String> {
    let mut applied = state
        .settings
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if stored.version <= *applied {
        return Ok(false);
    }
    let settings = Settings::from_document(&stored.document).map_err(|errors| {
        let errors: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        errors.join("; ")
    })?;
    put_in_force(state, &settings)?;
    tracing::info!(version = stored.version, "settings applied");
    *applied = stored.version;
    Ok(true)
}

/// A stored change: the new version, and the admins after it.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The new version.
    pub stored: Stored,
    /// The accounts with the admin role.
    pub admins: Vec<String>,
}

/// `document` with `admins` (which live in the accounts, not in the settings row).
pub fn with_admins(document: &Value, admins: &[String]) -> Value {
    let mut document = document.clone();
    if let Some(fields) = document.as_object_mut() {
        fields.insert("admins".to_owned(), json!(admins));
    }
    document
}

/// Store `changes` (a part of the document: only the keys sent change; an
/// `admins` list makes exactly those accounts admins) over the stored settings
/// as `actor`'s (`None`: the operator), once `check` accepts the stored
/// version; then apply them here (the other instances hear of it) and log what
/// changed. Every error at once, and nothing changed, when the result is invalid.
pub async fn change(
    state: &AppState,
    actor: Option<i64>,
    mut changes: Value,
    check: impl Fn(&Stored) -> Result<(), ApiError> + Clone + Send + Sync + 'static,
) -> Result<Changed, ApiError> {
    let admins = match changes
        .as_object_mut()
        .and_then(|fields| fields.remove("admins"))
    {
        None => None,
        Some(Value::Array(names)) if names.iter().all(Value::is_string) => Some(
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_owned))
                .collect::<Vec<_>>(),
        ),
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError {
                field: "/admins".to_owned(),
                message: "must be a list of account names".to_owned(),
            }]));
        }
    };
    let (before, after, changed) = state
        .db
        .transaction(|tx| {
            let (changes, admins, check) = (changes.clone(), admins.clone(), check.clone());
            Box::pin(async move {
                let current = stored::lock(tx).await?;
                check(&current)?;
                let before = Settings::from_document(&current.document).map_err(|_| {
                    ApiError::new(Code::Internal, "the stored settings are invalid")
                })?;
                let admins_before = crate::db::users::admins_in(tx).await?;
                let mut errors = Vec::new();
                let after = before.merged(&changes).map_err(|e| errors.extend(e)).ok();
                if let Some(names) = &admins {
                    if names.is_empty() {
                        errors.push(FieldError {
                            field: "/admins".to_owned(),
                            message: "must name at least one account".to_owned(),
                        });
                    }
                    let missing = crate::db::users::set_admins(tx, names).await?;
                    for (index, name) in names
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| missing.contains(n))
                    {
                        errors.push(FieldError {
                            field: format!("/admins/{index}"),
                            message: format!("no account is named `{name}`"),
                        });
                    }
                }
                let Some(after) = after.filter(|_| errors.is_empty()) else {
                    return Err(ApiError::validation(errors));
                };
                let admins_after = crate::db::users::admins_in(tx).await?;
                let document = after.to_document();
                let audited = (
                    &with_admins(&current.document, &admins_before),
                    &with_admins(&document, &admins_after),
                );
                let stored = stored::replace(tx, actor, &current, &document, audited).await?;
                let changed = Changed {
                    stored,
                    admins: admins_after,
                };
                Ok::<_, ApiError>((before, after, changed))
            })
        })
        .await?;
    tracing::info!(version = changed.stored.version, changes = ?after.changes_from(&before), admins = ?changed.admins, "settings changed");
    // In force here at once; the other instances hear of it.
    apply(state, &changed.stored).map_err(|reason| {
        tracing::error!(%reason, "the new settings could not be applied");
        ApiError::new(
            Code::Internal,
            "the settings were stored but could not be applied",
        )
    })?;
    Ok(changed)
}

/// At SIGHUP, store the settings file (`--settings-file`: a part of the
/// document, as a `PUT` takes) as a new version, for deployments without the
/// admin API; a log line says what changed, or why nothing did.
pub fn reload_on_sighup(state: AppState) {
    let Some(path) = state.config.settings_file.clone() else {
        return;
    };
    actix_web::rt::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP; the settings file will not be read");
            return;
        };
        while hangups.recv().await.is_some() {
            // A small file, read once per SIGHUP: blocking is harmless here.
            let read = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
            let changed = match read {
                Ok(changes) => change(&state, None, changes, |_| Ok(()))
                    .await
                    .map_err(|e| {
                        let fields: Vec<String> = e
                            .errors
                            .iter()
                            .flatten()
                            .map(|f| format!("{}: {}", f.field, f.message))
                            .collect();
                        format!("{} {}", e.detail, fields.join("; "))
                    }),
                Err(reason) => Err(reason),
            };
            if let Err(reason) = changed {
                tracing::error!(path = %path.display(), %reason, "the settings file was not applied; nothing changed");
            }
        }
    });
}

/// The stored settings (the flags' as version 1 when there are none yet), applied.
pub async fn load(state: &AppState) -> Result<Stored, edge_db::DbError> {
    let conn = state.db.conn().await?;
    let initial = Settings::of(&state.config).to_document();
    let current = stored::get_or_init(&conn, &initial).await?;
    if let Err(reason) = apply(state, &current) {
        tracing::error!(version = current.version, %reason, "stored settings cannot be applied; keeping the flags'");
    }
    Ok(current)
}

/// Re-read the stored settings and apply them if they are newer.
async fn refresh(state: &AppState) {
    let current = match state.db.conn().await {
        Ok(conn) => stored::get(&conn).await,
        Err(e) => Err(e),
    };
    match current.map(|current| apply(state, &current)) {
        Ok(Ok(_)) => {}
        Ok(Err(reason)) => tracing::error!(%reason, "stored settings cannot be applied"),
        Err(error) => tracing::warn!(%error, "cannot re-read the settings"),
    }
}

/// Follow the stored settings for as long as the process runs: on every
/// announcement, and every few seconds in case one was missed.
pub fn watch(state: AppState) {
    actix_web::rt::spawn(async move {
        loop {
            match state.db.listen(stored::CHANNEL).await {
                Ok(mut announcements) => {
                    // A change may have come before the listening began.
                    refresh(&state).await;
                    loop {
                        tokio::select! {
                            next = announcements.next() => match next {
                                Some(_) => refresh(&state).await,
                                None => break,
                            },
                            () = tokio::time::sleep(REREAD) => refresh(&state).await,
                        }
                    }
                    tracing::warn!("lost the settings announcements; listening again");
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for settings changes; re-reading them meanwhile");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    refresh(&state).await;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Settings {
        let quota = |s: &str| s.parse::<Quota>().unwrap();
        Settings {
            quotas: Quotas {
                ip: quota("600/1m"),
                login: quota("5/1m"),
                register: quota("3/1h"),
                user: quota("300/1m"),
                read: quota("200/1m"),
                write: quota("60/1m"),
            },
            filter_mode: Mode::Block,
            rules_off: Vec::new(),
            cache_ttl: Duration::from_secs(30),
            cache_routes: BTreeMap::new(),
        }
    }

    #[test]
    fn a_document_reads_back_as_the_settings_it_was_made_from() {
        let mut settings = sample();
        assert_eq!(
            Settings::from_document(&settings.to_document()),
            Ok(settings.clone())
        );
        settings.filter_mode = Mode::DetectOnly;
        settings.rules_off = vec![edge_filter::default_rules()[0].id.clone()];
        settings.cache_ttl = Duration::ZERO;
        settings
            .cache_routes
            .insert("/api/resources".to_owned(), Duration::from_secs(90));
        assert_eq!(
            Settings::from_document(&settings.to_document()),
            Ok(settings)
        );
    }

    #[test]
    fn a_change_replaces_only_what_it_names_and_lists_every_error() {
        let before = sample();
        let after = before
            .merged(&json!({"rate_limits": {"user": "3/1m"}, "filter_mode": "detect"}))
            .unwrap();
        assert_eq!(after.quotas.user.to_string(), "3/1m");
        assert_eq!(after.quotas.ip, before.quotas.ip);
        assert_eq!(after.filter_mode, Mode::DetectOnly);
        assert_eq!(
            after.changes_from(&before),
            [
                "rate_limits.user: \"300/1m\" -> \"3/1m\"",
                "filter_mode: \"block\" -> \"detect\""
            ]
        );
        let errors = before
            .merged(&json!({
                "rate_limits": {"nope": "1/1s", "ip": "0/1s"},
                "filter_mode": "sometimes",
                "cache_ttl": 30,
                "colour": "red"
            }))
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "/colour",
                "/rate_limits/ip",
                "/rate_limits/nope",
                "/filter_mode",
                "/cache_ttl"
            ]
        );
    }
}
