//! Opaque, tamper-proof tokens: page tokens of the list API and export cursors.
//! A token is `base64url(payload).base64url(HMAC-SHA256(kind, payload))`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The shortest secret a signer accepts.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// A signer keyed by `secret`, which must have at least [`MIN_SECRET_BYTES`].
    pub fn new(secret: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "VIGIL_SECRET must have at least {MIN_SECRET_BYTES} bytes (it signs page tokens and export \
             cursors); e.g. `head -c 32 /dev/urandom | base64`, or leave it unset to use one generated and kept in the database"
        );
        Ok(Signer { key: secret.as_bytes().to_vec() })
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
        let signer = Signer::new("s3cret s3cret s3cret s3cret s3cret").unwrap();
        let token = signer.sign("page", "env=production\n123_abc");
        assert_eq!(signer.verify("page", &token).as_deref(), Some("env=production\n123_abc"));
        assert_eq!(signer.verify("export", &token), None, "another kind");
        let other = Signer::new("another secret, just as long as the first").unwrap();
        assert_eq!(other.verify("page", &token), None, "another secret");
        assert!(Signer::new("short").is_err(), "too short to sign anything");
        let (payload, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("env=staging\n123_abc"));
        assert_ne!(payload, URL_SAFE_NO_PAD.encode("env=staging\n123_abc"));
        assert_eq!(signer.verify("page", &forged), None, "altered payload");
        assert_eq!(signer.verify("page", "garbage"), None);
    }
}
