//! Standard Webhooks signatures (HMAC-SHA256 over `id.timestamp.body`), and the endpoints'
//! signing secrets, derived from the server's secret key so that none is ever stored: a copy of
//! the database alone signs nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// The server's secret key (32 bytes): `KEYWARD_SECRET_KEY`, or a file made on first start.
#[derive(Clone)]
pub struct ServerSecret(Arc<[u8; 32]>);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("the secret key must be 64 hexadecimal characters (32 bytes); try `openssl rand -hex 32`")]
    Malformed,
    #[error("the secret key file {path}: {source}")]
    File { path: String, source: std::io::Error },
}

impl ServerSecret {
    /// From its 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, SecretKeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretKeyError::Malformed)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretKeyError::Malformed)?;
        Ok(Self(Arc::new(key)))
    }

    /// A new key from the operating system's generator.
    pub fn random() -> Self {
        use rand::Rng;
        Self(Arc::new(super::crypto::os_random().random()))
    }

    /// The key in `path`; made there (readable by its owner only) when the file does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretKeyError> {
        let failed = |source| SecretKeyError::File { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::random();
                if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder).map_err(failed)?;
                }
                write_private(path, &hex::encode(*key.0)).map_err(failed)?;
                Ok(key)
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// A value that tells whether two servers hold the same key, without telling the key: stored
    /// with the database, so that an instance started with another key refuses to start rather
    /// than sign with secrets the receivers do not know.
    pub fn fingerprint(&self) -> String {
        hex::encode(self.mac(b"keyward:server-secret-fingerprint"))
    }

    /// The signing secret of an endpoint's `version` (rotation makes a new version).
    pub fn endpoint_secret(&self, endpoint: Uuid, version: i32) -> SigningSecret {
        let mut label = b"keyward:webhook-endpoint:".to_vec();
        label.extend_from_slice(endpoint.as_bytes());
        label.extend_from_slice(&version.to_be_bytes());
        SigningSecret(self.mac(&label))
    }

    fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(self.0.as_slice()).expect("HMAC takes a key of any length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// An endpoint's signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret([u8; 32]);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

impl SigningSecret {
    /// As shown once and as the receivers' libraries take it: `whsec_` and base64.
    pub fn to_whsec(&self) -> String {
        format!("whsec_{}", BASE64.encode(self.0))
    }

    /// `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`: one entry of the
    /// `webhook-signature` header.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &str) -> String {
        format!("v1,{}", BASE64.encode(sign_with(&self.0, message_id, timestamp, body)))
    }
}

fn sign_with(key: &[u8], message_id: &str, timestamp: i64, body: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{message_id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Checks a delivery as a receiver would (constant-time, any of the header's signatures): for the
/// tests, and for anyone reading this to write a receiver.
pub fn verify(whsec: &str, message_id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let Some(key) = whsec.strip_prefix("whsec_").and_then(|b| BASE64.decode(b).ok()) else { return false };
    let expected = sign_with(&key, message_id, timestamp, body);
    header.split(' ').filter_map(|entry| entry.strip_prefix("v1,")).filter_map(|sig| BASE64.decode(sig).ok()).any(
        |given| {
            use subtle::ConstantTimeEq;
            given.len() == expected.len() && bool::from(given.ct_eq(&expected))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example (standard-webhooks.com, "Verifying webhooks").
    #[test]
    fn signs_as_the_specification_example_does() {
        let key = BASE64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("base64");
        let signature =
            BASE64.encode(sign_with(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#));
        assert_eq!(signature, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let header = format!("v1,bm9wZQ== v1,{signature}");
        assert!(verify(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
            &header
        ));
        assert!(!verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_other", 1614265330, "{}", &header));
    }

    #[test]
    fn endpoint_secrets_differ_by_endpoint_version_and_server_key() {
        let server = ServerSecret::from_hex(&"ab".repeat(32)).expect("key");
        let endpoint = Uuid::now_v7();
        let first = server.endpoint_secret(endpoint, 1);
        assert_eq!(first, server.endpoint_secret(endpoint, 1), "the same inputs, the same secret");
        assert_ne!(first, server.endpoint_secret(endpoint, 2));
        assert_ne!(first, server.endpoint_secret(Uuid::now_v7(), 1));
        assert_ne!(first, ServerSecret::random().endpoint_secret(endpoint, 1));
        let whsec = first.to_whsec();
        assert!(whsec.starts_with("whsec_") && whsec.len() == 6 + 44, "{whsec}");
        assert!(verify(&whsec, "msg_1", 5, "{}", &first.sign("msg_1", 5, "{}")));
        assert!(!format!("{server:?}{first:?}").contains("ab"), "never printed");
    }

    #[test]
    fn a_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().expect("folder");
        let path = dir.path().join("nested").join("secret.key");
        let made = ServerSecret::load_or_create(&path).expect("made");
        let read = ServerSecret::load_or_create(&path).expect("read");
        assert_eq!(made.fingerprint(), read.fingerprint());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(matches!(ServerSecret::from_hex("abc"), Err(SecretKeyError::Malformed)));
    }
}
