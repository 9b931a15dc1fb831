//! The rules for injected headers: which names may be injected, under which `context` key
//! each travels, and which values may reach a backend. A leaf: the pre-inputs check names
//! with it, and the injection checks values.

/// Headers that only mean something between two hops (RFC 9110 §7.6.1): never injected,
/// never forwarded.
pub const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers that frame, route or authenticate the request itself: never injected.
const REQUEST_CONTROL: [&str; 4] = ["authorization", "content-length", "content-type", "host"];

/// Whether the pre-inputs may name this header for injection.
pub fn may_inject(header: &str) -> bool {
    let lower = header.to_ascii_lowercase();
    !HOP_BY_HOP.contains(&lower.as_str()) && !REQUEST_CONTROL.contains(&lower.as_str())
}

/// An HTTP header name (RFC 9110 token).
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The authorizer `context` key an injected header travels under. Names that differ only
/// in case or in `-` against `_` share one key: many servers (CGI, WSGI, Rack, PHP) read
/// them as the same variable.
pub fn context_key(header: &str) -> String {
    let name: String = header
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("inject_{name}")
}

/// Whether two header names would reach a backend as the same variable: equal once case
/// is folded and `-` and `_` are taken as one.
pub fn same_variable(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| {
            let fold = |c: u8| {
                if c == b'_' {
                    b'-'
                } else {
                    c.to_ascii_lowercase()
                }
            };
            fold(x) == fold(y)
        })
}

/// The longest value injected; longer ones are dropped.
pub const MAX_VALUE_LEN: usize = 4_096;

/// Nothing copied from an upstream response reaches a header unchecked: no control
/// characters (CR and LF above all), not empty, not over [`MAX_VALUE_LEN`].
pub fn is_safe_header_value(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_VALUE_LEN && !value.chars().any(char::is_control)
}
