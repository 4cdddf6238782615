//! Digests, random tokens and password hashes. Nothing here logs or returns a secret in an error.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

/// SHA-256 of a token, hex. Tokens are long and random, so a slow hash would add latency and nothing else.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random session or invitation token: 32 bytes from the operating system's generator, hex.
pub fn session_token() -> String {
    use rand::Rng;
    hex::encode(os_random().random::<[u8; 32]>())
}

/// The operating system's generator, for every secret (key tokens, sessions, invitations). It
/// cannot fail on a working Linux (`getrandom(2)` blocks only until the pool is first seeded); a
/// machine where it does has no way to make secrets, and the request fails rather than use a weaker
/// source.
pub fn os_random() -> impl rand::RngCore {
    use rand::TryRngCore;
    rand::rngs::OsRng.unwrap_err()
}

/// argon2id with OWASP's recommended parameters (19 MiB, 2 iterations, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("no randomness: {0}")]
    Random(#[from] getrandom::Error),
    #[error("argon2: {0}")]
    Argon2(#[from] argon2::password_hash::Error),
}

pub fn hash_password(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Verifies in constant time (argon2's own comparison). A malformed stored hash is a mismatch.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash to verify against when the account does not exist, so that a sign-in for an unknown email
/// takes as long as one for a known email with a wrong password.
pub fn decoy_password_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("keyward-decoy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterx", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn digests_are_sha256_hex() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn session_tokens_are_random() {
        let a = session_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, session_token());
    }
}
