//! Secrets at rest: carrier credentials and push secrets are sealed with XChaCha20-Poly1305
//! under a 32-byte master key that never enters the database. The same sealing makes the
//! tokens of links handed to strangers (an email's unsubscribe link): only this deployment
//! can make one, and nothing in it can be read or changed.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64_URL};
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
        self.open_bytes(&B64.decode(sealed).map_err(|_| SealError::Open)?)
    }

    /// A token for a URL path segment: `purpose` and `text` sealed, base64url without padding.
    /// `purpose` keeps a token made for one use from being accepted for another.
    pub fn seal_token(&self, purpose: &str, text: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let plaintext = format!("{purpose}\n{text}");
        let ciphertext =
            self.cipher.encrypt(&nonce, plaintext.as_bytes()).expect("encryption into memory does not fail");
        let mut out = nonce.to_vec();
        out.extend(ciphertext);
        B64_URL.encode(out)
    }

    /// The text of a token [`Sealer::seal_token`] made for `purpose`; `None` for anything else.
    pub fn open_token(&self, purpose: &str, token: &str) -> Option<String> {
        let plain = self.open_bytes(&B64_URL.decode(token).ok()?).ok()?;
        let plain = String::from_utf8(plain).ok()?;
        plain.strip_prefix(purpose)?.strip_prefix('\n').map(str::to_owned)
    }

    fn open_bytes(&self, bytes: &[u8]) -> Result<Vec<u8>, SealError> {
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

    #[test]
    fn tokens_open_only_for_their_purpose_and_key_and_fit_a_url() {
        let a = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        let b = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        let token = a.seal_token("unsubscribe", "ten_1|email|ayse@example.com");
        assert!(token.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{token}");
        assert!(!token.contains("ayse"));
        assert_eq!(a.open_token("unsubscribe", &token).as_deref(), Some("ten_1|email|ayse@example.com"));
        assert_eq!(a.open_token("proof", &token), None, "another purpose");
        assert_eq!(b.open_token("unsubscribe", &token), None, "another key");
        let mut altered = token.clone().into_bytes();
        altered[30] = if altered[30] == b'A' { b'B' } else { b'A' };
        assert_eq!(a.open_token("unsubscribe", &String::from_utf8(altered).unwrap()), None, "altered");
        assert_eq!(a.open_token("unsubscribe", "not a token"), None);
        assert_eq!(a.open_token("unsubscribe", ""), None);
    }
}
