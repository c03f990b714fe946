use std::{fmt, str::FromStr};

use rust_decimal::Decimal;

/// A non-negative, exact decimal amount of money.
///
/// The text it was parsed from is kept to the digit: `49.999999999999998` stays that, and
/// `82.00` displays as `82.00`. Comparison is numeric (`82.00 == 82`). Amounts never pass
/// through a float.
///
/// # Examples
///
/// ```
/// use payram_domain::Amount;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let received = Amount::parse("49.999999999999998")?;
/// assert_eq!(received.to_string(), "49.999999999999998");
///
/// // Equal in value, each displayed as written.
/// let usd: Amount = "82.00".parse()?;
/// assert_eq!(usd, Amount::parse("82")?);
/// assert_eq!(usd.to_string(), "82.00");
///
/// // Arithmetic is checked and never goes below zero.
/// let credited = Amount::parse("20.00")?;
/// assert_eq!(usd.checked_sub(credited).map(|owed| owed.to_string()), Some("62.00".to_owned()));
/// assert_eq!(credited.checked_sub(usd), None);
/// assert_eq!(credited.checked_add(usd), Some(Amount::parse("102")?));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

/// Why a text is not an [`Amount`].
///
/// ```
/// use payram_domain::{Amount, AmountError};
///
/// assert_eq!(Amount::parse(" "), Err(AmountError::Empty));
/// assert_eq!(Amount::parse("12,5"), Err(AmountError::NotADecimal("12,5".into())));
/// assert_eq!(Amount::parse("-1"), Err(AmountError::Negative("-1".into())));
/// assert!(matches!(
///     Amount::parse("1.00000000000000000000000000001"),
///     Err(AmountError::TooPrecise(_))
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error("amount {0:?} is not a finite decimal number")]
    NotADecimal(String),
    #[error("amount {0:?} has more digits than can be kept exactly")]
    TooPrecise(String),
    #[error("amount {0:?} is negative")]
    Negative(String),
}

impl Amount {
    /// Zero, written `0`.
    ///
    /// ```
    /// use payram_domain::Amount;
    ///
    /// assert_eq!(Amount::ZERO.to_string(), "0");
    /// assert_eq!(Amount::ZERO, Amount::default());
    /// ```
    pub const ZERO: Self = Self(Decimal::ZERO);

    /// Parses a decimal text exactly: plain (`12.50`) or scientific (`1.25e1`) notation.
    ///
    /// Anything that cannot be represented without rounding is refused, never rounded.
    /// Blanks around the text are ignored; `-0` is zero; any other negative is refused.
    ///
    /// ```
    /// use payram_domain::Amount;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(Amount::parse("12.50")?.to_string(), "12.50");
    /// assert_eq!(Amount::parse("1.25e1")?, Amount::parse("12.5")?);
    /// assert_eq!(Amount::parse(" 0.000000000000000001 ")?.to_string(), "0.000000000000000001");
    /// assert_eq!(Amount::parse("-0")?, Amount::ZERO);
    /// assert!(Amount::parse("-0.01").is_err());
    /// assert!(Amount::parse("NaN").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        let plain = text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
        let value = if plain {
            Decimal::from_str_exact(text).map_err(|err| classify(text, &err))?
        } else if text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        {
            Decimal::from_scientific(text).map_err(|err| classify(text, &err))?
        } else {
            return Err(AmountError::NotADecimal(text.to_owned()));
        };
        Self::from_decimal(value).map_err(|_| AmountError::Negative(text.to_owned()))
    }

    /// Wraps a decimal; fails when it is negative. `-0` becomes `0`.
    ///
    /// ```
    /// use payram_domain::Amount;
    /// use rust_decimal::Decimal;
    ///
    /// let cents = Decimal::new(4999, 2);
    /// assert_eq!(Amount::from_decimal(cents).map(|a| a.to_string()), Ok("49.99".to_owned()));
    /// assert_eq!(Amount::from_decimal(-cents), Err(-cents));
    /// ```
    pub fn from_decimal(value: Decimal) -> Result<Self, Decimal> {
        if value.is_zero() {
            let mut zero = value;
            zero.set_sign_positive(true);
            return Ok(Self(zero));
        }
        if value.is_sign_negative() {
            return Err(value);
        }
        Ok(Self(value))
    }

    /// The exact decimal value.
    ///
    /// ```
    /// use payram_domain::Amount;
    /// use rust_decimal::Decimal;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(Amount::parse("49.99")?.as_decimal(), Decimal::new(4999, 2));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub const fn as_decimal(self) -> Decimal {
        self.0
    }

    /// True for any representation of zero (`0`, `0.00`).
    ///
    /// ```
    /// use payram_domain::Amount;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert!(Amount::parse("0.00")?.is_zero());
    /// assert!(!Amount::parse("0.01")?.is_zero());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `self - other`, or `None` when that would be negative.
    ///
    /// ```
    /// use payram_domain::Amount;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let received = Amount::parse("50.00")?;
    /// let credited = Amount::parse("20.00")?;
    /// assert_eq!(received.checked_sub(credited), Some(Amount::parse("30")?));
    /// assert_eq!(credited.checked_sub(received), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        if other > self {
            return None;
        }
        self.0.checked_sub(other.0).map(Self)
    }

    /// `self + other`, or `None` on overflow.
    ///
    /// ```
    /// use payram_domain::Amount;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let total = Amount::parse("20.00")?.checked_add(Amount::parse("30.005")?);
    /// assert_eq!(total.map(|total| total.to_string()), Some("50.005".to_owned()));
    /// let huge = Amount::parse("79228162514264337593543950335")?;
    /// assert_eq!(huge.checked_add(huge), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }
}

