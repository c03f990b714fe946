//! Secrets from the environment or from files: `X` or `X_FILE` (the file holds the variable's
//! exact value, one trailing newline ignored), never both. Held as [`SecretString`], so no
//! `Debug` prints them, and no error message quotes them.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// A secret setting that cannot be read; the message names the variable, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{name} and {name}_FILE are both set: set only one of them")]
    Both { name: &'static str },
    #[error("{name}_FILE: cannot read {}", path.display())]
    Read {
        name: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}_FILE: {} is not UTF-8 text", path.display())]
    NotText { name: &'static str, path: PathBuf },
}

/// The value of secret `name`, from the variable (`value`) or from the file `file` names;
/// `None` when neither is set. A blank variable or an empty path counts as unset.
pub fn secret_setting(
    name: &'static str,
    value: Option<&SecretString>,
    file: Option<&Path>,
) -> Result<Option<SecretString>, SecretError> {
    let value = value.filter(|value| !value.expose_secret().trim().is_empty());
    let file = file.filter(|path| !path.as_os_str().is_empty());
    match (value, file) {
        (Some(_), Some(_)) => Err(SecretError::Both { name }),
        (Some(value), None) => Ok(Some(value.clone())),
        (None, None) => Ok(None),
        (None, Some(path)) => {
            let bytes = std::fs::read(path).map_err(|source| SecretError::Read {
                name,
                path: path.to_owned(),
                source,
            })?;
            let text = String::from_utf8(bytes)
                .map_err(|_| SecretError::NotText { name, path: path.to_owned() })?;
            let value =
                text.strip_suffix("\r\n").or_else(|| text.strip_suffix('\n')).unwrap_or(&text);
            Ok(Some(SecretString::from(value.to_owned())))
        }
    }
}

/// Clap's parser of a secret flag or variable.
#[expect(clippy::unnecessary_wraps, reason = "clap's value_parser signature")]
pub(crate) fn parse_secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn file(content: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(content).unwrap();
        file
    }

    fn read(content: &[u8]) -> String {
        let file = file(content);
        let secret = secret_setting("ADMIN_TOKEN", None, Some(file.path())).unwrap().unwrap();
        secret.expose_secret().to_owned()
    }

    #[test]
    fn a_file_holds_the_exact_value_one_trailing_newline_ignored() {
        assert_eq!(read(b"s3cret-token-0123456789\n"), "s3cret-token-0123456789");
        assert_eq!(read(b"s3cret\r\n"), "s3cret");
        assert_eq!(read(b"s3cret"), "s3cret");
        assert_eq!(read(b" key-a, key-b \n\n"), " key-a, key-b \n", "only one newline goes");
    }

    #[test]
    fn the_variable_alone_is_used_and_neither_is_none() {
        let value = SecretString::from("from-env");
        let secret = secret_setting("ADMIN_TOKEN", Some(&value), None).unwrap().unwrap();
        assert_eq!(secret.expose_secret(), "from-env");
        assert!(secret_setting("ADMIN_TOKEN", None, None).unwrap().is_none());
    }

    #[test]
    fn both_refuse_naming_the_variable_and_never_the_secret() {
        let file = file(b"file-secret");
        let value = SecretString::from("env-secret");
        let err = secret_setting("ADMIN_TOKEN", Some(&value), Some(file.path())).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("ADMIN_TOKEN and ADMIN_TOKEN_FILE"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn an_unreadable_file_is_named_and_its_content_is_not_shown() {
        let missing = Path::new("/nonexistent/payram/token");
        let err = secret_setting("PAYRAM_API_KEYS", None, Some(missing)).unwrap_err();
        assert!(err.to_string().starts_with("PAYRAM_API_KEYS_FILE: cannot read /nonexistent"));
        let binary = file(&[0xff, 0xfe, b's']);
        let err = secret_setting("PAYRAM_API_KEYS", None, Some(binary.path())).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let secret = parse_secret("hunter2-hunter2-hunter2").unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
