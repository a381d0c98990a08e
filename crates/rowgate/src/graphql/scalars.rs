//! Custom scalars shared by every type (`UUID`, `DateTime`, `JSON`), and those only a schema
//! with a column of their type registers (`BigInt`, `Date`, `Time`, `Decimal`, `Base64`).

use async_graphql::Value;
use async_graphql::dynamic::{Scalar, SchemaBuilder};

/// Name of the UUID scalar.
pub const UUID: &str = "UUID";
/// Name of the date-time scalar (RFC 3339).
pub const DATE_TIME: &str = "DateTime";
/// Name of the 64-bit integer scalar.
pub const BIG_INT: &str = "BigInt";
/// Name of the JSON scalar.
pub const JSON: &str = "JSON";
/// Name of the calendar-date scalar (`YYYY-MM-DD`).
pub const DATE: &str = "Date";
/// Name of the time-of-day scalar (`HH:MM:SS`).
pub const TIME: &str = "Time";
/// Name of the exact decimal scalar (a string, `"12.50"`).
pub const DECIMAL: &str = "Decimal";
/// Name of the binary-data scalar (standard base64).
pub const BASE64: &str = "Base64";

/// Registers the scalars with their validators.
pub fn register(builder: SchemaBuilder) -> SchemaBuilder {
    builder
        .register(
            Scalar::new(UUID)
                .description("A UUID in its canonical text form.")
                .specified_by_url("https://www.rfc-editor.org/rfc/rfc9562")
                .validator(|v| matches!(v, Value::String(s) if uuid::Uuid::parse_str(s).is_ok())),
        )
        .register(
            Scalar::new(DATE_TIME)
                .description("A date and time with offset, RFC 3339.")
                .specified_by_url("https://www.rfc-editor.org/rfc/rfc3339")
                .validator(|v| matches!(v, Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok())),
        )
        .register(Scalar::new(JSON).description("Any JSON value."))
}

/// Registers `Date`, which only a schema with a date column uses.
pub fn register_date(builder: SchemaBuilder) -> SchemaBuilder {
    builder.register(
        Scalar::new(DATE)
            .description("A calendar date, YYYY-MM-DD (ISO 8601).")
            .specified_by_url("https://www.rfc-editor.org/rfc/rfc3339#section-5.6")
            .validator(|v| matches!(v, Value::String(s) if crate::planner::values::parse_date(s).is_some())),
    )
}

/// Registers `Time`, which only a schema with a time-of-day column uses.
pub fn register_time(builder: SchemaBuilder) -> SchemaBuilder {
    builder.register(
        Scalar::new(TIME)
            .description("A time of day without a time zone, HH:MM:SS (fractions of a second allowed).")
            .validator(|v| matches!(v, Value::String(s) if crate::planner::values::parse_time(s).is_some())),
    )
}

/// Registers `BigInt`, which only a schema with a 64-bit column uses.
pub fn register_big_int(builder: SchemaBuilder) -> SchemaBuilder {
    builder.register(
        Scalar::new(BIG_INT)
            .description("A 64-bit integer.")
            .validator(|v| matches!(v, Value::Number(n) if n.is_i64())),
    )
}

/// Registers `Decimal`, which only a schema with a numeric column uses.
pub fn register_decimal(builder: SchemaBuilder) -> SchemaBuilder {
    use crate::planner::values::parse_decimal;
    builder.register(
        Scalar::new(DECIMAL)
            .description("An exact decimal number, sent as a string in plain notation (\"12.50\", at most 28 significant digits) so that no client rounds it; a JSON number is also accepted as input.")
            .validator(|v| match v {
                Value::String(s) => parse_decimal(s).is_some(),
                Value::Number(n) => parse_decimal(&n.to_string()).is_some(),
                _ => false,
            }),
    )
}

/// Registers `Base64`, which only a schema with a binary column uses.
pub fn register_base64(builder: SchemaBuilder) -> SchemaBuilder {
    builder.register(
        Scalar::new(BASE64)
            .description("Binary data in standard base64 (RFC 4648 section 4, padded).")
            .specified_by_url("https://www.rfc-editor.org/rfc/rfc4648#section-4")
            .validator(|v| matches!(v, Value::String(s) if crate::planner::values::parse_base64(s).is_some())),
    )
}
