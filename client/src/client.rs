use crate::model::{Grace, Key, KeyFilter, KeyList, KeyWithToken, NewKey, Problem, Verification, Verify};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// What went wrong with a call to Keyward.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Keyward answered with an error: the calling key's own problem (401, 403, 429), bad input
    /// (422, with the fields), a missing key (404) or a conflict (409).
    #[error("Keyward answered {} {}: {}", .0.status, .0.code, .0.detail)]
    Api(Problem),
    /// Keyward could not be reached, or did not answer in time.
    #[error("Keyward could not be reached: {0}")]
    Unreachable(#[source] reqwest::Error),
    /// The answer was not what the API documents.
    #[error("Keyward's answer could not be read: {0}")]
    Unreadable(String),
    /// The base URL given to [`Client::new`] is not an http(s) URL.
    #[error("not a Keyward URL: {0}")]
    BadUrl(String),
}

/// A client for one Keyward server, acting with one Keyward key (its *root key*: for verifying,
/// one holding `api_keys.verify`). Cheap to clone; clones share their connections.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<Url>,
    root_key: Arc<str>,
}

impl fmt::Debug for Client {
    // Never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `https://keyward.internal`), with a 5 s timeout.
    pub fn new(base_url: &str, root_key: impl Into<String>) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::Unreachable)?;
        Self::with_http_client(http, base_url, root_key)
    }

    /// The same, over a `reqwest::Client` of your own (timeouts, proxies, TLS roots).
    pub fn with_http_client(http: reqwest::Client, base_url: &str, root_key: impl Into<String>) -> Result<Self, Error> {
        let mut base = Url::parse(base_url).map_err(|e| Error::BadUrl(format!("{base_url}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::BadUrl(format!("{base_url}: must be an http or https URL")));
        }
        // Joined paths go below it, not beside its last segment.
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(Self { http, base: Arc::new(base), root_key: Arc::from(root_key.into()) })
    }

    /// Judges a key your caller presented. `Ok` whatever the verdict: look at `valid` and `code`.
    pub async fn verify(&self, question: &Verify) -> Result<Verification, Error> {
        self.send(self.request(Method::POST, "api/v1/keys/verify")?.json(question)).await
    }

    /// One page of the keys the root key may see.
    pub async fn list_keys(&self, filter: &KeyFilter) -> Result<KeyList, Error> {
        self.send(self.request(Method::GET, "api/v1/keys")?.query(filter)).await
    }

    pub async fn get_key(&self, id: Uuid) -> Result<Key, Error> {
        self.send(self.request(Method::GET, &format!("api/v1/keys/{id}"))?).await
    }

    /// Creates a key; the answer carries its token, once.
    pub async fn create_key(&self, key: &NewKey) -> Result<KeyWithToken, Error> {
        self.send(self.request(Method::POST, "api/v1/keys")?.json(key)).await
    }

    /// A new secret for the key; the old one stops at once or after `grace`.
    pub async fn rotate_key(&self, id: Uuid, grace: Grace) -> Result<KeyWithToken, Error> {
        #[derive(Serialize)]
        struct Rotate {
            grace: Grace,
        }
        self.send(self.request(Method::POST, &format!("api/v1/keys/{id}/rotate"))?.json(&Rotate { grace })).await
    }

    /// Replaces the key's scopes.
    pub async fn set_scopes(&self, id: Uuid, scopes: &[&str]) -> Result<Key, Error> {
        #[derive(Serialize)]
        struct Scopes<'a> {
            scopes: &'a [&'a str],
        }
        self.send(self.request(Method::PUT, &format!("api/v1/keys/{id}/scopes"))?.json(&Scopes { scopes })).await
    }

    /// Revokes the key, for good, at once.
    pub async fn revoke_key(&self, id: Uuid) -> Result<Key, Error> {
        self.change(id, "revoke").await
    }

    /// Stops the key until it is enabled again.
    pub async fn disable_key(&self, id: Uuid) -> Result<Key, Error> {
        self.change(id, "disable").await
    }

    pub async fn enable_key(&self, id: Uuid) -> Result<Key, Error> {
        self.change(id, "enable").await
    }

    async fn change(&self, id: Uuid, action: &str) -> Result<Key, Error> {
        self.send(self.request(Method::POST, &format!("api/v1/keys/{id}/{action}"))?.json(&serde_json::json!({}))).await
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, Error> {
        let url = self.base.join(path).map_err(|e| Error::BadUrl(e.to_string()))?;
        Ok(self.http.request(method, url).header("X-API-Key", &*self.root_key))
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let response = request.send().await.map_err(Error::Unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(Error::Unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| Error::Unreadable(e.to_string()));
        }
        Err(Error::Api(serde_json::from_slice(&body).unwrap_or_else(|_| unreadable_problem(status))))
    }
}

/// An error answer without a problem body (a proxy's, say).
fn unreadable_problem(status: StatusCode) -> Problem {
    Problem {
        status: status.as_u16(),
        code: "UNKNOWN".to_owned(),
        detail: status.canonical_reason().unwrap_or("error").to_owned(),
        errors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_taken_and_paths_go_below_them() {
        assert!(matches!(Client::new("ftp://keyward", "k"), Err(Error::BadUrl(_))));
        assert!(matches!(Client::new("not a url", "k"), Err(Error::BadUrl(_))));
        let client = Client::new("https://example.test/keyward", "k").expect("a client");
        assert_eq!(
            client.base.join("api/v1/keys").expect("joined").as_str(),
            "https://example.test/keyward/api/v1/keys"
        );
    }

    #[test]
    fn debug_output_never_shows_the_root_key() {
        let client = Client::new("http://127.0.0.1:3000", "kw_live_secretsecret").expect("a client");
        assert!(!format!("{client:?}").contains("secret"));
    }
}
