use std::{fmt, str::FromStr};

use rust_decimal::Decimal;

/// A non-negative, exact decimal amount of money.
///
/// The text it was parsed from is kept to the digit: `49.999999999999998` stays that, and
/// `82.00` displays as `82.00`. Comparison is numeric (`82.00 == 82`). Amounts never pass
/// through a float.
///
/// Every amount is bounded: less than 10^15 ([`Amount::MAX_INTEGER_DIGITS`] digits before the
/// point) with at most 18 digits after it ([`Amount::MAX_FRACTION_DIGITS`], an ETH wei). PayRam
/// never reports more; the bound is what lets any number of amounts be summed exactly into a
/// [`Total`].
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
    #[error("amount {0:?} is too large: at most 15 digits before the decimal point")]
    TooLarge(String),
    #[error("amount {0:?} has more than 18 digits after the decimal point")]
    TooManyDecimals(String),
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

    /// At most this many digits before the decimal point: every amount is below 10^15
    /// (a thousand trillion), far above any payment in any currency PayRam handles.
    pub const MAX_INTEGER_DIGITS: u32 = 15;

    /// At most this many digits after the decimal point: 18, the finest unit PayRam reports
    /// (ETH and most ERC-20 tokens). USD amounts carry fewer.
    pub const MAX_FRACTION_DIGITS: u32 = 18;

    /// Parses a decimal text exactly: plain (`12.50`) or scientific (`1.25e1`) notation.
    ///
    /// Anything that cannot be represented without rounding is refused, never rounded; so is
    /// anything outside the bound (see [`Amount`]). Scientific notation is read exactly:
    /// the mantissa's digits are shifted by the exponent, and the value keeps no trailing
    /// zeros after the point (`1.50e1` is `15`). Blanks around the text are ignored; `-0` is
    /// zero; any other negative is refused.
    ///
    /// ```
    /// use payram_domain::{Amount, AmountError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(Amount::parse("12.50")?.to_string(), "12.50");
    /// assert_eq!(Amount::parse("1.25e1")?, Amount::parse("12.5")?);
    /// assert_eq!(Amount::parse(" 0.000000000000000001 ")?.to_string(), "0.000000000000000001");
    /// assert_eq!(Amount::parse("-0")?, Amount::ZERO);
    /// assert!(Amount::parse("-0.01").is_err());
    /// assert!(Amount::parse("NaN").is_err());
    /// // Refused, never rounded to 50.
    /// assert!(Amount::parse("49.999999999999999999999999999999e0").is_err());
    /// assert!(matches!(Amount::parse("1000000000000000"), Err(AmountError::TooLarge(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        {
            return Err(AmountError::NotADecimal(text.to_owned()));
        }
        let value = match text.split_once(['e', 'E']) {
            None => Decimal::from_str_exact(text).map_err(|err| classify(text, &err))?,
            Some((mantissa, exponent)) => scientific(text, mantissa, exponent)?,
        };
        Self::bounded(value, text)
    }

    /// Wraps a decimal; fails when it is negative or outside the bound. `-0` becomes `0`.
    ///
    /// ```
    /// use payram_domain::{Amount, AmountError};
    /// use rust_decimal::Decimal;
    ///
    /// let cents = Decimal::new(4999, 2);
    /// assert_eq!(Amount::from_decimal(cents).map(|a| a.to_string()), Ok("49.99".to_owned()));
    /// assert_eq!(Amount::from_decimal(-cents), Err(AmountError::Negative("-49.99".into())));
    /// assert!(Amount::from_decimal(Decimal::new(1, 19)).is_err());
    /// ```
    pub fn from_decimal(value: Decimal) -> Result<Self, AmountError> {
        Self::bounded(value, &value.to_string())
    }

    fn bounded(value: Decimal, text: &str) -> Result<Self, AmountError> {
        if value.is_zero() {
            let mut zero = value;
            zero.set_sign_positive(true);
            // `0.000…` with too many zeros is still refused: the bound is on the digits kept.
            if zero.scale() > Self::MAX_FRACTION_DIGITS {
                return Err(AmountError::TooManyDecimals(text.to_owned()));
            }
            return Ok(Self(zero));
        }
        if value.is_sign_negative() {
            return Err(AmountError::Negative(text.to_owned()));
        }
        if value.scale() > Self::MAX_FRACTION_DIGITS {
            return Err(AmountError::TooManyDecimals(text.to_owned()));
        }
        if value >= max_exclusive() {
            return Err(AmountError::TooLarge(text.to_owned()));
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

    /// `self + other`, or `None` when the sum is outside the bound (or could not be kept
    /// exactly). To sum many amounts, use a [`Total`], which cannot overflow in practice.
    ///
    /// ```
    /// use payram_domain::Amount;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let total = Amount::parse("20.00")?.checked_add(Amount::parse("30.005")?);
    /// assert_eq!(total.map(|total| total.to_string()), Some("50.005".to_owned()));
    /// let huge = Amount::parse("999999999999999")?;
    /// assert_eq!(huge.checked_add(huge), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let sum = self.0.checked_add(other.0)?;
        // rust_decimal rounds a sum that does not fit its 96 bits: refuse that too.
        if sum.scale() < self.0.scale().max(other.0.scale()) {
            return None;
        }
        Self::from_decimal(sum).ok()
    }
}

