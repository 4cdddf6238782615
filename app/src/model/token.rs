//! The key token: `kw_<env>_<random base62><checksum>`.
//!
//! * `<env>` is `live`, `stage` or `dev` ([`Environment::token_segment`]).
//! * `<random>` is [`RANDOM_LEN`] base62 characters from the OS CSPRNG (about 190 bits).
//! * `<checksum>` is the CRC32 of everything before it, in [`CHECKSUM_LEN`] base62 characters, so
//!   that typos and garbage are refused without a database lookup and secret scanners can recognise a
//!   real Keyward key.

use super::Environment;
use std::fmt;
use strum::VariantArray;

pub const PRODUCT_PREFIX: &str = "kw";
pub const RANDOM_LEN: usize = 32;
pub const CHECKSUM_LEN: usize = 6;
/// How many random characters the dashboard keeps in the visible prefix (`kw_live_a1b2c3d4`).
pub const VISIBLE_RANDOM_LEN: usize = 8;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a string is not a Keyward key. Never carries the string itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a Keyward key")]
    Malformed,
    #[error("unknown environment segment")]
    UnknownEnvironment,
    #[error("checksum mismatch")]
    BadChecksum,
}

/// A full key token: a secret. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyToken {
    token: String,
    environment: Environment,
}

impl fmt::Debug for KeyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyToken({}…)", self.visible_prefix())
    }
}

impl KeyToken {
    /// A fresh token for `environment`, with its randomness from the operating system.
    #[cfg(feature = "ssr")]
    pub fn generate(environment: Environment) -> Self {
        use rand::TryRngCore;
        use rand::distr::{Alphanumeric, SampleString};
        // The OS generator cannot fail on a working Linux; where it does, no secret can be made.
        let random = Alphanumeric.sample_string(&mut rand::rngs::OsRng.unwrap_err(), RANDOM_LEN);
        let body = format!("{PRODUCT_PREFIX}_{}_{random}", environment.token_segment());
        let sum = checksum(&body);
        // Only base62 digits were written.
        let token = format!("{body}{}", std::str::from_utf8(&sum).unwrap_or_default());
        Self { token, environment }
    }

    /// Checks the shape and checksum of a presented key. Pure and cheap: no lookup.
    pub fn parse(presented: &str) -> Result<Self, TokenError> {
        Self::shaped(presented)?.checked()
    }

    /// Checks the shape of a presented key only: see [`ShapedToken`].
    pub fn shaped(presented: &str) -> Result<ShapedToken<'_>, TokenError> {
        let rest =
            presented.strip_prefix(PRODUCT_PREFIX).and_then(|r| r.strip_prefix('_')).ok_or(TokenError::Malformed)?;
        // Each environment's segment tried in place: cheaper than searching for the separator.
        let segment_of = |environment: Environment| {
            rest.strip_prefix(environment.token_segment())
                .and_then(|tail| tail.strip_prefix('_'))
                .map(|tail| (environment, tail))
        };
        let Some((environment, tail)) = Environment::VARIANTS.iter().copied().find_map(segment_of) else {
            return Err(if rest.contains('_') { TokenError::UnknownEnvironment } else { TokenError::Malformed });
        };
        // Of a fixed length first, then every byte checked without stopping at the first bad one:
        // the loop over a known length runs unrolled, in vector registers (this runs twice per
        // verification).
        let tail: &[u8; RANDOM_LEN + CHECKSUM_LEN] = tail.as_bytes().try_into().map_err(|_| TokenError::Malformed)?;
        if !tail.iter().fold(true, |all, b| all & b.is_ascii_alphanumeric()) {
            return Err(TokenError::Malformed);
        }
        Ok(ShapedToken { token: presented, environment })
    }

    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The secret itself: to show once, or to digest. Never to log.
    pub fn expose_secret(&self) -> &str {
        &self.token
    }

    /// What the dashboard keeps and shows: `kw_live_a1b2c3d4`.
    pub fn visible_prefix(&self) -> String {
        let head = PRODUCT_PREFIX.len() + 1 + self.environment.token_segment().len() + 1;
        self.token[..head + VISIBLE_RANDOM_LEN].to_owned()
    }

    /// A masked preview for tables: `kw_live_a1b2c3d4••••••••`.
    pub fn masked(&self) -> String {
        format!("{}{}", self.visible_prefix(), "•".repeat(8))
    }
}

/// A presented key in a token's shape whose checksum is not checked yet. The verification path
/// looks its digest up among the keys it has seen first, then checks the checksum only before going
/// to the database: every digest it remembers is of a token whose checksum was good, so a token
/// with a bad one never finds anything there, and a key in use is not checksummed at every call.
#[derive(Clone, Copy)]
pub struct ShapedToken<'a> {
    token: &'a str,
    environment: Environment,
}

impl fmt::Debug for ShapedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShapedToken({:?})", self.environment)
    }
}

impl<'a> ShapedToken<'a> {
    /// The secret itself: to digest. Never to log.
    pub fn expose_secret(&self) -> &'a str {
        self.token
    }

    /// The whole token, once its checksum matches.
    pub fn checked(self) -> Result<KeyToken, TokenError> {
        let (body, sum) = self.token.split_at(self.token.len() - CHECKSUM_LEN);
        if checksum(body) != sum.as_bytes() {
            return Err(TokenError::BadChecksum);
        }
        Ok(KeyToken { token: self.token.to_owned(), environment: self.environment })
    }
}

