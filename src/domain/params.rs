//! The parameters of one request as plain values: what Graph read from the query string and
//! the body, in arrival order. Reading them from the wire, and the errors that go with it,
//! belong to the Graph layer; the journal keeps them as they are.

use compact_str::CompactString;
use serde_json::Value;

/// Parameters of one request, in arrival order, names unique (the last value wins).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// Names are inline strings: every name Graph defines fits, so reading one allocates
    /// nothing.
    entries: Vec<(CompactString, ParamValue)>,
}

/// One parameter's value: text, as nearly every parameter is (kept inline up to 24 bytes, so
/// reading a PIN or `whatsapp` allocates nothing, and the journal later frees nothing), or
/// any other JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A string (from JSON, the query, a form or a multipart field).
    Text(CompactString),
    /// A number, boolean, `null`, object or array (JSON bodies only).
    Json(Value),
}

impl From<Value> for ParamValue {
    fn from(value: Value) -> Self {
        match value {
            Value::String(text) => Self::Text(text.into()),
            other => Self::Json(other),
        }
    }
}

impl ParamValue {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Text(text) => Value::String(text.to_string()),
            Self::Json(value) => value.clone(),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ParamValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};

        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ParamValue;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON value")
            }

            fn visit_str<E>(self, text: &str) -> Result<ParamValue, E> {
                Ok(ParamValue::Text(text.into()))
            }

            fn visit_string<E>(self, text: String) -> Result<ParamValue, E> {
                Ok(ParamValue::Text(text.into()))
            }

            fn visit_bool<E>(self, flag: bool) -> Result<ParamValue, E> {
                Ok(ParamValue::Json(Value::Bool(flag)))
            }

            fn visit_i64<E>(self, number: i64) -> Result<ParamValue, E> {
                Ok(ParamValue::Json(number.into()))
            }

            fn visit_u64<E>(self, number: u64) -> Result<ParamValue, E> {
                Ok(ParamValue::Json(number.into()))
            }

            fn visit_f64<E>(self, number: f64) -> Result<ParamValue, E> {
                Ok(ParamValue::Json(number.into()))
            }

            fn visit_unit<E>(self) -> Result<ParamValue, E> {
                Ok(ParamValue::Json(Value::Null))
            }

            fn visit_none<E>(self) -> Result<ParamValue, E> {
                Ok(ParamValue::Json(Value::Null))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<ParamValue, A::Error> {
                Ok(ParamValue::Json(serde::Deserialize::deserialize(
                    SeqAccessDeserializer::new(seq),
                )?))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ParamValue, A::Error> {
                Ok(ParamValue::Json(serde::Deserialize::deserialize(
                    MapAccessDeserializer::new(map),
                )?))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Params {
    /// No parameters yet, with room for `capacity`.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds or replaces a parameter.
    pub fn insert(&mut self, name: impl Into<CompactString>, value: impl Into<ParamValue>) {
        let name = name.into();
        let value = value.into();
        match self
            .entries
            .iter_mut()
            .find(|(existing, _)| *existing == name)
        {
            Some(slot) => slot.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// Removes and returns a parameter.
    pub fn remove(&mut self, name: &str) -> Option<ParamValue> {
        let index = self
            .entries
            .iter()
            .position(|(existing, _)| existing == name)?;
        Some(self.entries.remove(index).1)
    }

    /// The raw value of a parameter.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.entries
            .iter()
            .find(|(existing, _)| existing == name)
            .map(|(_, value)| value)
    }

    /// All parameters in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.entries
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }
}

impl IntoIterator for Params {
    type Item = (CompactString, ParamValue);
    type IntoIter = std::vec::IntoIter<(CompactString, ParamValue)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}
