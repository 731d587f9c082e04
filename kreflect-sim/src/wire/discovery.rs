//! Discovery endpoints `/version` and `/api`, with the real server's bodies (the resource lists
//! are generated from what is served, in `resources`).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json() {
        for body in [version(), api("127.0.0.1:1".parse().unwrap())] {
            serde_json::from_slice::<serde_json::Value>(&body).unwrap();
        }
        assert_eq!(version().len(), 281);
    }
}
