//! [`RequestId`]: taken from a well-formed `X-Request-Id`, else generated.

/// Every byte as two lower-case hex digits.
pub(crate) const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [HEX[byte >> 4], HEX[byte & 0xf]];
        byte += 1;
    }
    pairs
};

/// The header that carries the request id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest client-supplied id kept; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of one request, put in the request's extensions by the middleware and
/// echoed in `X-Request-Id` on its response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(std::sync::Arc<str>);

impl RequestId {
    /// The client's id when it is 1–128 characters of `[A-Za-z0-9._:-]` (safe in
    /// logs and headers), else a new one. Hostile values (newlines, quotes, huge
    /// strings) are never echoed or logged.
    pub fn from_header(value: Option<&[u8]>) -> RequestId {
        match value {
            Some(value) if is_well_formed(value) => {
                RequestId(std::sync::Arc::from(String::from_utf8_lossy(value)))
            }
            _ => RequestId::generate(),
        }
    }

    /// A new id: a random UUID (version 4, RFC 9562) from the thread's CSPRNG
    /// — unique, and it tells nothing (a counter would show traffic volume to
    /// anyone who sees two ids): `8c0a3b1e-5d4f-4e2a-9b7c-1f2e3d4c5b6a`.
    pub fn generate() -> RequestId {
        let bits: u128 = rand::random();
        // Version 4 in the 13th digit, variant `10` in the top bits of the 17th.
        let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
        // `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, written on the stack two digits
        // (a byte) at a time from a table: one allocation, the Arc's.
        let mut id = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in bits.to_be_bytes().into_iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1; // the dash already there
            }
            id[at..at + 2].copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
            at += 2;
        }
        // Shared: the middleware's clones (extensions, log, echo) copy nothing.
        RequestId(std::sync::Arc::from(
            std::str::from_utf8(&id).unwrap_or_default(),
        ))
    }

    /// The id of a request as a layer inside the access logger reads it: the
    /// `RequestId` extension the logger left (`extension`), else the client's
    /// `X-Request-Id` value (`header`) when it is well formed, else `""`.
    /// Hostile header values are never passed on to be logged.
    pub fn of<'a>(extension: Option<&'a RequestId>, header: Option<&'a [u8]>) -> &'a str {
        match (extension, header) {
            (Some(id), _) => id.as_str(),
            (None, Some(value)) if is_well_formed(value) => {
                std::str::from_utf8(value).unwrap_or_default()
            }
            _ => "",
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a client-supplied id is kept: 1–128 bytes of `[A-Za-z0-9._:-]`.
pub fn is_well_formed(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_safe_ids_and_replaces_hostile_ones() {
        assert_eq!(
            RequestId::from_header(Some(b"abc-123:x.y_z")).as_str(),
            "abc-123:x.y_z"
        );
        let long = [b'x'; MAX_REQUEST_ID_LEN];
        assert_eq!(
            RequestId::from_header(Some(&long)).as_str().len(),
            MAX_REQUEST_ID_LEN
        );
        let too_long = vec![b'x'; 10 * 1024];
        for hostile in [
            &b"a\nb"[..],
            b"",
            &too_long,
            b"<script>",
            b"a b",
            b"\"q\"",
            "é".as_bytes(),
        ] {
            let id = RequestId::from_header(Some(hostile));
            assert_ne!(id.as_str().as_bytes(), hostile);
            assert!(is_well_formed(id.as_str().as_bytes()));
        }
    }

    #[test]
    fn an_inner_layer_reads_the_extension_else_a_well_formed_header() {
        let id = RequestId::from_header(Some(b"from-the-logger"));
        assert_eq!(RequestId::of(Some(&id), Some(b"client")), "from-the-logger");
        assert_eq!(RequestId::of(None, Some(b"client-1")), "client-1");
        assert_eq!(RequestId::of(None, Some(b"a\nb")), "");
        assert_eq!(RequestId::of(None, None), "");
    }

    #[test]
    fn generated_ids_are_random_uuids() {
        let ids: Vec<RequestId> = (0..64).map(|_| RequestId::generate()).collect();
        for id in &ids {
            let text = id.as_str();
            assert_eq!(text.len(), 36, "{text}");
            assert!(is_well_formed(text.as_bytes()));
            let groups: Vec<&str> = text.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(groups[2].starts_with('4'), "version 4: {text}");
            assert!(
                groups[3].starts_with(['8', '9', 'a', 'b']),
                "variant: {text}"
            );
        }
        let unique: std::collections::HashSet<&str> = ids.iter().map(RequestId::as_str).collect();
        assert_eq!(unique.len(), ids.len());
        // Nothing in common between consecutive ids, as a counter would leave:
        // the random part (122 bits) differs in most digits.
        let same = ids[0]
            .as_str()
            .bytes()
            .zip(ids[1].as_str().bytes())
            .filter(|(a, b)| a == b)
            .count();
        assert!(same < 20, "{} {}", ids[0], ids[1]);
    }
}
