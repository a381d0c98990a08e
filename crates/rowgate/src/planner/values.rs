//! Values between the three shapes they take: JSON (GraphQL and audit), SeaQuery values
//! (bind parameters) and database rows.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use sea_orm::sea_query::Value;
use sea_orm::{DbErr, QueryResult};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::catalog::{ColType, ColumnMeta};
use crate::error::{AppError, AppResult};
use crate::policy::eval::Row;

/// A typed NULL of the column's type.
pub fn null_of(ty: ColType) -> Value {
    match ty {
        ColType::Uuid => Value::Uuid(None),
        ColType::Text => Value::String(None),
        ColType::Bool => Value::Bool(None),
        ColType::SmallInt => Value::SmallInt(None),
        ColType::Int => Value::Int(None),
        ColType::BigInt => Value::BigInt(None),
        ColType::Json => Value::Json(None),
        ColType::Timestamp => Value::ChronoDateTimeWithTimeZone(None),
        ColType::Date => Value::ChronoDate(None),
        ColType::Float => Value::Double(None),
        ColType::Time => Value::ChronoTime(None),
    }
}

/// The text form of a time of day.
const TIME_FORMAT: &str = "%H:%M:%S";

/// Parses a time of day (`18:30`, `18:30:00`, `18:30:00.250`).
pub fn parse_time(text: &str) -> Option<chrono::NaiveTime> {
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveTime::parse_from_str(text, format).ok())
}

/// A time of day in its text form: seconds always, fractions only when there are some.
fn time_text(time: chrono::NaiveTime) -> String {
    use chrono::Timelike;
    if time.nanosecond() == 0 {
        time.format(TIME_FORMAT).to_string()
    } else {
        time.format("%H:%M:%S%.f").to_string()
    }
}

/// The text form of a date (ISO 8601 calendar date).
const DATE_FORMAT: &str = "%Y-%m-%d";

/// Parses a calendar date in its text form (`2027-06-12`).
pub fn parse_date(text: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, DATE_FORMAT).ok()
}

fn bad(column: &str, expected: &str) -> AppError {
    AppError::BadUserInput(format!("`{column}` must be {expected}"))
}

/// A GraphQL input value for `column` as the JSON the planner stores and compares: an
/// enumeration item (`MODERATOR`) becomes its stored text (`moderator`). Text containing a
/// NUL character, which neither database can store, is the client's mistake.
pub fn input_json(column: &ColumnMeta, value: &async_graphql::Value) -> AppResult<Json> {
    use async_graphql::Value as Gql;
    let field = crate::graphql::names::camel(column.name);
    let json = match (column.enum_values, value) {
        (Some(_), Gql::Enum(item)) => Json::String(item.as_str().to_ascii_lowercase()),
        (Some(_), Gql::String(item)) => Json::String(item.to_ascii_lowercase()),
        _ => value
            .clone()
            .into_json()
            .map_err(|_| AppError::BadUserInput(format!("bad value for `{field}`")))?,
    };
    if contains_nul(&json) {
        return Err(AppError::BadUserInput(format!(
            "`{field}` contains a NUL character (\\u0000), which cannot be stored or matched"
        )));
    }
    Ok(json)
}

