//! Comparing a secret someone sent with the one kept, without telling them how close they came.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `given` is `expected`, in a time that depends on neither: both are hashed first, so
/// not even the secret's length leaks.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(given).ct_eq(&Sha256::digest(expected)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_bytes_match() {
        assert!(same_secret(b"whsec_abc", b"whsec_abc"));
        assert!(!same_secret(b"whsec_abd", b"whsec_abc"));
        assert!(!same_secret(b"whsec_ab", b"whsec_abc"));
        assert!(!same_secret(b"", b"whsec_abc"));
    }
}
