//! Values between the three shapes they take: JSON (GraphQL and audit), SeaQuery values
//! (bind parameters) and database rows.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use sea_orm::prelude::Decimal;
use sea_orm::sea_query::{ArrayType, Value};
use sea_orm::{DbBackend, DbErr, QueryResult};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::catalog::{ColType, ColumnMeta};
use crate::error::{AppError, AppResult};
use crate::policy::eval::Row;

/// A typed NULL of the column's type on `db`.
pub fn null_of(ty: ColType, db: DbBackend) -> Value {
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
        ColType::Decimal(_) if db == DbBackend::Sqlite => Value::Double(None),
        ColType::Decimal(_) => Value::Decimal(None),
        ColType::Binary => Value::Bytes(None),
        ColType::Array(_) if db == DbBackend::Sqlite => Value::String(None),
        ColType::Array(element) => Value::Array(array_type(*element), None),
        ColType::Enum(type_name) => {
            Value::Enum(sea_orm::sea_query::OptionEnum::None(type_name.into()))
        }
    }
}

/// The SeaQuery array type of an element type of [`crate::catalog::ARRAY_ELEMENTS`].
fn array_type(element: ColType) -> ArrayType {
    match element {
        ColType::SmallInt => ArrayType::SmallInt,
        ColType::Int => ArrayType::Int,
        ColType::BigInt => ArrayType::BigInt,
        ColType::Uuid => ArrayType::Uuid,
        ColType::Bool => ArrayType::Bool,
        _ => ArrayType::String,
    }
}

/// Most significant digits a decimal keeps on SQLite, which stores it as a REAL (IEEE 754
/// double: any decimal of 15 significant digits survives the round trip exactly).
pub const SQLITE_DECIMAL_DIGITS: u32 = 15;

/// Parses a decimal number in plain notation (`12.50`, `-3`, `0.001`): digits with an
/// optional sign and fraction, no exponent, at most 28 significant digits (what an exact
/// decimal holds). `None` for anything else.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    Decimal::from_str_exact(text).ok()
}

/// A decimal from its JSON form: a string in plain notation, or (for convenience) a JSON
/// number, taken as its shortest decimal form.
fn decimal_of(json: &Json) -> Option<Decimal> {
    match json {
        Json::String(text) => parse_decimal(text),
        Json::Number(n) => parse_decimal(&n.to_string()),
        _ => None,
    }
}

/// How many digits a decimal's value needs (trailing fractional zeros aside).
fn significant_digits(value: Decimal) -> u32 {
    let mut mantissa = value.normalize().mantissa().unsigned_abs();
    let mut digits = 1;
    while mantissa >= 10 {
        mantissa /= 10;
        digits += 1;
    }
    digits
}

/// A decimal in its text form: with the column's declared scale when it has one, else
/// without trailing fractional zeros, so that both databases give the same text.
fn decimal_text(value: Decimal, precision: Option<(u32, u32)>) -> String {
    let mut value = if value.is_zero() {
        Decimal::ZERO
    } else {
        value
    };
    match precision {
        Some((_, scale)) => value.rescale(scale),
        None => value = value.normalize(),
    }
    value.to_string()
}

/// Parses standard base64 (RFC 4648, with padding), the form of binary columns outside.
pub fn parse_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text).ok()
}

/// The stored value of a native enumeration's GraphQL item (`HIGH` → `high`), if the
/// column has it.
pub(crate) fn native_enum_value(column: &ColumnMeta, item: &str) -> Option<&'static str> {
    column
        .enum_values?
        .iter()
        .find(|value| crate::graphql::names::enum_item(value) == item)
        .copied()
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

