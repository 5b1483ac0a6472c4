//! Limits on text fields: a maximum length and an alphabet for every string the API takes.
//!
//! Every text field is refused with a pointer when it is longer than its limit or holds a
//! control character (NUL, escape, line breaks, …): such text breaks labels, CSV exports,
//! carrier requests and logs. Identifiers that carriers and printers read back (postcodes,
//! phones, references, services, tracking numbers) also keep to a small alphabet, for every
//! country alike. The README's "Limits on fields" table lists these rules; keep them equal.

use crate::error::FieldError;

/// Which characters a field may hold beyond "no control characters".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alphabet {
    /// Any printable text (letters of every script, digits, punctuation, spaces).
    Printable,
    /// Letters A–Z, digits, spaces and hyphens: what postcodes are written with everywhere.
    Postcode,
    /// Digits, spaces, `+ - ( ) . /`, and `x` or `ext` before an extension.
    Phone,
    /// ASCII letters and digits and `- _ . / # :` and spaces: safe in every carrier's reference field.
    Reference,
    /// ASCII letters and digits and `- _ . :`: codes such as channel names and service codes.
    Code,
}

/// A text field's rule: its maximum length in characters, and its alphabet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub max: usize,
    pub alphabet: Alphabet,
    /// Whether blank (empty or only spaces) is refused.
    pub required: bool,
}

const fn rule(max: usize, alphabet: Alphabet) -> Rule {
    Rule { max, alphabet, required: true }
}

/// Names of people and companies, cities, states.
pub const NAME: Rule = rule(100, Alphabet::Printable);
pub const STREET: Rule = rule(200, Alphabet::Printable);
pub const EMAIL: Rule = rule(254, Alphabet::Printable);

/// The shape of an email address: one `@` with something before it, a dotted domain after it,
/// no spaces. (Whether the mailbox exists only the receiving server knows.)
pub fn is_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(char::is_whitespace)
}
pub const POSTCODE: Rule = rule(12, Alphabet::Postcode);
pub const PHONE: Rule = rule(32, Alphabet::Phone);
/// The merchant's reference printed on labels and sent to carriers.
pub const REFERENCE: Rule = rule(64, Alphabet::Reference);
/// An order's id in the channel it came from.
pub const EXTERNAL_ID: Rule = rule(100, Alphabet::Printable);
pub const CHANNEL: Rule = rule(50, Alphabet::Code);
pub const SKU: Rule = rule(100, Alphabet::Printable);
pub const ITEM_NAME: Rule = rule(200, Alphabet::Printable);
pub const SERVICE: Rule = rule(64, Alphabet::Code);
pub const TRACKING_NUMBER: Rule = rule(64, Alphabet::Code);
/// Free text a person reads: descriptions, instructions, locations.
pub const DESCRIPTION: Rule = rule(500, Alphabet::Printable);
pub const INSTRUCTIONS: Rule = rule(200, Alphabet::Printable);
pub const URL: Rule = rule(2048, Alphabet::Printable);
/// Any other string in a request body, including the values of credentials and settings.
pub const ANY: Rule = Rule { max: 4096, alphabet: Alphabet::Printable, required: false };

impl Alphabet {
    fn allows(self, c: char) -> bool {
        match self {
            Alphabet::Printable => true,
            Alphabet::Postcode => c.is_ascii_alphanumeric() || c == ' ' || c == '-',
            Alphabet::Phone => c.is_ascii_digit() || " +-()./xXetET".contains(c),
            Alphabet::Reference => c.is_ascii_alphanumeric() || " -_./#:".contains(c),
            Alphabet::Code => c.is_ascii_alphanumeric() || "-_.:".contains(c),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Alphabet::Printable => "printable text",
            Alphabet::Postcode => "letters A-Z, digits, spaces and hyphens",
            Alphabet::Phone => "digits, spaces and + - ( ) . / (and x or ext before an extension)",
            Alphabet::Reference => "letters A-Z, digits, spaces and - _ . / # :",
            Alphabet::Code => "letters A-Z, digits and - _ . :",
        }
    }
}

/// Whether `c` is a control character (C0, DEL, C1) or another invisible character that
/// rewrites how text is shown (bidirectional overrides, zero-width joiners are allowed).
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

impl Rule {
    /// An optional field: blank is allowed.
    pub const fn optional(self) -> Rule {
        Rule { required: false, ..self }
    }

    /// What is wrong with `value` under this rule, if anything.
    pub fn problem(&self, value: &str) -> Option<String> {
        let count = value.chars().count();
        if count > self.max {
            return Some(format!("must be at most {} characters (this is {count})", self.max));
        }
        if let Some((at, c)) = value.chars().enumerate().find(|(_, c)| is_forbidden_char(*c)) {
            return Some(format!("must not contain control characters (U+{:04X} at character {at})", c as u32));
        }
        if value.trim().is_empty() {
            return self.required.then(|| "must not be empty".to_owned());
        }
        if let Some(c) = value.chars().find(|c| !self.alphabet.allows(*c)) {
            return Some(format!("`{c}` is not allowed here; use {}", self.alphabet.describe()));
        }
        None
    }

    /// `value` checked under this rule, as a field error at `pointer`.
    pub fn check(&self, pointer: &str, value: &str) -> Option<FieldError> {
        self.problem(value).map(|p| FieldError::new(pointer, p))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn control_characters_are_refused_everywhere() {
        for rule in [NAME, STREET, REFERENCE, SKU, EXTERNAL_ID, ANY] {
            assert!(rule.problem("ab\u{0}c").unwrap().contains("control"), "{rule:?}");
            assert!(rule.problem("a\nb").unwrap().contains("control"));
            assert!(rule.problem("a\u{202E}b").unwrap().contains("control"), "a bidi override hides text");
        }
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert_eq!(NAME.problem(&"ş".repeat(100)), None);
        assert!(NAME.problem(&"ş".repeat(101)).unwrap().contains("at most 100"));
    }

    #[test]
    fn identifiers_keep_to_their_alphabet() {
        assert_eq!(POSTCODE.problem("SW1A 1AA"), None);
        assert_eq!(POSTCODE.problem("12345-6789"), None);
        assert!(POSTCODE.problem("34710;DROP").is_some());
        assert!(POSTCODE.problem(&"1".repeat(13)).is_some(), "no country writes a 13-character postcode");
        assert_eq!(PHONE.problem("+90 (532) 123-45.67 ext 12"), None);
        assert!(PHONE.problem("+90 532 <script>").is_some());
        assert_eq!(REFERENCE.problem("#1001/A-2"), None);
        assert!(REFERENCE.problem("sipariş").is_some());
        assert!(CHANNEL.problem("shop one").is_some());
        assert_eq!(NAME.problem("김민준 Şükrü"), None);
    }

    #[test]
    fn blank_is_refused_only_where_required() {
        assert_eq!(NAME.problem("  ").as_deref(), Some("must not be empty"));
        assert_eq!(NAME.optional().problem(""), None);
    }

    proptest! {
        /// Whatever the input, a rule either accepts it or says why, and accepts nothing with a
        /// control character or over its limit.
        #[test]
        fn accepted_text_is_within_the_rules(s in "\\PC{0,20}|.{0,20}", max in 1usize..30) {
            let rule = Rule { max, alphabet: Alphabet::Printable, required: false };
            if rule.problem(&s).is_none() {
                prop_assert!(s.chars().count() <= max);
                prop_assert!(!s.chars().any(is_forbidden_char));
            }
        }
    }
}
