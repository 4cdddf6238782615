//! Who may report leaked keys: the public keys of secret scanners, as GitHub publishes its own
//! (`{"public_keys": [{"key_identifier": …, "key": "-----BEGIN PUBLIC KEY-----…"}]}`). A report is
//! signed with ECDSA P-256 over SHA-256 of its exact body; the signature comes base64 (DER) in
//! `Github-Public-Key-Signature` and names its key in `Github-Public-Key-Identifier`. The operator
//! configures the keys (`KEYWARD_LEAK_REPORT_KEYS`), since nothing is fetched from GitHub here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;
use std::collections::HashMap;

/// The scanners' verifying keys, by identifier. Empty: leak reports are off.
#[derive(Clone, Debug, Default)]
pub struct LeakReporters {
    keys: HashMap<String, VerifyingKey>,
}

/// Why a report's signature was not taken; said to the reporter, never with the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefused {
    #[error("the Github-Public-Key-Identifier header is missing")]
    MissingIdentifier,
    #[error("the Github-Public-Key-Signature header is missing")]
    MissingSignature,
    #[error("no configured key has this identifier")]
    UnknownKey,
    #[error("the signature is not base64 of a DER ECDSA signature")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
}

#[derive(Deserialize)]
struct Published {
    public_keys: Vec<PublishedKey>,
}

#[derive(Deserialize)]
struct PublishedKey {
    key_identifier: String,
    key: String,
}

impl LeakReporters {
    /// Reads GitHub's format for its public keys; the refusal says which key is wrong and why.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let published: Published =
            serde_json::from_str(json).map_err(|e| format!("not a {{\"public_keys\": [...]}} document: {e}"))?;
        let mut keys = HashMap::with_capacity(published.public_keys.len());
        for (i, key) in published.public_keys.into_iter().enumerate() {
            let verifying = VerifyingKey::from_public_key_pem(key.key.trim())
                .map_err(|e| format!("public_keys[{i}].key is not a PEM P-256 public key: {e}"))?;
            if key.key_identifier.is_empty() {
                return Err(format!("public_keys[{i}].key_identifier is empty"));
            }
            keys.insert(key.key_identifier, verifying);
        }
        if keys.is_empty() {
            return Err("public_keys is empty".into());
        }
        Ok(Self { keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks that `body` was signed by the key `identifier` names.
    pub fn check(
        &self,
        identifier: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), SignatureRefused> {
        let identifier = identifier.ok_or(SignatureRefused::MissingIdentifier)?;
        let signature = signature.ok_or(SignatureRefused::MissingSignature)?;
        let key = self.keys.get(identifier).ok_or(SignatureRefused::UnknownKey)?;
        let der = STANDARD.decode(signature.trim()).map_err(|_| SignatureRefused::Malformed)?;
        let signature = Signature::from_der(&der).map_err(|_| SignatureRefused::Malformed)?;
        key.verify(body, &signature).map_err(|_| SignatureRefused::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&[seed; 32]).expect("a valid scalar")
    }

    fn published(id: &str, key: &SigningKey) -> String {
        let pem = key.verifying_key().to_public_key_pem(LineEnding::LF).expect("PEM");
        serde_json::json!({ "public_keys": [{ "key_identifier": id, "key": pem, "is_current": true }] }).to_string()
    }

    fn sign(key: &SigningKey, body: &[u8]) -> String {
        let signature: Signature = key.sign(body);
        STANDARD.encode(signature.to_der().as_bytes())
    }

    #[test]
    fn a_report_signed_by_a_configured_key_is_taken() {
        let key = signing_key(7);
        let reporters = LeakReporters::from_json(&published("k1", &key)).expect("keys");
        let body = br#"[{"token":"kw_live_x","type":"keyward","url":"https://example.com","source":"content"}]"#;
        assert_eq!(reporters.check(Some("k1"), Some(&sign(&key, body)), body), Ok(()));
    }

    #[test]
    fn anything_else_is_refused() {
        let key = signing_key(7);
        let reporters = LeakReporters::from_json(&published("k1", &key)).expect("keys");
        let body = b"[]";
        let good = sign(&key, body);
        assert_eq!(reporters.check(None, Some(&good), body), Err(SignatureRefused::MissingIdentifier));
        assert_eq!(reporters.check(Some("k1"), None, body), Err(SignatureRefused::MissingSignature));
        assert_eq!(reporters.check(Some("k2"), Some(&good), body), Err(SignatureRefused::UnknownKey));
        assert_eq!(reporters.check(Some("k1"), Some("not base64!"), body), Err(SignatureRefused::Malformed));
        // Another body, and another signer, with the same identifier.
        assert_eq!(reporters.check(Some("k1"), Some(&good), b"[ ]"), Err(SignatureRefused::Mismatch));
        let forged = sign(&signing_key(8), body);
        assert_eq!(reporters.check(Some("k1"), Some(&forged), body), Err(SignatureRefused::Mismatch));
    }

    #[test]
    fn a_bad_key_list_names_what_is_wrong() {
        assert!(LeakReporters::from_json("[]").unwrap_err().contains("public_keys"));
        assert!(LeakReporters::from_json(r#"{"public_keys": []}"#).unwrap_err().contains("empty"));
        let wrong = r#"{"public_keys": [{"key_identifier": "a", "key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}]}"#;
        assert!(LeakReporters::from_json(wrong).unwrap_err().starts_with("public_keys[0].key"));
    }
}
