//! HTTPS for the fake API server: a throwaway certificate authority and a server certificate for
//! `127.0.0.1` / `localhost` (and two names for proxy tests) signed by it, generated when the
//! server starts, and the rustls acceptor that serves them. A client trusts the server only
//! through the CA's PEM, which the server's kubeconfig embeds as `certificate-authority-data`,
//! as a real cluster's does.

use std::io;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A host name no resolver knows (`.test` is reserved by RFC 2606), which the server
/// certificate is valid for: tests reach the server under this name through a proxy that maps
/// it to the server's address, since Go's rules (and kreflect's) never send `localhost` or a
/// loopback IP through a proxy from the environment.
pub const PROXY_ONLY_HOST: &str = "kubernetes.kreflect.test";

/// The names the server certificate is valid for: the loopback ones, [`PROXY_ONLY_HOST`], and
/// `0.0.0.0`, an IP that is not loopback (so proxied, unless `NO_PROXY` names it) but that a
/// connection on Linux and macOS delivers to a listener on `127.0.0.1`.
const SERVER_NAMES: [&str; 4] = ["127.0.0.1", "localhost", PROXY_ONLY_HOST, "0.0.0.0"];

/// A generated CA and the TLS acceptor serving a certificate it signed.
#[derive(Clone)]
pub(crate) struct TlsIdentity {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Generates a fresh CA (ECDSA P-256) and a server certificate for [`SERVER_NAMES`], and a
    /// rustls server configuration (ring provider, HTTP/1.1 only) serving it.
    pub(crate) fn generate() -> io::Result<TlsIdentity> {
        let ca_key = KeyPair::generate().map_err(io::Error::other)?;
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "kreflect fake API server CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(io::Error::other)?;
        let ca = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(io::Error::other)?;
        let server_names: Vec<String> =
            SERVER_NAMES.iter().map(|name| (*name).to_owned()).collect();
        let mut server_params = CertificateParams::new(server_names).map_err(io::Error::other)?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params
            .signed_by(&server_key, &ca)
            .map_err(io::Error::other)?;

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![server_cert.der().clone()], key)
            .map_err(io::Error::other)?;
        // The server speaks HTTP/1.1 only; say so when the client offers ALPN.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            ca_pem: ca_cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The CA certificate, PEM-encoded: what a client must trust.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The acceptor that performs the server side of a handshake.
    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_pem_ca_and_a_fresh_one_each_time() {
        let first = TlsIdentity::generate().expect("identity");
        let second = TlsIdentity::generate().expect("identity");
        assert!(
            first.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"),
            "{}",
            first.ca_pem()
        );
        assert_ne!(first.ca_pem(), second.ca_pem());
    }
}