/// 10^15, the first value outside the bound.
fn max_exclusive() -> Decimal {
    Decimal::from(1_000_000_000_000_000_u64)
}

/// The exact value of `mantissa` x 10^`exponent`, or why there is none. Never rounds: the
/// digits are moved, not multiplied.
fn scientific(text: &str, mantissa: &str, exponent: &str) -> Result<Decimal, AmountError> {
    let not_a_decimal = || AmountError::NotADecimal(text.to_owned());
    let (negative, unsigned) = match mantissa.as_bytes().first() {
        Some(b'-') => (true, mantissa.get(1..).unwrap_or_default()),
        Some(b'+') => (false, mantissa.get(1..).unwrap_or_default()),
        _ => (false, mantissa),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits_only(whole)
        || !digits_only(fraction)
        || !valid_exponent(exponent)
    {
        return Err(not_a_decimal());
    }
    let digits: String = format!("{whole}{fraction}").trim_start_matches('0').to_owned();
    if digits.is_empty() {
        return Ok(Decimal::ZERO);
    }
    // Too long an exponent is far outside the bound either way (the mantissa has no more
    // digits than the request body's limit).
    let exponent: i64 = exponent.parse().map_err(|_| AmountError::TooPrecise(text.to_owned()))?;
    let fraction_len = i64::try_from(fraction.len()).map_err(|_| not_a_decimal())?;
    // The value is `digits` x 10^-scale.
    let mut scale = fraction_len.checked_sub(exponent).ok_or_else(not_a_decimal)?;
    let mut digits = digits.as_str();
    while scale > 0
        && let Some(rest) = digits.strip_suffix('0')
    {
        digits = rest;
        scale -= 1;
    }
    if scale > i64::from(Amount::MAX_FRACTION_DIGITS) {
        return Err(AmountError::TooManyDecimals(text.to_owned()));
    }
    // Digits before the point (no leading zero is left): checked before any is written out.
    let digit_count = i64::try_from(digits.len()).map_err(|_| not_a_decimal())?;
    if digit_count
        .checked_sub(scale)
        .is_none_or(|whole| whole > i64::from(Amount::MAX_INTEGER_DIGITS))
    {
        return Err(AmountError::TooLarge(text.to_owned()));
    }
    let plain = match usize::try_from(scale) {
        // Shift left: append zeros.
        Err(_) => {
            let zeros = usize::try_from(-scale).map_err(|_| not_a_decimal())?;
            format!("{digits}{}", "0".repeat(zeros))
        }
        Ok(scale) if scale >= digits.len() => {
            format!("0.{}{digits}", "0".repeat(scale - digits.len()))
        }
        Ok(scale) => {
            let point = digits.len() - scale;
            format!(
                "{}.{}",
                digits.get(..point).unwrap_or_default(),
                digits.get(point..).unwrap_or_default()
            )
        }
    };
    let signed = if negative { format!("-{plain}") } else { plain };
    Decimal::from_str_exact(&signed).map_err(|err| classify(text, &err))
}

/// `+12`, `-3`, `7`: an optional sign and at least one digit.
fn valid_exponent(exponent: &str) -> bool {
    let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit())
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

/// 10^18: a [`Total`] keeps fractions in units of 10^-18, the finest an [`Amount`] has.
const ATTO_PER_UNIT: u64 = 1_000_000_000_000_000_000;

/// An exact, non-negative sum of [`Amount`]s: a customer's balance, the ledger's total.
///
/// Kept as whole units (`u128`) and 10^-18ths (`u64`), so it is never rounded and, in
/// practice, never overflows: each amount is below 10^15, and `u128::MAX` (about
/// 3.4 x 10^38) whole units hold more than 3.4 x 10^23 of the largest amounts, far more than
/// the 2^63 (about 9.2 x 10^18) rows a SQLite table can hold. Displayed with as many decimals
/// as the most precise amount added (`20.00 + 30.00` is `50.00`, as the amounts would show
/// it); compared by value.
///
/// ```
/// use payram_domain::{Amount, Total};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let largest = Amount::parse("999999999999999.999999999999")?;
/// let total = Total::ZERO.checked_add(largest).and_then(|t| t.checked_add(largest));
/// assert_eq!(total.map(|t| t.to_string()), Some("1999999999999999.999999999998".into()));
///
/// let balance = Total::sum([Amount::parse("0.1")?, Amount::parse("0.20")?]);
/// assert_eq!(balance.map(|b| b.to_string()), Some("0.30".into()));
/// assert_eq!(Total::parse("0.30")?, Total::parse("0.3")?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Total {
    units: u128,
    /// Always below [`ATTO_PER_UNIT`].
    atto: u64,
    /// Decimals shown; at most [`Amount::MAX_FRACTION_DIGITS`], and no digit of `atto` lies
    /// beyond it.
    scale: u32,
}

