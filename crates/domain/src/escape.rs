//! Text from outside (a request, a stored body, PayRam's answers) made safe for one log line.

use std::fmt;

/// Displays a value with every character that could break or disguise a log line escaped:
/// control characters (newline, carriage return, tab, NUL, ESC and the rest of C0, DEL, C1),
/// the Unicode line and paragraph separators, and invisible or direction-changing format
/// characters (zero-width spaces and joiners, bidirectional embeddings, overrides and
/// isolates, the byte-order mark). `\n`, `\r`, `\t` and `\0` are written so; the others as
/// `\u{1b}`. Everything else, the backslash included, is written as it is, so escaping twice
/// changes nothing.
///
/// The one way to put a value taken from outside into a log field: `reference_id =
/// %Escaped(reference)`.
///
/// ```
/// use payram_domain::Escaped;
///
/// let forged = "ref-1\n2026-01-01T00:00:00Z  INFO credited\r\u{1b}[31m\u{0}\u{202e}";
/// assert_eq!(
///     Escaped(forged).to_string(),
///     r"ref-1\n2026-01-01T00:00:00Z  INFO credited\r\u{1b}[31m\0\u{202e}"
/// );
/// assert_eq!(Escaped("café, 50.00 USD").to_string(), "café, 50.00 USD");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Escaped<T>(pub T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::write(&mut EscapingWriter(f), format_args!("{}", self.0))
    }
}

/// Writes through to a formatter, escaping as [`Escaped`] says.
struct EscapingWriter<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl fmt::Write for EscapingWriter<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut start = 0;
        for (at, c) in text.char_indices() {
            if !needs_escape(c) {
                continue;
            }
            self.0.write_str(text.get(start..at).unwrap_or_default())?;
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                '\0' => self.0.write_str("\\0")?,
                other => write!(self.0, "\\u{{{:x}}}", u32::from(other))?,
            }
            start = at + c.len_utf8();
        }
        self.0.write_str(text.get(start..).unwrap_or_default())
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_control_character_survives() {
        for code in (0..=0x9f_u32).chain([0x2028, 0x2029, 0x200b, 0x202e, 0x2066, 0xfeff]) {
            let c = char::from_u32(code).unwrap();
            if !needs_escape(c) {
                continue;
            }
            let shown = Escaped(format!("a{c}b")).to_string();
            assert!(!shown.contains(c), "{code:#x} survives in {shown:?}");
            assert!(shown.starts_with("a\\") && shown.ends_with('b'), "{shown:?}");
        }
    }

    #[test]
    fn printable_text_is_unchanged_and_escaping_twice_changes_nothing() {
        let text = "ref_123 café \\n ünïcödé 🚀";
        assert_eq!(Escaped(text).to_string(), text);
        let once = Escaped("a\nb\u{1b}[31m").to_string();
        assert_eq!(Escaped(&once).to_string(), once);
    }

    proptest::proptest! {
        #[test]
        fn any_text_comes_out_on_one_line(text in ".*") {
            let shown = Escaped(&text).to_string();
            proptest::prop_assert!(!shown.chars().any(needs_escape), "{:?}", shown);
        }
    }
}
