//! Secrets at rest: carrier credentials and push secrets are sealed with XChaCha20-Poly1305
//! under a 32-byte master key that never enters the database.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a sealed secret could not be opened: wrong master key, or the value was altered")]
    Open,
}

impl Sealer {
    /// From a base64 master key (as kept in `WAYBILL_MASTER_KEY` or the key file).
    pub fn from_base64(key: &str) -> Result<Self, SealError> {
        let bytes = B64.decode(key.trim()).map_err(|_| SealError::BadKey)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SealError::BadKey)?;
        Ok(Self { cipher })
    }

    /// A fresh random master key, base64-encoded.
    pub fn generate_key() -> String {
        B64.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// `base64(nonce ‖ ciphertext)`; a random nonce per value.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self.cipher.encrypt(&nonce, plaintext).expect("encryption into memory does not fail");
        let mut out = nonce.to_vec();
        out.extend(ciphertext);
        B64.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let bytes = B64.decode(sealed).map_err(|_| SealError::Open)?;
        if bytes.len() < 24 {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| SealError::Open)?;
        self.cipher.decrypt(&XNonce::from(nonce), ciphertext).map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_hide_the_plaintext() {
        let a = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        let b = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        let sealed = a.seal(b"{\"api_key\":\"secret-123\"}");
        assert!(!sealed.contains("secret-123"));
        assert_ne!(sealed, a.seal(b"{\"api_key\":\"secret-123\"}"), "nonces differ per value");
        assert_eq!(a.open(&sealed).unwrap(), b"{\"api_key\":\"secret-123\"}");
        assert!(b.open(&sealed).is_err());
        assert!(matches!(Sealer::from_base64("c2hvcnQ="), Err(SealError::BadKey)));
    }
}
