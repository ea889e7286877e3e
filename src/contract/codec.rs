//! Wire encoding: MessagePack with named fields by default, JSON on request.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The `Content-Type` header value that selects JSON.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// The `Content-Type` header value for MessagePack (also the default when absent).
pub const MSGPACK_CONTENT_TYPE: &str = "application/msgpack";

/// How a message body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// MessagePack with named fields (maps), so fields can be added compatibly.
    #[default]
    MessagePack,
    /// UTF-8 JSON.
    Json,
}

impl Encoding {
    /// Picks the encoding from a `Content-Type` header value; anything but JSON
    /// (including no header) is MessagePack, the documented default.
    pub fn from_content_type(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case(JSON_CONTENT_TYPE) => Self::Json,
            Some(v)
                if v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/json;") =>
            {
                Self::Json
            }
            _ => Self::MessagePack,
        }
    }

    /// The header value naming this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::MessagePack => MSGPACK_CONTENT_TYPE,
            Self::Json => JSON_CONTENT_TYPE,
        }
    }
}

/// A body that could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// MessagePack encoding failed.
    #[error("messagepack encode: {0}")]
    MsgpackEncode(#[from] rmp_serde::encode::Error),
    /// MessagePack decoding failed.
    #[error("messagepack decode: {0}")]
    MsgpackDecode(#[from] rmp_serde::decode::Error),
    /// JSON encoding or decoding failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Encodes a value.
pub fn encode<T: Serialize>(value: &T, encoding: Encoding) -> Result<Vec<u8>, CodecError> {
    Ok(match encoding {
        Encoding::MessagePack => rmp_serde::to_vec_named(value)?,
        Encoding::Json => serde_json::to_vec(value)?,
    })
}

/// [`decode`] into a type that borrows from `bytes` (its strings read in place where the
/// encoding allows it).
pub fn decode_borrowed<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    encoding: Encoding,
) -> Result<T, CodecError> {
    Ok(match encoding {
        Encoding::MessagePack => rmp_serde::from_slice(bytes)?,
        Encoding::Json => serde_json::from_slice(bytes)?,
    })
}

/// Decodes a value.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], encoding: Encoding) -> Result<T, CodecError> {
    Ok(match encoding {
        Encoding::MessagePack => rmp_serde::from_slice(bytes)?,
        Encoding::Json => serde_json::from_slice(bytes)?,
    })
}