impl Total {
    /// Nothing summed yet, written `0`.
    pub const ZERO: Self = Self { units: 0, atto: 0, scale: 0 };

    /// `self + amount`, exactly; `None` only past `u128::MAX` whole units (see [`Total`]).
    #[must_use]
    pub fn checked_add(self, amount: Amount) -> Option<Self> {
        let (units, atto) = split(amount)?;
        let atto = self.atto.checked_add(atto)?;
        let (carry, atto) =
            if atto >= ATTO_PER_UNIT { (1, atto - ATTO_PER_UNIT) } else { (0, atto) };
        Some(Self {
            units: self.units.checked_add(units)?.checked_add(carry)?,
            atto,
            scale: self.scale.max(amount.as_decimal().scale()),
        })
    }

    /// The exact sum of `amounts`; `None` only past `u128::MAX` whole units.
    pub fn sum(amounts: impl IntoIterator<Item = Amount>) -> Option<Self> {
        amounts.into_iter().try_fold(Self::ZERO, Self::checked_add)
    }

    /// Reads a total written by its `Display`: digits, optionally a point and at most 18
    /// decimals.
    ///
    /// ```
    /// use payram_domain::Total;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let text = "158456325028528675187087900670.000000000000000001";
    /// assert_eq!(Total::parse(text)?.to_string(), text);
    /// assert!(Total::parse("-1").is_err());
    /// assert!(Total::parse("1.0000000000000000001").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits_only(whole)
            || !digits_only(fraction)
            || (fraction.is_empty() && text.ends_with('.'))
        {
            return Err(AmountError::NotADecimal(text.to_owned()));
        }
        let scale = u32::try_from(fraction.len())
            .ok()
            .filter(|scale| *scale <= Amount::MAX_FRACTION_DIGITS)
            .ok_or_else(|| AmountError::TooManyDecimals(text.to_owned()))?;
        let units = whole.parse::<u128>().map_err(|_| AmountError::TooLarge(text.to_owned()))?;
        let padded = format!("{fraction:0<18}");
        let atto = padded.parse::<u64>().map_err(|_| AmountError::NotADecimal(text.to_owned()))?;
        Ok(Self { units, atto, scale })
    }

    /// True when nothing (or only zeros) was summed.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.units == 0 && self.atto == 0
    }
}

