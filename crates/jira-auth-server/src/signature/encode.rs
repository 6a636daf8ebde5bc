//! RFC 5849 §3.6: percent-encoding for signatures and the `Authorization` header.
//!
//! Every byte of the UTF-8 form is encoded except the unreserved set `ALPHA / DIGIT / "-" / "." /
//! "_" / "~"`, and hex digits are uppercase. This is stricter than form encoding (a space is
//! `%20`, never `+`) and than URL path encoding (`!*'()` are encoded).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
const RFC5849: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `value` per RFC 5849 §3.6.
pub fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, RFC5849).to_string()
}
