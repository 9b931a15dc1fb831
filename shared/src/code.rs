//! INN-Reach system codes (`X-From-Code`, `X-To-Code`).

use std::fmt;

/// A five-character INN-Reach central or local system code, such as `d2ir1`.
///
/// Codes are ASCII letters and digits and compare exactly (case matters).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SystemCode(String);

/// Why a string is not a [`SystemCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a system code is exactly five ASCII letters or digits")]
pub struct InvalidSystemCode;

impl SystemCode {
    /// The length every code has.
    pub const LEN: usize = 5;

    /// Parses a code, accepting exactly five ASCII letters or digits.
    pub fn parse(value: &str) -> Result<Self, InvalidSystemCode> {
        if value.len() == Self::LEN && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidSystemCode)
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SystemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SystemCode {
    type Err = InvalidSystemCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_five_letters_and_digits() {
        assert_eq!(
            SystemCode::parse("d2ir1").map(|c| c.to_string()),
            Ok("d2ir1".into())
        );
    }

    #[test]
    fn rejects_four_six_and_non_alphanumeric_codes() {
        for bad in ["abcd", "abcdef", "", "ab cd", "ab-cd", "abcdé", "ab\ncd"] {
            assert_eq!(SystemCode::parse(bad), Err(InvalidSystemCode), "{bad:?}");
        }
    }
}
