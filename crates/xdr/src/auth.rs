use crate::codec::{XdrError, XdrReader, XdrWriter};
use bytes::Bytes;

/// RFC 5531 caps every credential and verifier body at 400 bytes.
pub const MAX_AUTH_BYTES: usize = 400;
/// RFC 5531 section 14: `string machinename<255>`.
pub const MAX_MACHINE_NAME: usize = 255;
/// RFC 5531 section 14: `unsigned int gids<16>`.
pub const MAX_SUPPLEMENTARY_GIDS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum AuthFlavor {
    None = 0,
    Sys = 1,
}

/// The body of an AUTH_SYS credential.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSys {
    pub stamp: u32,
    pub machine_name: Bytes,
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
}

impl AuthSys {
    /// Parses a credential body; the whole body must be consumed.
    pub fn decode(body: Bytes) -> Result<Self, XdrError> {
        let mut r = XdrReader::new(body);
        let out = Self {
            stamp: r.u32()?,
            machine_name: r.opaque(MAX_MACHINE_NAME)?,
            uid: r.u32()?,
            gid: r.u32()?,
            gids: r.array(MAX_SUPPLEMENTARY_GIDS)?,
        };
        r.finish()?;
        Ok(out)
    }

    pub fn encode(&self) -> Bytes {
        let mut w = XdrWriter::new();
        w.u32(self.stamp);
        w.opaque(&self.machine_name);
        w.u32(self.uid);
        w.u32(self.gid);
        w.array(&self.gids);
        w.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_sys_round_trips() {
        let a = AuthSys {
            stamp: 1,
            machine_name: Bytes::from_static(b"client"),
            uid: 1000,
            gid: 100,
            gids: vec![4, 24, 27],
        };
        assert_eq!(AuthSys::decode(a.encode()).unwrap(), a);
    }

    #[test]
    fn too_many_gids_or_trailing_bytes_are_rejected() {
        let a = AuthSys {
            gids: vec![1; 17],
            ..Default::default()
        };
        assert!(AuthSys::decode(a.encode()).is_err());
        let mut body = AuthSys::default().encode().to_vec();
        body.extend_from_slice(&[0, 0, 0, 0]);
        assert!(AuthSys::decode(Bytes::from(body)).is_err());
    }
}
