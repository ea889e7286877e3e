//! Layering: defaults, then the file, then the environment, each checked
//! against the shape of the defaults so an unknown key or a wrong type is an
//! error that names the key instead of a silently ignored typo.

use super::error::ConfigError;
use toml::Value;
use toml::map::Map;

/// The prefix of every environment override.
pub const ENV_PREFIX: &str = "SIGNAL_WORKER_";

/// Variables with the prefix that are not settings (they select the file).
const NON_SETTING_VARS: [&str; 1] = ["SIGNAL_WORKER_CONFIG"];

/// Short aliases: variables that name a setting without its section.
const ALIASES: [(&str, &str); 1] = [("LOG", "log.level")];

/// Tables keyed by names the user chooses (exchange tokens), not by setting names: a file's
/// table replaces the default one whole, and serde checks each entry's shape.
const OPEN_TABLES: [&str; 1] = ["sequence.sessions"];

/// Merges `overlay` into `base`, refusing keys that `base` lacks and values
/// whose type differs from the default's.
pub fn merge(
    base: &mut Map<String, Value>,
    overlay: Map<String, Value>,
    path: &str,
) -> Result<(), ConfigError> {
    for (key, value) in overlay {
        let full = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let Some(slot) = base.get_mut(&key) else {
            return Err(ConfigError::UnknownKey { key: full });
        };
        match (slot, value) {
            (slot @ Value::Table(_), Value::Table(over))
                if OPEN_TABLES.contains(&full.as_str()) =>
            {
                *slot = Value::Table(over)
            }
            (Value::Table(inner), Value::Table(over)) => merge(inner, over, &full)?,
            (slot, value) => *slot = coerce(&full, slot, value)?,
        }
    }
    Ok(())
}

/// Accepts `value` for a setting whose default is `default`.
fn coerce(key: &str, default: &Value, value: Value) -> Result<Value, ConfigError> {
    let ok = match (default, &value) {
        (Value::Float(_), Value::Integer(i)) => return Ok(Value::Float(*i as f64)),
        (Value::String(_), Value::String(_))
        | (Value::Integer(_), Value::Integer(_))
        | (Value::Float(_), Value::Float(_))
        | (Value::Boolean(_), Value::Boolean(_))
        | (Value::Array(_), Value::Array(_)) => true,
        _ => false,
    };
    if ok {
        Ok(value)
    } else {
        Err(ConfigError::WrongType {
            key: key.to_owned(),
            expected: type_name(default),
            found: value.to_string(),
        })
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// Applies `SIGNAL_WORKER_<SECTION>_<KEY>` variables (nested tables with `__`,
/// e.g. `SIGNAL_WORKER_TRAINING_LABELS__HORIZON`) onto `table`.
pub fn apply_env<I>(table: &mut Map<String, Value>, vars: I) -> Result<(), ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    // Deterministic order, so the first error reported does not depend on the OS.
    vars.sort();
    for (var, raw) in vars {
        if NON_SETTING_VARS.contains(&var.as_str()) {
            continue;
        }
        let Some(path) = env_path(&var, table) else {
            return Err(ConfigError::UnknownEnv { var });
        };
        let default = lookup(table, &path)
            .cloned()
            .ok_or_else(|| ConfigError::UnknownEnv { var: var.clone() })?;
        let value = parse_env_value(&var, &default, &raw)?;
        set(table, &path, value);
    }
    Ok(())
}

/// Maps a variable name to a dotted path present in `table`.
fn env_path(var: &str, table: &Map<String, Value>) -> Option<Vec<String>> {
    let rest = var.strip_prefix(ENV_PREFIX)?;
    if let Some((_, path)) = ALIASES.iter().find(|(alias, _)| *alias == rest) {
        return Some(path.split('.').map(str::to_owned).collect());
    }
    let lower = rest.to_ascii_lowercase();
    let (section, key) = lower.split_once('_')?;
    let mut path = vec![section.to_owned()];
    path.extend(key.split("__").map(str::to_owned));
    lookup(table, &path).map(|_| path)
}

fn lookup<'a>(table: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = table.get(first)?;
    if rest.is_empty() {
        return Some(v);
    }
    match v {
        Value::Table(t) => lookup(t, rest),
        _ => None,
    }
}

fn set(table: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        table.insert(first.clone(), value);
    } else if let Some(Value::Table(t)) = table.get_mut(first) {
        set(t, rest, value);
    }
}

/// Parses an environment string as the type of the setting's default.
fn parse_env_value(var: &str, default: &Value, raw: &str) -> Result<Value, ConfigError> {
    let wrong = |expected| ConfigError::WrongType {
        key: var.to_owned(),
        expected,
        found: format!("{raw:?}"),
    };
    Ok(match default {
        Value::String(_) => Value::String(raw.to_owned()),
        Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| wrong("an integer"))?),
        Value::Float(_) => Value::Float(raw.trim().parse().map_err(|_| wrong("a number"))?),
        Value::Boolean(_) => {
            Value::Boolean(raw.trim().parse().map_err(|_| wrong("true or false"))?)
        }
        Value::Array(_) => {
            let doc: Map<String, Value> =
                toml::from_str(&format!("v = {raw}")).map_err(|_| wrong("an array"))?;
            match doc.get("v") {
                Some(v @ Value::Array(_)) => v.clone(),
                _ => return Err(wrong("an array")),
            }
        }
        Value::Table(_) | Value::Datetime(_) => return Err(wrong("a scalar")),
    })
}