/// Whether any string (or object key) inside `json` contains a NUL character.
pub(crate) fn contains_nul(json: &Json) -> bool {
    match json {
        Json::String(s) => s.contains('\0'),
        Json::Array(items) => items.iter().any(contains_nul),
        Json::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// Converts a JSON input value into a bind parameter of the column's type on `db`.
pub fn to_value(column: &ColumnMeta, json: &Json, db: DbBackend) -> AppResult<Value> {
    if json.is_null() {
        if !column.nullable {
            return Err(AppError::BadUserInput(format!(
                "`{}` cannot be null",
                column.name
            )));
        }
        return Ok(null_of(column.ty, db));
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
        ColType::Decimal(_) => {
            let value = decimal_of(json).ok_or_else(|| {
                bad(
                    name,
                    "a decimal number in plain notation (\"12.50\"), at most 28 significant digits",
                )
            })?;
            if db == DbBackend::Sqlite {
                if significant_digits(value) > SQLITE_DECIMAL_DIGITS {
                    return Err(bad(
                        name,
                        "a decimal of at most 15 significant digits on SQLite, which stores it as a REAL",
                    ));
                }
                // Correctly rounded: the nearest double, which reads back as the same text.
                let double = value
                    .to_string()
                    .parse::<f64>()
                    .map_err(|_| bad(name, "a decimal number"))?;
                Value::Double(Some(double))
            } else {
                Value::Decimal(Some(value))
            }
        }
        ColType::Binary => {
            let bytes = json
                .as_str()
                .and_then(parse_base64)
                .ok_or_else(|| bad(name, "binary data in standard base64"))?;
            Value::Bytes(Some(bytes))
        }
        ColType::Array(element) => {
            let items = array_elements(column, json)?;
            if db == DbBackend::Sqlite {
                Value::String(Some(Json::Array(items).to_string()))
            } else {
                let element_column = element_of(column, *element);
                let values = items
                    .iter()
                    .map(|item| to_value(&element_column, item, db))
                    .collect::<AppResult<Vec<_>>>()?;
                Value::Array(array_type(*element), Some(Box::new(values)))
            }
        }
        ColType::Enum(type_name) => {
            let text = json
                .as_str()
                .filter(|text| {
                    column
                        .enum_values
                        .is_some_and(|values| values.contains(text))
                })
                .ok_or_else(|| bad(name, "one of the enumeration's values"))?;
            Value::Enum(sea_orm::sea_query::OptionEnum::Some(Box::new(
                sea_orm::sea_query::Enum {
                    type_name: type_name.into(),
                    value: text.to_owned().into(),
                },
            )))
        }
    })
}

/// The column of one element of array column `column`.
fn element_of(column: &ColumnMeta, element: ColType) -> ColumnMeta {
    ColumnMeta {
        name: column.name,
        ty: element,
        nullable: false,
        enum_values: None,
        has_default: false,
    }
}

/// The elements of a value of array column `column`, each checked against the element type
/// and in its canonical JSON form (UUIDs in lower case): what SQLite stores and what
/// filters compare. A single value is a list of one, as GraphQL coerces it.
pub(crate) fn array_elements(column: &ColumnMeta, json: &Json) -> AppResult<Vec<Json>> {
    let ColType::Array(element) = column.ty else {
        return Err(AppError::Internal(format!(
            "{} is not an array",
            column.name
        )));
    };
    let element_column = element_of(column, *element);
    let items = match json {
        Json::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    items
        .iter()
        .map(|item| {
            if item.is_null() {
                return Err(bad(column.name, "a list without null elements"));
            }
            // The element's own checks (range, UUID syntax) on the database-neutral form.
            to_value(&element_column, item, DbBackend::Postgres)?;
            Ok(match (element, item) {
                (ColType::Uuid, Json::String(text)) => Uuid::parse_str(text)
                    .map(|u| Json::String(u.to_string()))
                    .map_err(|_| bad(column.name, "a list of UUIDs"))?,
                _ => item.clone(),
            })
        })
        .collect()
}

/// What a written value must fit beyond its type: a decimal its column's declared precision
/// and scale (PostgreSQL would round the fraction and refuse the overflow; both databases
/// refuse both alike).
pub fn check_fits(column: &ColumnMeta, json: &Json) -> AppResult<()> {
    let ColType::Decimal(Some((precision, scale))) = column.ty else {
        return Ok(());
    };
    let Some(value) = decimal_of(json) else {
        return Ok(());
    };
    let value = value.normalize();
    if value.scale() > scale {
        return Err(bad(
            column.name,
            &format!("a decimal with at most {scale} digits after the point"),
        ));
    }
    let whole = precision.saturating_sub(scale);
    let whole_digits = if value.trunc().is_zero() {
        0
    } else {
        significant_digits(value.trunc())
    };
    if whole_digits > whole {
        return Err(bad(
            column.name,
            &format!("a decimal with at most {whole} digits before the point"),
        ));
    }
    Ok(())
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
    let postgres = row.try_as_pg_row();
    Ok(match ty {
        ColType::Uuid => row
            .try_get::<Option<Uuid>>("", alias)?
            .map_or(Json::Null, |u| {
                Json::String(
                    u.hyphenated()
                        .encode_lower(&mut Uuid::encode_buffer())
                        .to_owned(),
                )
            }),
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
        ColType::Decimal(precision) => {
            let value = match (postgres, row.try_as_sqlite_row()) {
                (Some(_), _) => row.try_get::<Option<Decimal>>("", alias)?,
                // A REAL (an INTEGER in a NUMERIC column): its shortest text is the decimal
                // that was written, up to SQLITE_DECIMAL_DIGITS digits.
                (None, Some(sqlite)) => {
                    sea_orm::sqlx::Row::try_get_unchecked::<Option<f64>, _>(sqlite, alias)
                        .map_err(|e| DbErr::Type(e.to_string()))?
                        .map(|n| {
                            parse_decimal(&n.to_string()).ok_or_else(|| {
                                DbErr::Type(format!(
                                    "{alias}: {n} is not a decimal rowgate can serve"
                                ))
                            })
                        })
                        .transpose()?
                }
                (None, None) => row.try_get::<Option<Decimal>>("", alias)?,
            };
            value.map_or(Json::Null, |d| Json::String(decimal_text(d, precision)))
        }
        ColType::Binary => row
            .try_get::<Option<Vec<u8>>>("", alias)?
            .map_or(Json::Null, |bytes| Json::String(BASE64.encode(bytes))),
        ColType::Array(element) => match postgres {
            Some(pg) => pg_array_json(pg, alias, *element)?,
            None => match row.try_get::<Option<String>>("", alias)? {
                None => Json::Null,
                Some(text) => match serde_json::from_str::<Json>(&text) {
                    Ok(list @ Json::Array(_)) => list,
                    _ => {
                        return Err(DbErr::Type(format!(
                            "{alias}: the stored value is not a JSON array"
                        )));
                    }
                },
            },
        },
        // PostgreSQL sends an enumeration's label as text; sqlx checks the column's type
        // against TEXT, which a named enum type is not.
        ColType::Enum(_) => match postgres {
            Some(pg) => sea_orm::sqlx::Row::try_get_unchecked::<Option<String>, _>(pg, alias)
                .map_err(|e| DbErr::Type(e.to_string()))?
                .map_or(Json::Null, Json::String),
            None => row
                .try_get::<Option<String>>("", alias)?
                .map_or(Json::Null, Json::String),
        },
    })
}

/// A PostgreSQL array column as a JSON list (a NULL element as `null`).
fn pg_array_json(
    row: &sea_orm::sqlx::postgres::PgRow,
    alias: &str,
    element: ColType,
) -> Result<Json, DbErr> {
    fn list<T>(
        row: &sea_orm::sqlx::postgres::PgRow,
        alias: &str,
        to_json: impl Fn(T) -> Json,
    ) -> Result<Json, DbErr>
    where
        T: for<'r> sea_orm::sqlx::Decode<'r, sea_orm::sqlx::Postgres>
            + sea_orm::sqlx::Type<sea_orm::sqlx::Postgres>,
        Vec<Option<T>>: for<'r> sea_orm::sqlx::Decode<'r, sea_orm::sqlx::Postgres>
            + sea_orm::sqlx::Type<sea_orm::sqlx::Postgres>,
    {
        let items = sea_orm::sqlx::Row::try_get::<Option<Vec<Option<T>>>, _>(row, alias)
            .map_err(|e| DbErr::Type(e.to_string()))?;
        Ok(items.map_or(Json::Null, |items| {
            Json::Array(
                items
                    .into_iter()
                    .map(|item| item.map_or(Json::Null, &to_json))
                    .collect(),
            )
        }))
    }
    match element {
        ColType::SmallInt => list::<i16>(row, alias, Json::from),
        ColType::Int => list::<i32>(row, alias, Json::from),
        ColType::BigInt => list::<i64>(row, alias, Json::from),
        ColType::Uuid => list::<Uuid>(row, alias, |u| Json::String(u.to_string())),
        ColType::Bool => list::<bool>(row, alias, Json::Bool),
        _ => list::<String>(row, alias, Json::String),
    }
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
pub fn row_value(column: &ColumnMeta, row: &Row, db: DbBackend) -> AppResult<Value> {
    match row.get(column.name) {
        Some(json) if !json.is_null() => to_value(column, json, db),
        _ => Ok(null_of(column.ty, db)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn column(ty: ColType) -> ColumnMeta {
        ColumnMeta {
            name: "c",
            ty,
            nullable: true,
            enum_values: None,
            has_default: false,
        }
    }

    const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];

    fn priority() -> ColumnMeta {
        ColumnMeta {
            enum_values: Some(PRIORITIES),
            ..column(ColType::Enum("task_priority"))
        }
    }

    #[test]
    fn decimals_are_plain_notation_strings_or_numbers_and_never_rounded() {
        for text in ["12.50", "-3", "0.001", "1234567890123456789012345678"] {
            assert!(parse_decimal(text).is_some(), "{text}");
        }
        for text in ["", "1e3", "12.", ".5", "+1", "1,5", "NaN", "12.5.1", "- 1"] {
            assert!(parse_decimal(text).is_none(), "{text}");
        }
        // Past what an exact decimal holds: refused, not rounded.
        assert!(parse_decimal("0.12345678901234567890123456789").is_none());
        assert!(parse_decimal("99999999999999999999999999999").is_none());
        assert_eq!(decimal_of(&Json::from(12.5)), parse_decimal("12.5"));
        assert_eq!(decimal_of(&Json::from(7)), parse_decimal("7"));
        assert_eq!(decimal_of(&Json::Bool(true)), None);
    }

    #[test]
    fn a_decimal_reads_back_with_its_declared_scale_or_without_trailing_zeros() {
        let d = |text| parse_decimal(text).expect("decimal");
        assert_eq!(decimal_text(d("12.5"), Some((12, 2))), "12.50");
        assert_eq!(decimal_text(d("7"), Some((12, 2))), "7.00");
        assert_eq!(decimal_text(d("-0.00"), Some((12, 2))), "0.00");
        assert_eq!(decimal_text(d("12.500"), None), "12.5");
        assert_eq!(decimal_text(d("100"), None), "100");
        // SQLite's REAL of a 15-digit decimal reads back as that decimal.
        let written = d("1234567890123.45");
        let stored: f64 = written.to_string().parse().expect("double");
        assert_eq!(parse_decimal(&stored.to_string()), Some(written));
    }

    #[test]
    fn a_decimal_written_must_fit_the_declared_precision_and_scale() {
        let budget = column(ColType::Decimal(Some((12, 2))));
        for ok in ["9999999999.99", "-1", "0.5", "12.50", "12.500"] {
            assert!(check_fits(&budget, &Json::from(ok)).is_ok(), "{ok}");
        }
        for too_much in ["10000000000", "0.125", "-12345678901.5"] {
            let err = check_fits(&budget, &Json::from(too_much)).expect_err(too_much);
            assert!(
                matches!(err, AppError::BadUserInput(_)),
                "{too_much}: {err:?}"
            );
        }
        assert!(check_fits(&column(ColType::Decimal(None)), &Json::from("0.125")).is_ok());
    }

    #[test]
    fn sqlite_refuses_a_decimal_it_would_store_inexactly() {
        let amount = column(ColType::Decimal(None));
        let sixteen = Json::from("1234567890123.456");
        assert!(matches!(
            to_value(&amount, &sixteen, DbBackend::Sqlite),
            Err(AppError::BadUserInput(_))
        ));
        assert!(matches!(
            to_value(&amount, &sixteen, DbBackend::Postgres),
            Ok(Value::Decimal(Some(_)))
        ));
        assert_eq!(
            to_value(&amount, &Json::from("12.25"), DbBackend::Sqlite).expect("fits"),
            Value::Double(Some(12.25))
        );
        assert!(matches!(
            to_value(&amount, &Json::from("twelve"), DbBackend::Postgres),
            Err(AppError::BadUserInput(_))
        ));
    }

    #[test]
    fn binary_data_is_standard_base64() {
        let data = column(ColType::Binary);
        assert_eq!(
            to_value(&data, &Json::from("AAEC/w=="), DbBackend::Sqlite).expect("base64"),
            Value::Bytes(Some(vec![0, 1, 2, 255]))
        );
        for bad_input in [
            Json::from("AAEC_w"),
            Json::from("not base64!"),
            Json::from(5),
        ] {
            assert!(
                matches!(
                    to_value(&data, &bad_input, DbBackend::Postgres),
                    Err(AppError::BadUserInput(_))
                ),
                "{bad_input}"
            );
        }
    }

    #[test]
    fn array_elements_are_checked_and_canonical_and_sqlite_keeps_them_as_json() {
        let watchers = column(ColType::Array(&ColType::Uuid));
        let upper = "7A5C0000-0000-4000-8000-000000000001";
        let elements = array_elements(&watchers, &serde_json::json!([upper])).expect("uuids");
        assert_eq!(elements, [Json::from(upper.to_ascii_lowercase())]);
        assert_eq!(
            to_value(&watchers, &serde_json::json!([upper]), DbBackend::Sqlite).expect("json"),
            Value::String(Some(format!("[\"{}\"]", upper.to_ascii_lowercase())))
        );
        assert!(matches!(
            to_value(&watchers, &serde_json::json!([upper]), DbBackend::Postgres),
            Ok(Value::Array(ArrayType::Uuid, Some(_)))
        ));
        assert_eq!(
            null_of(watchers.ty, DbBackend::Sqlite),
            Value::String(None),
            "no array value ever reaches SQLite"
        );
        let sprints = column(ColType::Array(&ColType::Int));
        for wrong in [
            serde_json::json!(["one"]),
            serde_json::json!([1, null]),
            serde_json::json!([4_294_967_296_i64]),
        ] {
            assert!(
                matches!(
                    to_value(&sprints, &wrong, DbBackend::Postgres),
                    Err(AppError::BadUserInput(_))
                ),
                "{wrong}"
            );
        }
        // GraphQL's coercion of a single value into a list.
        assert_eq!(
            array_elements(&sprints, &Json::from(3)).expect("one"),
            [Json::from(3)]
        );
    }

    #[test]
    fn a_native_enum_item_is_its_declared_value_and_nothing_else() {
        let item = |name: &str| async_graphql::Value::Enum(async_graphql::Name::new(name));
        assert_eq!(
            crate::graphql::args::input_json(&priority(), &item("HIGH")).expect("item"),
            Json::from("high")
        );
        assert_eq!(
            crate::graphql::args::input_json(&priority(), &async_graphql::Value::from("URGENT"))
                .expect("string"),
            Json::from("urgent")
        );
        assert!(matches!(
            crate::graphql::args::input_json(&priority(), &item("SOMEDAY")),
            Err(AppError::BadUserInput(_))
        ));
        assert!(matches!(
            to_value(&priority(), &Json::from("someday"), DbBackend::Postgres),
            Err(AppError::BadUserInput(_))
        ));
        // Bound with the type's name, which PostgreSQL casts to (`$1::"task_priority"`).
        assert!(matches!(
            to_value(&priority(), &Json::from("low"), DbBackend::Postgres),
            Ok(Value::Enum(sea_orm::sea_query::OptionEnum::Some(e)))
                if e.value == "low" && &*e.type_name == "task_priority"
        ));
    }
}