/// An amount as (whole units, 10^-18ths). `None` never happens for a bounded amount.
fn split(amount: Amount) -> Option<(u128, u64)> {
    let value = amount.as_decimal();
    let mantissa = u128::try_from(value.mantissa()).ok()?;
    let scale = value.scale();
    let divisor = 10_u128.checked_pow(scale)?;
    let units = mantissa / divisor;
    let fraction = u64::try_from(mantissa % divisor).ok()?;
    let atto = fraction
        .checked_mul(10_u64.checked_pow(Amount::MAX_FRACTION_DIGITS.checked_sub(scale)?)?)?;
    Some((units, atto))
}

impl PartialEq for Total {
    fn eq(&self, other: &Self) -> bool {
        (self.units, self.atto) == (other.units, other.atto)
    }
}

impl Eq for Total {}

impl PartialOrd for Total {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Total {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.units, self.atto).cmp(&(other.units, other.atto))
    }
}

impl fmt::Display for Total {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.units);
        }
        let fraction = format!("{:018}", self.atto);
        let shown = usize::try_from(self.scale).unwrap_or(fraction.len()).min(fraction.len());
        write!(f, "{}.{}", self.units, fraction.get(..shown).unwrap_or_default())
    }
}

impl FromStr for Total {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
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

    #[test]
    fn scientific_notation_that_would_round_is_refused() {
        for text in [
            "49.999999999999999999999999999999e0",
            "1.0000000000000000001e0",
            "1e-19",
            "123456789e-27",
        ] {
            assert!(
                matches!(
                    Amount::parse(text),
                    Err(AmountError::TooManyDecimals(_) | AmountError::TooPrecise(_))
                ),
                "{text}: {:?}",
                Amount::parse(text)
            );
        }
        assert_eq!(amount("4999999999999999999e-17"), amount("49.99999999999999999"));
        assert_eq!(amount("1.50e1").to_string(), "15");
        assert_eq!(amount("0.00e99"), Amount::ZERO);
        assert_eq!(amount("1e-18").to_string(), "0.000000000000000001");
        assert_eq!(amount("12345e+10").to_string(), "123450000000000");
    }

    #[test]
    fn malformed_scientific_notation_is_not_a_decimal() {
        for text in ["e5", "1e", "1e+", "1ee5", "1e5e3", "1.2.3e1", "--1e1", "1e1.5", ".e1"] {
            assert!(matches!(Amount::parse(text), Err(AmountError::NotADecimal(_))), "{text}");
        }
    }

    #[test]
    fn huge_exponents_are_refused_without_writing_the_digits() {
        assert!(matches!(Amount::parse("1e999999999999"), Err(AmountError::TooLarge(_))));
        assert!(matches!(Amount::parse("1e-999999999999"), Err(AmountError::TooManyDecimals(_))));
        assert!(Amount::parse("1e99999999999999999999999").is_err());
        assert!(Amount::parse("1e-99999999999999999999999").is_err());
    }

    #[test]
    fn the_bound_is_fifteen_digits_before_the_point_and_eighteen_after() {
        assert_eq!(amount("999999999999999").to_string(), "999999999999999");
        assert_eq!(amount("0.123456789012345678").to_string(), "0.123456789012345678");
        assert_eq!(
            amount("9999999999.999999999999999999").to_string(),
            "9999999999.999999999999999999"
        );
        for text in ["1000000000000000", "1e15", "79228162514264337593543950335"] {
            assert!(matches!(Amount::parse(text), Err(AmountError::TooLarge(_))), "{text}");
        }
        for text in ["0.1234567890123456789", "1.0000000000000000000", "0.0000000000000000000"] {
            assert!(matches!(Amount::parse(text), Err(AmountError::TooManyDecimals(_))), "{text}");
        }
        assert!(Amount::from_decimal(Decimal::from(1_000_000_000_000_000_u64)).is_err());
    }

