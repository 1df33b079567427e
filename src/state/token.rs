//! Opaque, tamper-proof tokens: page tokens of the list API and export cursors.
//! A token is `base64url(payload).base64url(HMAC-SHA256(kind, payload))`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// A signer keyed by the configured secret, or by a random one.
    pub fn new(secret: Option<&str>) -> Self {
        let key = match secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => {
                tracing::warn!("VIGIL_SECRET is not set: page tokens and export cursors will not survive a restart");
                (0..32).map(|_| rand::random::<u8>()).collect()
            }
        };
        Signer { key }
    }

    fn mac(&self, kind: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(payload);
        mac
    }

    pub fn sign(&self, kind: &str, payload: &str) -> String {
        let tag = self.mac(kind, payload.as_bytes()).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The payload of a token this signer made for `kind`; `None` for anything else.
    pub fn verify(&self, kind: &str, token: &str) -> Option<String> {
        let (payload, tag) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(kind, &payload).verify_slice(&tag).ok()?;
        String::from_utf8(payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered_and_for_their_kind() {
        let signer = Signer::new(Some("s3cret"));
        let token = signer.sign("page", "env=production\n123_abc");
        assert_eq!(signer.verify("page", &token).as_deref(), Some("env=production\n123_abc"));
        assert_eq!(signer.verify("export", &token), None, "another kind");
        assert_eq!(Signer::new(Some("other")).verify("page", &token), None, "another secret");
        let (payload, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("env=staging\n123_abc"));
        assert_ne!(payload, URL_SAFE_NO_PAD.encode("env=staging\n123_abc"));
        assert_eq!(signer.verify("page", &forged), None, "altered payload");
        assert_eq!(signer.verify("page", "garbage"), None);
    }
}
