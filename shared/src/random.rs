//! Randomness from the operating system, the only source tokengate uses for secrets,
//! salts and tokens.

/// Fills an array with bytes from the OS's CSPRNG.
///
/// # Panics
/// When the OS cannot provide randomness, which leaves nothing safe to do.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system's random number generator failed");
    out
}