    #[test]
    fn amounts_add_within_the_bound_or_not_at_all() {
        let max = amount("999999999999999");
        assert_eq!(max.checked_add(amount("1")), None);
        assert_eq!(
            amount("0.1").checked_add(amount("0.000000000000000001")).unwrap().to_string(),
            "0.100000000000000001"
        );
        // Beyond rust_decimal's 96 bits the sum would be rounded: refused instead.
        let wide = amount("9999999999.999999999999999999");
        assert_eq!(wide.checked_add(amount("70000000000")), None);
    }

    #[test]
    fn totals_sum_the_largest_amounts_exactly() {
        let largest = amount("999999999999999.9999999999999");
        let finest = amount("0.000000000000000001");
        let mut total = Total::ZERO;
        for _ in 0..1000 {
            total = total.checked_add(largest).unwrap().checked_add(finest).unwrap();
        }
        assert_eq!(total.to_string(), "999999999999999999.999999999900001000");
        assert_eq!(Total::parse(&total.to_string()).unwrap(), total);
        assert_eq!(Total::sum([amount("20.00"), amount("30.00")]).unwrap().to_string(), "50.00");
        assert_eq!(Total::ZERO.to_string(), "0");
        assert_eq!(Total::sum([amount("0.5"), amount("0.5")]).unwrap().to_string(), "1.0");
    }

    #[test]
    fn a_total_overflows_only_past_u128_units() {
        let near = Total::parse(&format!("{}", u128::MAX - 1)).unwrap();
        assert!(near.checked_add(amount("1")).is_some());
        assert_eq!(near.checked_add(amount("2")), None);
        let edge = Total::parse(&format!("{}.999999999999999999", u128::MAX)).unwrap();
        assert_eq!(edge.checked_add(amount("0.000000000000000001")), None);
    }

    #[test]
    fn totals_parse_only_what_they_display() {
        for text in ["", "-1", "1.", ".5", "1e3", "1.0000000000000000001", "abc"] {
            assert!(Total::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(Total::parse("1.").ok(), None);
    }

    proptest::proptest! {
        #[test]
        fn scientific_notation_equals_the_shifted_plain_text(
            int in 0u64..1_000_000, frac in "[0-9]{0,12}", exp in -6i32..6
        ) {
            let mantissa = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
            let plain = amount(&mantissa).as_decimal();
            let scientific = Amount::parse(&format!("{mantissa}e{exp}"));
            let shift = Decimal::from(10_u64.pow(exp.unsigned_abs()));
            let expected = if exp >= 0 { plain.checked_mul(shift) } else { plain.checked_div(shift) };
            match (scientific, expected) {
                (Ok(parsed), Some(expected)) => proptest::prop_assert_eq!(parsed.as_decimal(), expected),
                (Err(AmountError::TooManyDecimals(_)), _) => {
                    proptest::prop_assert!(i32::try_from(frac.len()).unwrap() - exp > 18);
                }
                (other, expected) => proptest::prop_assert!(false, "{other:?} for {expected:?}"),
            }
        }

        #[test]
        fn a_total_equals_the_sum_of_its_amounts(cents in proptest::collection::vec(0u64..10_000_000, 0..50)) {
            let amounts: Vec<Amount> = cents.iter().map(|c| Amount::from_decimal(Decimal::new(i64::try_from(*c).unwrap(), 2)).unwrap()).collect();
            let total = Total::sum(amounts.iter().copied()).unwrap();
            let expected: u64 = cents.iter().sum();
            let text = if cents.is_empty() { "0".to_owned() } else { format!("{}.{:02}", expected / 100, expected % 100) };
            proptest::prop_assert_eq!(total.to_string(), text);
        }

        #[test]
        fn parsing_never_panics(text in "[-+0-9.eE]{0,40}") {
            let _ = Amount::parse(&text);
            let _ = Total::parse(&text);
        }
    }
}