/// CRC32 of `body` in fixed-width base62 (62^6 > 2^32, so six characters always suffice). Bytes,
/// not a string: every presented key is checked, and the check allocates nothing.
fn checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn fresh(env: Environment) -> KeyToken {
        KeyToken::generate(env)
    }

    #[test]
    fn a_generated_token_parses_back_to_itself() {
        for &env in Environment::VARIANTS {
            let token = fresh(env);
            let parsed = KeyToken::parse(token.expose_secret()).expect("valid token");
            assert_eq!(parsed, token);
            assert_eq!(parsed.environment(), env);
        }
    }

    #[test]
    fn the_token_has_the_documented_shape() {
        let token = fresh(Environment::Production);
        let s = token.expose_secret();
        assert!(s.starts_with("kw_live_"), "{s}");
        assert_eq!(s.len(), "kw_live_".len() + RANDOM_LEN + CHECKSUM_LEN);
        assert!(fresh(Environment::Staging).expose_secret().starts_with("kw_stage_"));
        assert!(fresh(Environment::Development).expose_secret().starts_with("kw_dev_"));
    }

    #[test]
    fn the_environment_segment_is_parsed() {
        let token = fresh(Environment::Staging);
        assert_eq!(KeyToken::parse(token.expose_secret()).map(|t| t.environment()), Ok(Environment::Staging));
        // Swapping the segment breaks the checksum, an unknown segment is refused as such.
        let swapped = token.expose_secret().replacen("_stage_", "_live_", 1);
        assert_eq!(KeyToken::parse(&swapped), Err(TokenError::BadChecksum));
        let unknown = token.expose_secret().replacen("_stage_", "_prod_", 1);
        assert_eq!(KeyToken::parse(&unknown), Err(TokenError::UnknownEnvironment));
    }

    #[test]
    fn the_checksum_rejects_every_one_character_change() {
        let token = fresh(Environment::Production);
        let original = token.expose_secret().as_bytes().to_vec();
        let start = "kw_live_".len();
        for i in start..original.len() {
            let mut changed = original.clone();
            changed[i] = if changed[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(changed).expect("ascii");
            assert!(KeyToken::parse(&changed).is_err(), "change at {i} was accepted");
        }
    }

    #[test]
    fn a_shaped_token_is_whole_only_once_its_checksum_matches() {
        let token = fresh(Environment::Staging);
        let shaped = KeyToken::shaped(token.expose_secret()).expect("a token's shape");
        assert_eq!(shaped.expose_secret(), token.expose_secret());
        assert_eq!(shaped.checked(), Ok(token.clone()));
        let (body, _) = token.expose_secret().split_at(token.expose_secret().len() - CHECKSUM_LEN);
        let wrong = format!("{body}000000");
        let shaped = KeyToken::shaped(&wrong).expect("the shape alone is right");
        assert_eq!(shaped.checked(), Err(TokenError::BadChecksum));
        assert!(!format!("{shaped:?}").contains(body), "a shaped token's Debug shows no secret");
        assert_eq!(KeyToken::shaped("kw_live_short").map(|_| ()), Err(TokenError::Malformed));
    }

    /// Near misses of a real token's shape, each refused before any lookup: a segment that only
    /// starts like an environment's, a missing or doubled separator, a character short or over, a
    /// non-alphanumeric byte (also one outside ASCII) at either end of the tail.
    #[test]
    fn near_misses_of_the_shape_are_refused() {
        let token = fresh(Environment::Development);
        let tail = &token.expose_secret()["kw_dev_".len()..];
        assert!(KeyToken::shaped(&format!("kw_dev_{tail}")).is_ok());
        let refused = [
            (format!("kw_devil_{tail}"), TokenError::UnknownEnvironment),
            (format!("kw_dev{tail}"), TokenError::Malformed),
            (format!("kw_dev__{tail}"), TokenError::Malformed),
            (format!("kw_dev_{}", &tail[1..]), TokenError::Malformed),
            (format!("kw_dev_{tail}a"), TokenError::Malformed),
            (format!("kw_dev_-{}", &tail[1..]), TokenError::Malformed),
            (format!("kw_dev_{}é", &tail[..tail.len() - 2]), TokenError::Malformed),
            (format!("kwx_dev_{tail}"), TokenError::Malformed),
        ];
        for (presented, error) in refused {
            assert_eq!(KeyToken::shaped(&presented).map(|_| ()), Err(error), "{presented:?}");
        }
    }

    #[test]
    fn garbage_is_malformed() {
        for s in
            ["", "kw", "kw_live_", "sk_live_abc", "kw_live_short", "kw_live_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"]
        {
            assert!(KeyToken::parse(s).is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn randomness_is_at_least_128_bits_and_not_repeated() {
        // log2(62) * 32 ≈ 190 bits; of which 8 characters are shown, leaving ≈ 143 secret bits.
        let secret_bits = ((RANDOM_LEN - VISIBLE_RANDOM_LEN) as f64) * 62f64.log2();
        assert!(secret_bits >= 128.0, "{secret_bits}");
        let tokens: HashSet<String> =
            (0..2000).map(|_| fresh(Environment::Development).expose_secret().to_owned()).collect();
        assert_eq!(tokens.len(), 2000);
    }

    #[test]
    fn every_base62_character_appears_and_none_other() {
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let token = fresh(Environment::Production);
            let random = &token.expose_secret()["kw_live_".len()..][..RANDOM_LEN];
            seen.extend(random.chars());
        }
        assert_eq!(seen.len(), 62);
        assert!(seen.iter().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn the_visible_prefix_and_preview_hide_the_secret() {
        let token = fresh(Environment::Production);
        let prefix = token.visible_prefix();
        assert_eq!(prefix.len(), "kw_live_".len() + VISIBLE_RANDOM_LEN);
        assert!(token.expose_secret().starts_with(&prefix));
        assert!(!token.masked().contains(&token.expose_secret()[prefix.len()..]));
        assert!(!format!("{token:?}").contains(token.expose_secret()));
    }
}
