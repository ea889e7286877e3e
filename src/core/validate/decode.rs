//! Decoding a candle body under the validation limits: its size checked first, then decoded,
//! its names borrowed from the body on the hot path.

use super::ValidationSettings;
use crate::contract::codec::{self, Encoding};
use crate::contract::{CandleMessage, CandleView};
use crate::core::rejection::Rejection;
use crate::error::ErrorCode;

/// Decodes a candle body, refusing oversize and undecodable bytes.
pub fn decode_candle(
    bytes: &[u8],
    encoding: Encoding,
    settings: &ValidationSettings,
) -> Result<CandleMessage, Rejection> {
    check_size(bytes, settings)?;
    codec::decode(bytes, encoding)
        .map_err(|e| Rejection::new(ErrorCode::Undecodable, e.to_string()))
}

/// A decoded candle: its names borrowed from the body where the encoding allows it, owned
/// otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded<'a> {
    /// Read in place (MessagePack, or JSON without escapes in its strings).
    Borrowed(CandleView<'a>),
    /// Decoded into owned strings (a JSON string with escapes).
    Owned(CandleMessage),
}

impl Decoded<'_> {
    /// The candle, its names borrowed.
    pub fn view(&self) -> CandleView<'_> {
        match self {
            Self::Borrowed(view) => *view,
            Self::Owned(message) => message.view(),
        }
    }
}

/// [`decode_candle`] without copying the names out of the body when it can: the hot path's
/// decoder. Whatever the borrowed form cannot take is decoded by [`decode_candle`], so a body is
/// accepted, and refused with the same reason, exactly as there.
pub fn decode_candle_view<'a>(
    bytes: &'a [u8],
    encoding: Encoding,
    settings: &ValidationSettings,
) -> Result<Decoded<'a>, Rejection> {
    check_size(bytes, settings)?;
    match codec::decode_borrowed::<CandleView<'a>>(bytes, encoding) {
        Ok(view) => Ok(Decoded::Borrowed(view)),
        Err(_) => decode_candle(bytes, encoding, settings).map(Decoded::Owned),
    }
}

/// Refuses a body over `max_message_bytes` before decoding it.
fn check_size(bytes: &[u8], settings: &ValidationSettings) -> Result<(), Rejection> {
    if bytes.len() > settings.max_message_bytes {
        return Err(Rejection::new(
            ErrorCode::Oversize,
            format!(
                "{} bytes > limit {}",
                bytes.len(),
                settings.max_message_bytes
            ),
        ));
    }
    Ok(())
}
