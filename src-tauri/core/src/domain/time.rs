//! [`Timestamp`]: a moment in UTC, as every domain type carries it.
//!
//! One shape everywhere it leaves the process: RFC 3339 in UTC with milliseconds (`2024-05-01T08:00:00.000Z`),
//! in `listen --json`, the history file and the UI's types. Times that come from servers in other offsets are
//! normalized when they are parsed.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A moment in UTC, to the millisecond.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ts_rs::TS)]
#[ts(type = "string")]
pub struct Timestamp(DateTime<Utc>);

/// Text that is not an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an RFC 3339 time (like 2024-05-01T08:00:00Z)")]
pub struct BadTime {
    /// What was given.
    pub value: String,
}

impl Timestamp {
    /// This moment.
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// Parses RFC 3339 in any offset.
    pub fn parse(text: &str) -> Result<Self, BadTime> {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|t| Self::from_datetime(t.with_timezone(&Utc)))
            .map_err(|_| BadTime {
                value: text.to_owned(),
            })
    }

    /// The time, cut to the millisecond (the stored precision, so a value survives a round trip unchanged).
    pub fn from_datetime(time: DateTime<Utc>) -> Self {
        let millis = time.timestamp_millis();
        Self(DateTime::from_timestamp_millis(millis).unwrap_or(time))
    }

    /// As a chrono time.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// RFC 3339, UTC, milliseconds.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// How long after `earlier` this is (negative when it is before).
    pub fn since(&self, earlier: Self) -> TimeDelta {
        self.0 - earlier.0
    }

    /// This moment plus `delta` (saturating at the representable range).
    #[must_use]
    pub fn plus(&self, delta: TimeDelta) -> Self {
        Self(self.0.checked_add_signed(delta).unwrap_or(self.0))
    }

    /// This moment minus `delta` (saturating at the representable range).
    #[must_use]
    pub fn minus(&self, delta: TimeDelta) -> Self {
        Self(self.0.checked_sub_signed(delta).unwrap_or(self.0))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl std::str::FromStr for Timestamp {
    type Err = BadTime;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl rusqlite::ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.to_rfc3339()))
    }
}

impl rusqlite::types::FromSql for Timestamp {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::parse(text).map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_offset_and_prints_utc_millis() {
        let t = Timestamp::parse("2024-05-01T10:00:00.123456+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T08:00:00.123Z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2024-05-01T08:00:00.123Z\""
        );
        let back: Timestamp = serde_json::from_str("\"2024-05-01T08:00:00.123Z\"").unwrap();
        assert_eq!(back, t);
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(serde_json::from_str::<Timestamp>("\"14:02\"").is_err());
    }

    #[test]
    fn now_survives_the_stored_round_trip() {
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse(&now.to_rfc3339()).unwrap(), now);
        let later = now.plus(TimeDelta::milliseconds(1500));
        assert_eq!(later.since(now).num_milliseconds(), 1500);
        assert_eq!(later.minus(TimeDelta::milliseconds(1500)), now);
    }
}
