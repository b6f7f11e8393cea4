//! SETTINGS frames (RFC 9113 §6.5).

use super::{
    flags, require_connection, FrameHeader, FrameType, DEFAULT_MAX_FRAME_SIZE,
    MAX_ALLOWED_FRAME_SIZE, MAX_WINDOW_SIZE,
};
use crate::error::{ErrorCode, FrameError};

/// Initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).
pub const DEFAULT_HEADER_TABLE_SIZE: u32 = 4096;
/// Initial SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.5.2).
pub const DEFAULT_INITIAL_WINDOW_SIZE: u32 = 65_535;

/// A setting identifier (RFC 9113 §6.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettingId {
    /// SETTINGS_HEADER_TABLE_SIZE (0x1).
    HeaderTableSize,
    /// SETTINGS_ENABLE_PUSH (0x2).
    EnablePush,
    /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
    MaxConcurrentStreams,
    /// SETTINGS_INITIAL_WINDOW_SIZE (0x4).
    InitialWindowSize,
    /// SETTINGS_MAX_FRAME_SIZE (0x5).
    MaxFrameSize,
    /// SETTINGS_MAX_HEADER_LIST_SIZE (0x6).
    MaxHeaderListSize,
    /// Anything else; ignored on receipt (§6.5.2).
    Unknown(u16),
}

impl SettingId {
    /// Converts the 16-bit identifier.
    pub const fn from_u16(v: u16) -> SettingId {
        match v {
            1 => SettingId::HeaderTableSize,
            2 => SettingId::EnablePush,
            3 => SettingId::MaxConcurrentStreams,
            4 => SettingId::InitialWindowSize,
            5 => SettingId::MaxFrameSize,
            6 => SettingId::MaxHeaderListSize,
            other => SettingId::Unknown(other),
        }
    }

    /// The 16-bit identifier.
    pub const fn as_u16(self) -> u16 {
        match self {
            SettingId::HeaderTableSize => 1,
            SettingId::EnablePush => 2,
            SettingId::MaxConcurrentStreams => 3,
            SettingId::InitialWindowSize => 4,
            SettingId::MaxFrameSize => 5,
            SettingId::MaxHeaderListSize => 6,
            SettingId::Unknown(v) => v,
        }
    }
}

/// The settings carried by one SETTINGS frame. `None` means "not present
/// in this frame" (the previous value stays in force). When a frame names
/// a setting twice, the last value wins, as processing in order would give.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Settings {
    /// SETTINGS_HEADER_TABLE_SIZE.
    pub header_table_size: Option<u32>,
    /// SETTINGS_ENABLE_PUSH (validated to be 0 or 1).
    pub enable_push: Option<bool>,
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    pub max_concurrent_streams: Option<u32>,
    /// SETTINGS_INITIAL_WINDOW_SIZE (validated to be at most 2^31-1).
    pub initial_window_size: Option<u32>,
    /// SETTINGS_MAX_FRAME_SIZE (validated to be within 2^14..=2^24-1).
    pub max_frame_size: Option<u32>,
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    pub max_header_list_size: Option<u32>,
}

