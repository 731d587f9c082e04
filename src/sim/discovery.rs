//! Discovery endpoints: `/version`, `/api`, `/api/v1`, `/apis`, with the real server's bodies.

use std::net::SocketAddr;

use bytes::Bytes;

/// `GET /version` (transcript 13, byte for byte).
pub(crate) fn version() -> Bytes {
    Bytes::from_static(include_bytes!("version.json"))
}

/// `GET /api` (transcript 11), naming this server's address.
pub(crate) fn api(addr: SocketAddr) -> Bytes {
    Bytes::from(format!(
        "{{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[{{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"{addr}\"}}]}}"
    ))
}

/// `GET /api/v1`: the full core resource list of transcript 12.
pub(crate) fn api_v1() -> Bytes {
    Bytes::from_static(include_bytes!("api-v1.json"))
}

/// `GET /apis`: no API groups.
pub(crate) fn apis() -> Bytes {
    Bytes::from_static(br#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json() {
        for body in [
            version(),
            api("127.0.0.1:1".parse().unwrap()),
            api_v1(),
            apis(),
        ] {
            serde_json::from_slice::<serde_json::Value>(&body).unwrap();
        }
        assert_eq!(version().len(), 281);
    }
}