/// Whether any string (or object key) inside `json` contains a NUL character.
pub(crate) fn contains_nul(json: &Json) -> bool {
    match json {
        Json::String(s) => s.contains('\0'),
        Json::Array(items) => items.iter().any(contains_nul),
        Json::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// Converts a JSON input value into a bind parameter of the column's type.
pub fn to_value(column: &ColumnMeta, json: &Json) -> AppResult<Value> {
    if json.is_null() {
        if !column.nullable {
            return Err(AppError::BadUserInput(format!(
                "`{}` cannot be null",
                column.name
            )));
        }
        return Ok(null_of(column.ty));
    }
    let name = column.name;
    Ok(match column.ty {
        ColType::Uuid => {
            let text = json.as_str().ok_or_else(|| bad(name, "a UUID"))?;
            Value::from(Uuid::parse_str(text).map_err(|_| bad(name, "a UUID"))?)
        }
        ColType::Text => Value::from(
            json.as_str()
                .ok_or_else(|| bad(name, "a string"))?
                .to_owned(),
        ),
        ColType::Bool => Value::from(json.as_bool().ok_or_else(|| bad(name, "a boolean"))?),
        ColType::SmallInt => {
            let n = json.as_i64().and_then(|n| i16::try_from(n).ok());
            Value::from(n.ok_or_else(|| bad(name, "a 16-bit integer"))?)
        }
        ColType::Int => {
            let n = json.as_i64().and_then(|n| i32::try_from(n).ok());
            Value::from(n.ok_or_else(|| bad(name, "a 32-bit integer"))?)
        }
        ColType::BigInt => Value::from(json.as_i64().ok_or_else(|| bad(name, "an integer"))?),
        ColType::Json => Value::Json(Some(Box::new(json.clone()))),
        ColType::Timestamp => {
            let text = json
                .as_str()
                .ok_or_else(|| bad(name, "an RFC 3339 date-time"))?;
            // Normalised to UTC: on SQLite timestamps are text, and text order is time
            // order only in one offset.
            Value::from(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|_| bad(name, "an RFC 3339 date-time"))?
                    .with_timezone(&chrono::Utc)
                    .fixed_offset(),
            )
        }
        ColType::Date => {
            let text = json
                .as_str()
                .ok_or_else(|| bad(name, "a date (YYYY-MM-DD)"))?;
            Value::from(parse_date(text).ok_or_else(|| bad(name, "a date (YYYY-MM-DD)"))?)
        }
        ColType::Float => {
            let n = json.as_f64().filter(|n| n.is_finite());
            Value::from(n.ok_or_else(|| bad(name, "a finite number"))?)
        }
        ColType::Time => {
            let text = json
                .as_str()
                .ok_or_else(|| bad(name, "a time of day (HH:MM:SS)"))?;
            Value::from(parse_time(text).ok_or_else(|| bad(name, "a time of day (HH:MM:SS)"))?)
        }
    })
}

/// The current time as a timestamp value (UTC, so text order is time order on SQLite).
pub fn now() -> DateTime<FixedOffset> {
    chrono::Utc::now().fixed_offset()
}

/// A timestamp as the JSON text clients see.
pub fn timestamp_json(t: DateTime<FixedOffset>) -> Json {
    Json::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Reads one column of a result row as JSON.
pub fn column_json(row: &QueryResult, alias: &str, ty: ColType) -> Result<Json, DbErr> {
    Ok(match ty {
        ColType::Uuid => row
            .try_get::<Option<Uuid>>("", alias)?
            .map_or(Json::Null, |u| Json::String(u.to_string())),
        ColType::Text => row
            .try_get::<Option<String>>("", alias)?
            .map_or(Json::Null, Json::String),
        ColType::Bool => row
            .try_get::<Option<bool>>("", alias)?
            .map_or(Json::Null, Json::Bool),
        ColType::SmallInt => row
            .try_get::<Option<i16>>("", alias)?
            .map_or(Json::Null, Json::from),
        ColType::Int => row
            .try_get::<Option<i32>>("", alias)?
            .map_or(Json::Null, Json::from),
        ColType::BigInt => row
            .try_get::<Option<i64>>("", alias)?
            .map_or(Json::Null, Json::from),
        ColType::Json => row
            .try_get::<Option<Json>>("", alias)?
            .unwrap_or(Json::Null),
        ColType::Timestamp => row
            .try_get::<Option<DateTime<FixedOffset>>>("", alias)?
            .map_or(Json::Null, timestamp_json),
        ColType::Date => row
            .try_get::<Option<chrono::NaiveDate>>("", alias)?
            .map_or(Json::Null, |d| {
                Json::String(d.format(DATE_FORMAT).to_string())
            }),
        // A stored NaN or infinity (PostgreSQL allows them) has no JSON number: its text.
        ColType::Time => row
            .try_get::<Option<chrono::NaiveTime>>("", alias)?
            .map_or(Json::Null, |t| Json::String(time_text(t))),
        ColType::Float => row
            .try_get::<Option<f64>>("", alias)?
            .map_or(Json::Null, |n| {
                serde_json::Number::from_f64(n)
                    .map_or_else(|| Json::String(n.to_string()), Json::Number)
            }),
    })
}

/// Reads the given columns of a result row into a [`Row`].
pub fn decode_row<'a>(
    row: &QueryResult,
    columns: impl IntoIterator<Item = &'a ColumnMeta>,
) -> Result<Row, DbErr> {
    let mut out = Row::new();
    for column in columns {
        out.insert(
            column.name.to_owned(),
            column_json(row, column.name, column.ty)?,
        );
    }
    Ok(out)
}

/// The bind parameters of a row's values, for the given columns (missing ones are NULL).
pub fn row_value(column: &ColumnMeta, row: &Row) -> AppResult<Value> {
    match row.get(column.name) {
        Some(json) if !json.is_null() => to_value(column, json),
        _ => Ok(null_of(column.ty)),
    }
}

/// Maps a database error of a write to the client's error: constraint violations are the
/// client's input (CONFLICT for uniqueness, BAD_USER_INPUT for references and checks); the
/// rest stays INTERNAL.
pub fn write_error(err: DbErr) -> AppError {
    use sea_orm::SqlErr;
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => {
            return AppError::Unique {
                columns: unique_columns(&err, &message),
            };
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            return AppError::BadUserInput("a referenced row does not exist".into());
        }
        _ => {}
    }
    if let DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) = &err
        && let sea_orm::sqlx::Error::Database(db) = e.as_ref()
    {
        let code = db.code().unwrap_or_default();
        // PostgreSQL check_violation / not_null_violation; SQLite SQLITE_CONSTRAINT_CHECK /
        // SQLITE_CONSTRAINT_NOTNULL.
        if matches!(code.as_ref(), "23514" | "23502" | "275" | "1299") {
            let constraint = db
                .constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| constraint_name(db.message()));
            return AppError::BadUserInput(format!(
                "the value violates a constraint ({constraint})"
            ));
        }
    }
    AppError::Database(err)
}

/// The columns of a violated uniqueness constraint: PostgreSQL's detail
/// (`Key (email)=(…) already exists.`), SQLite's message (`UNIQUE constraint failed:
/// profiles.email`). Empty when neither says.
fn unique_columns(err: &DbErr, message: &str) -> Vec<String> {
    let detail = match err {
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sea_orm::sqlx::Error::Database(db) => db
                .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail())
                .map(str::to_owned),
            _ => None,
        },
        _ => None,
    };
    let names = |list: &str| -> Vec<String> {
        list.split(',')
            .map(|c| {
                c.trim()
                    .rsplit('.')
                    .next()
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_owned()
            })
            .filter(|c| !c.is_empty())
            .collect()
    };
    if let Some(detail) = detail
        && let Some(rest) = detail.strip_prefix("Key (")
        && let Some((columns, _)) = rest.split_once(")=(")
    {
        return names(columns);
    }
    match message.split_once("UNIQUE constraint failed:") {
        Some((_, columns)) => names(columns),
        None => Vec::new(),
    }
}

/// The constraint a SQLite message names (`CHECK constraint failed: ck_posts_status`).
fn constraint_name(message: &str) -> String {
    message
        .rsplit(':')
        .next()
        .map(str::trim)
        .filter(|s| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
        .unwrap_or("check")
        .to_owned()
}