impl Settings {
    /// Applies one identifier/value pair, validating it.
    ///
    /// Errors (all connection errors): ENABLE_PUSH other than 0/1 ->
    /// PROTOCOL_ERROR; INITIAL_WINDOW_SIZE above 2^31-1 ->
    /// FLOW_CONTROL_ERROR; MAX_FRAME_SIZE outside 16384..=16777215 ->
    /// PROTOCOL_ERROR. Unknown identifiers are ignored.
    pub fn set(&mut self, id: SettingId, value: u32) -> Result<(), FrameError> {
        match id {
            SettingId::HeaderTableSize => self.header_table_size = Some(value),
            SettingId::EnablePush => {
                self.enable_push = Some(match value {
                    0 => false,
                    1 => true,
                    _ => {
                        return Err(FrameError::connection(
                            ErrorCode::ProtocolError,
                            "RFC 9113 §6.5.2: SETTINGS_ENABLE_PUSH must be 0 or 1",
                        ))
                    }
                })
            }
            SettingId::MaxConcurrentStreams => self.max_concurrent_streams = Some(value),
            SettingId::InitialWindowSize => {
                if value > MAX_WINDOW_SIZE {
                    return Err(FrameError::connection(
                        ErrorCode::FlowControlError,
                        "RFC 9113 §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                    ));
                }
                self.initial_window_size = Some(value);
            }
            SettingId::MaxFrameSize => {
                if !(DEFAULT_MAX_FRAME_SIZE..=MAX_ALLOWED_FRAME_SIZE).contains(&value) {
                    return Err(FrameError::connection(
                        ErrorCode::ProtocolError,
                        "RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE outside 16384..=16777215",
                    ));
                }
                self.max_frame_size = Some(value);
            }
            SettingId::MaxHeaderListSize => self.max_header_list_size = Some(value),
            SettingId::Unknown(_) => {}
        }
        Ok(())
    }

    /// The present settings as (id, value) pairs, in identifier order.
    pub fn pairs(&self) -> impl Iterator<Item = (SettingId, u32)> {
        [
            (SettingId::HeaderTableSize, self.header_table_size),
            (SettingId::EnablePush, self.enable_push.map(u32::from)),
            (SettingId::MaxConcurrentStreams, self.max_concurrent_streams),
            (SettingId::InitialWindowSize, self.initial_window_size),
            (SettingId::MaxFrameSize, self.max_frame_size),
            (SettingId::MaxHeaderListSize, self.max_header_list_size),
        ]
        .into_iter()
        .filter_map(|(id, v)| v.map(|v| (id, v)))
    }
}

/// A parsed SETTINGS frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingsFrame {
    /// ACK flag (then `settings` is empty).
    pub ack: bool,
    /// The validated settings.
    pub settings: Settings,
}

impl SettingsFrame {
    /// Parses a SETTINGS payload.
    ///
    /// Errors: non-zero stream -> connection PROTOCOL_ERROR; ACK with a
    /// payload -> connection FRAME_SIZE_ERROR; length not a multiple of 6
    /// -> connection FRAME_SIZE_ERROR; invalid values, see
    /// [`Settings::set`].
    pub fn parse(header: &FrameHeader, payload: &[u8]) -> Result<Self, FrameError> {
        require_connection(
            header,
            "RFC 9113 §6.5: SETTINGS frames MUST NOT be associated with a stream",
        )?;
        let ack = header.flags & flags::ACK != 0;
        if ack && !payload.is_empty() {
            return Err(FrameError::connection(
                ErrorCode::FrameSizeError,
                "RFC 9113 §6.5: SETTINGS frame with ACK must have an empty payload",
            ));
        }
        if payload.len() % 6 != 0 {
            return Err(FrameError::connection(
                ErrorCode::FrameSizeError,
                "RFC 9113 §6.5: SETTINGS frame length must be a multiple of 6",
            ));
        }
        let mut settings = Settings::default();
        for s in payload.chunks_exact(6) {
            let id = SettingId::from_u16(u16::from_be_bytes([s[0], s[1]]));
            settings.set(id, u32::from_be_bytes([s[2], s[3], s[4], s[5]]))?;
        }
        Ok(SettingsFrame { ack, settings })
    }
}

/// Appends a SETTINGS frame with the present settings (in identifier
/// order). Values are written as given: validate your own settings.
pub fn encode_settings(settings: &Settings, dst: &mut Vec<u8>) {
    let n = settings.pairs().count() as u32;
    FrameHeader::new(FrameType::Settings, 0, 0, n * 6).encode(dst);
    for (id, v) in settings.pairs() {
        dst.extend_from_slice(&id.as_u16().to_be_bytes());
        dst.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends an empty SETTINGS frame with the ACK flag.
pub fn encode_settings_ack(dst: &mut Vec<u8>) {
    FrameHeader::new(FrameType::Settings, flags::ACK, 0, 0).encode(dst);
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Frame;
    use super::*;

    fn settings(f: Frame<'_>) -> SettingsFrame {
        match f {
            Frame::Settings(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn one(id: u16, v: u32) -> Vec<u8> {
        let mut p = id.to_be_bytes().to_vec();
        p.extend_from_slice(&v.to_be_bytes());
        raw(4, 0, 0, &p)
    }

    #[test]
    fn round_trip_exact_bytes() {
        let s = Settings {
            header_table_size: Some(0),
            enable_push: Some(false),
            max_concurrent_streams: Some(100),
            initial_window_size: Some(MAX_WINDOW_SIZE),
            max_frame_size: Some(MAX_ALLOWED_FRAME_SIZE),
            max_header_list_size: Some(8192),
        };
        let mut v = Vec::new();
        encode_settings(&s, &mut v);
        assert_eq!(v.len(), 9 + 36);
        assert_eq!(&v[..15], [0, 0, 36, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        let f = settings(decode_one(&v).unwrap());
        assert!(!f.ack);
        assert_eq!(f.settings, s);

        let mut a = Vec::new();
        encode_settings_ack(&mut a);
        assert_eq!(a, [0, 0, 0, 4, 1, 0, 0, 0, 0]);
        assert!(settings(decode_one(&a).unwrap()).ack);

        let mut e = Vec::new();
        encode_settings(&Settings::default(), &mut e);
        assert_eq!(e, [0, 0, 0, 4, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn unknown_ids_ignored_and_last_value_wins() {
        let mut p = Vec::new();
        for (id, v) in [(0x99u16, 7u32), (3, 10), (3, 20), (0, 1)] {
            p.extend_from_slice(&id.to_be_bytes());
            p.extend_from_slice(&v.to_be_bytes());
        }
        let f = settings(decode_one(&raw(4, 0xfe, 0, &p)).unwrap());
        assert_eq!(
            f.settings,
            Settings {
                max_concurrent_streams: Some(20),
                ..Settings::default()
            }
        );
        assert!(!f.ack, "flag 0xfe has no ACK bit");
    }

    #[test]
    fn boundary_values_accepted() {
        assert_eq!(
            settings(decode_one(&one(5, 16_384)).unwrap())
                .settings
                .max_frame_size,
            Some(16_384)
        );
        assert_eq!(
            settings(decode_one(&one(5, 16_777_215)).unwrap())
                .settings
                .max_frame_size,
            Some(16_777_215)
        );
        assert_eq!(
            settings(decode_one(&one(2, 1)).unwrap())
                .settings
                .enable_push,
            Some(true)
        );
        assert_eq!(
            settings(decode_one(&one(4, 0x7fff_ffff)).unwrap())
                .settings
                .initial_window_size,
            Some(0x7fff_ffff)
        );
    }

    #[test]
    fn errors() {
        assert_conn_err(decode_one(&raw(4, 0, 1, &[])), ErrorCode::ProtocolError);
        assert_conn_err(
            decode_one(&raw(4, 1, 0, &[0, 3, 0, 0, 0, 1])),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(
            decode_one(&raw(4, 0, 0, &[0, 3, 0, 0, 0])),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(
            decode_one(&raw(4, 0, 0, &[0; 7])),
            ErrorCode::FrameSizeError,
        );
        assert_conn_err(decode_one(&one(2, 2)), ErrorCode::ProtocolError);
        assert_conn_err(
            decode_one(&one(4, 0x8000_0000)),
            ErrorCode::FlowControlError,
        );
        assert_conn_err(decode_one(&one(5, 16_383)), ErrorCode::ProtocolError);
        assert_conn_err(decode_one(&one(5, 16_777_216)), ErrorCode::ProtocolError);
    }

    #[test]
    fn setting_id_round_trip() {
        for v in 0..=20u16 {
            assert_eq!(SettingId::from_u16(v).as_u16(), v);
        }
    }
}