fn classify(text: &str, err: &rust_decimal::Error) -> AmountError {
    match err {
        rust_decimal::Error::Underflow
        | rust_decimal::Error::ExceedsMaximumPossibleValue
        | rust_decimal::Error::LessThanMinimumPossibleValue
        | rust_decimal::Error::ScaleExceedsMaximumPrecision(_) => {
            AmountError::TooPrecise(text.to_owned())
        }
        _ => AmountError::NotADecimal(text.to_owned()),
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    #[test]
    fn parsing_keeps_every_digit() {
        assert_eq!(amount("49.999999999999998").to_string(), "49.999999999999998");
        assert_eq!(amount("0.000000000000000001").to_string(), "0.000000000000000001");
        assert_eq!(amount("82.00").to_string(), "82.00");
    }

    #[test]
    fn comparison_is_numeric_not_textual() {
        assert_eq!(amount("82.00"), amount("82"));
        assert!(amount("9.5") < amount("10"));
    }

    #[test]
    fn scientific_notation_is_exact() {
        assert_eq!(amount("4.999e1"), amount("49.99"));
        assert_eq!(amount("1E2"), amount("100"));
    }

    #[test]
    fn negative_and_non_numbers_are_refused() {
        assert!(matches!(Amount::parse("-1"), Err(AmountError::Negative(_))));
        assert!(matches!(Amount::parse("NaN"), Err(AmountError::NotADecimal(_))));
        assert!(matches!(Amount::parse("inf"), Err(AmountError::NotADecimal(_))));
        assert!(matches!(Amount::parse("12,5"), Err(AmountError::NotADecimal(_))));
        assert!(matches!(Amount::parse(""), Err(AmountError::Empty)));
    }

    #[test]
    fn minus_zero_is_zero() {
        assert_eq!(amount("-0.00"), Amount::ZERO);
        assert_eq!(amount("-0").to_string(), "0");
    }

    #[test]
    fn too_many_digits_are_refused_not_rounded() {
        assert!(matches!(
            Amount::parse("1.00000000000000000000000000001"),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(Amount::parse("99999999999999999999999999999999").is_err());
    }

    #[test]
    fn subtraction_never_goes_negative() {
        assert_eq!(amount("50.00").checked_sub(amount("20.00")).unwrap().to_string(), "30.00");
        assert_eq!(amount("1").checked_sub(amount("2")), None);
    }
}
