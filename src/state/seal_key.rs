//! The Ed25519 key that signs checkpoints and retention drops. It lives in a
//! file outside the database (PKCS#8 PEM, mode 0600), generated on the first
//! start; whoever controls only the database can neither read nor replace it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine;
use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The signing key, with the file it came from.
pub struct SealKey {
    key: SigningKey,
}

impl SealKey {
    /// Read the key at `path`.
    pub fn load(path: &Path) -> anyhow::Result<SealKey> {
        let pem = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading the seal key {}: {e}", path.display()))?;
        let key = SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| anyhow::anyhow!("the seal key {} is not an Ed25519 PKCS#8 PEM key: {e}", path.display()))?;
        Ok(SealKey { key })
    }

    /// Read the key at `path`, or create it there (and its folder) with mode 0600.
    pub fn load_or_create(path: &Path) -> anyhow::Result<SealKey> {
        if path.exists() {
            return SealKey::load(path);
        }
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)?;
        }
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| anyhow::anyhow!("encoding the seal key: {e}"))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| anyhow::anyhow!("creating the seal key {}: {e}", path.display()))?;
        file.write_all(pem.as_bytes())?;
        file.sync_all()?;
        tracing::info!(path = %path.display(), public_key = %public_key_text(&key.verifying_key()), "generated the seal key");
        Ok(SealKey { key })
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key as people copy it: base64 of its 32 bytes.
    pub fn public_key_text(&self) -> String {
        public_key_text(&self.public_key())
    }
}

pub fn public_key_text(key: &VerifyingKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
}

/// A public key from its base64 text.
pub fn parse_public_key(text: &str) -> anyhow::Result<VerifyingKey> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| anyhow::anyhow!("the public key is not base64: {e}"))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| anyhow::anyhow!("an Ed25519 public key has 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("not an Ed25519 public key: {e}"))
}

/// Whether `signature` is `key`'s signature of `message`.
pub fn signed_by(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_private_to_its_owner_and_loads_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vigil-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("seal.key");
        let key = SealKey::load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = SealKey::load_or_create(&path).unwrap();
        assert_eq!(key.public_key_text(), again.public_key_text());
        let signature = key.sign(b"head");
        assert!(signed_by(&again.public_key(), b"head", &signature));
        assert!(!signed_by(&again.public_key(), b"tail", &signature));
        assert_eq!(parse_public_key(&key.public_key_text()).unwrap(), key.public_key());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
